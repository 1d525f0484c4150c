"""The password reset email for staff accounts (an outbox handler).

The token is made here, when the email is sent, and goes only into the email:
the PasswordResetRequested event holds the account id and the time of the
request, never a token, so the database never holds a working reset link.
A request older than the link lifetime (an outbox that was stuck) is dropped
rather than answered with a surprise email hours later.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from app.models import OutboxEvent, utcnow
from app.repositories import UserRepository
from app.services.core import events
from app.services.core import links
from app.services.staff.auth import PASSWORD_RESET_REQUESTED, make_reset_token
from app.services.messaging.emails import OutgoingEmail, send_once

log = logging.getLogger(__name__)


def reset_link(token: str) -> str:
    return links.external_url("auth.reset_password", token=token)


@events.handles(PASSWORD_RESET_REQUESTED, name="email.password_reset")
def send_password_reset(event: OutboxEvent) -> None:
    user = UserRepository().get(int(event.payload.get("user_id") or event.aggregate_id))
    if user is None or not user.is_active:
        log.info("password reset event %s: no active account; no email sent", event.id)
        return
    max_age = int(current_app.config["PASSWORD_RESET_MAX_AGE"])
    requested_at = _parse_time(event.payload.get("requested_at")) or event.created_at
    if utcnow() - requested_at > timedelta(seconds=max_age):
        log.warning("password reset event %s is older than the link lifetime; not sent",
                    event.id)
        return
    token = make_reset_token(user, secret_key=current_app.config["SECRET_KEY"])
    send_once(f"password-reset:{event.id}", OutgoingEmail(
        to=(user.email,),
        subject="Reset your React Fast Training staff password",
        template="password_reset",
        context={"user": user, "reset_url": reset_link(token),
                 "valid_minutes": max(1, max_age // 60)},
    ))


def _parse_time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else None
