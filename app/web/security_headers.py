"""Security headers on every response: pages, HTMX fragments, the API, errors and
static files alike.

The Content Security Policy lets scripts come only from our own static files:
no inline script, no event-handler attributes, no ``eval`` (htmx is told not to
evaluate anything with ``allowEval: false`` in base.html's htmx-config). Styles
come from our own style sheets too; one page (the admin's email preview, whose
sandboxed frame shows the email's own inline styles and inherits this policy)
opts into ``'unsafe-inline'`` for styles only, through `allow_inline_styles`.
WebSockets connect to the site's own origin, as ws:// or wss://.

Referrer-Policy: a page whose address is a secret (a signed manage link) already
says ``strict-origin`` (app.web.htmx.no_store); every other answer gets
``strict-origin-when-cross-origin``. HSTS is sent only in production, where the
site is served over HTTPS.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import SecurityError

HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                      "magnetometer=(), microphone=(), payment=(), usb=()")
DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"
STRIPE_CHECKOUT = "https://checkout.stripe.com"


def allow_inline_styles() -> None:
    """Let this response's page use inline styles (never inline scripts)."""
    g.csp_inline_styles = True


def _ws_origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def _origins(value) -> list[str]:
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def content_security_policy(*, connect: Iterable[str], form_action: Iterable[str],
                            inline_styles: bool = False) -> str:
    """The policy, as one header value."""
    style = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": style,
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": " ".join(["'self'", *connect]),
        "form-action": " ".join(["'self'", *form_action]),
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_app(app: Flask) -> None:
    """Add the headers to every response `app` sends."""
    config = app.config
    production = bool(config.get("IS_PRODUCTION"))
    ws_origins = [o for o in (_ws_origin(u) for u in [
        config.get("PUBLIC_BASE_URL") or "", *_origins(config.get("ALLOWED_ORIGINS"))]) if o]
    # Payment: the pay form's redirect to Stripe Checkout is a form action too.
    form_action = [STRIPE_CHECKOUT] if config.get("PAYMENT_PROVIDER") == "stripe" else []

    def add_security_headers(response: Response) -> Response:
        connect = list(dict.fromkeys(ws_origins))
        if not production:
            # Development and test servers listen on whatever port they were given.
            try:
                own = _ws_origin(request.host_url)
            except SecurityError:  # a Host outside TRUSTED_HOSTS: nothing of it is used
                own = None
            if own and own not in connect:
                connect.append(own)
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(
            connect=connect, form_action=form_action,
            inline_styles=bool(g.get("csp_inline_styles")))
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", DEFAULT_REFERRER_POLICY)
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if production:
            headers["Strict-Transport-Security"] = HSTS
        return response

    app.after_request(add_security_headers)
    app.register_error_handler(SecurityError, unknown_host)


UNKNOWN_HOST = "This site does not answer for that host name."


def unknown_host(_exc: SecurityError):
    """A Host not in TRUSTED_HOSTS: 400, answered without building any URL (nothing
    can be built on a host we refuse, so no page template)."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return jsonify({"error": {"code": "unknown_host", "message": UNKNOWN_HOST,
                                  "fields": {}}}), 400
    return Response(UNKNOWN_HOST + "\n", 400, mimetype="text/plain")
