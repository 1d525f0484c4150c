"""Absolute links for emails and documents, built outside any request.

Links leave the site, so they use the configured PUBLIC_BASE_URL (never a
request's Host header), falling back to the local address in development.
URLs come from the application's own URL map, so a renamed route cannot
leave a stale link behind.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import current_app

from app.services.bookings.manage_links import manage_token


def base_url(config: Mapping) -> str:
    return (config.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{config.get('PORT', 5000)}") \
        .rstrip("/")


def external_url(endpoint: str, **values) -> str:
    parts = urlsplit(base_url(current_app.config))
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def manage_link(reference: str) -> str:
    """The signed manage-booking page, as in every customer email."""
    token = manage_token(reference, secret_key=current_app.config["SECRET_KEY"])
    return external_url("booking.manage", reference=reference, token=token)


def pay_link(reference: str) -> str:
    token = manage_token(reference, secret_key=current_app.config["SECRET_KEY"])
    return external_url("booking.pay", reference=reference, token=token)


def session_link(session_id: int) -> str:
    return external_url("public.session", session_id=session_id)


def courses_link() -> str:
    return external_url("public.courses")


def verify_link(certificate_number: str) -> str:
    return external_url("verify.certificate", number=certificate_number)
