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

from app.models import OutboxEvent, utcnow
from app.repositories import UserRepository
from app.services.core import events, links
from app.services.messaging import settings as messaging_settings
from app.services.messaging.emails import OutgoingEmail, send_once
from app.services.staff.auth import make_reset_token

log = logging.getLogger(__name__)

handlers = events.HandlerSet()


@handlers.on(events.PASSWORD_RESET_REQUESTED, name="email.password_reset")
def send_password_reset(event: OutboxEvent) -> None:
    user = UserRepository().get(int(event.payload.get("user_id") or event.aggregate_id))
    if user is None or not user.is_active:
        log.info("password reset event %s: no active account; no email sent", event.id)
        return
    settings = messaging_settings.current()
    max_age = settings.password_reset_max_age
    requested_at = _parse_time(event.payload.get("requested_at")) or event.created_at
    if utcnow() - requested_at > timedelta(seconds=max_age):
        log.warning("password reset event %s is older than the link lifetime; not sent",
                    event.id)
        return
    token = make_reset_token(user, secret_key=settings.secret_key)
    send_once(f"password-reset:{event.id}", OutgoingEmail(
        to=(user.email,),
        subject="Reset your React Fast Training staff password",
        template="password_reset",
        context={"user": user, "reset_url": links.current().password_reset_link(token),
                 "valid_minutes": max(1, max_age // 60)},
    ), settings=settings)


def _parse_time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else None
