"""Sending an email once: rendering (HTML + plain text from Jinja templates),
attachments, and the SentEmail row that turns a repeat into a no-op.

How "the same event delivered twice sends one email" holds
----------------------------------------------------------
Every email has a dedupe key naming what it is about (``booking-confirmed:REF``).
Before sending, a SentEmail row with that unique key is committed as
``sending``; after the transport accepts the message it becomes ``sent``.
A second call with the key finds ``sent`` and does nothing. A crash between
the two commits leaves ``sending``, and the retry sends again: at least once,
never silently lost. That window is as small as one SMTP call, and the
Message-ID is derived from the key, so even that rare repeat carries the
same Message-ID and mail systems may fold it into the first.

The per-recipient cap
---------------------
Anyone can type someone else's address into a booking form. Emails such a
visitor can cause without paying (hold expired, payment failed, payment link,
a waiting-list offer, a password reset, a reissued link) are capped at
EMAILS_PER_RECIPIENT_PER_HOUR per address, counted in sent_emails so every
process agrees; one over the cap is recorded ``suppressed`` (final: never sent,
never retried). Emails about a confirmed booking, which only a payment or
staff can cause, pass ``essential=True`` and are never capped: the customer
who paid always gets the confirmation, changes, refunds and certificates.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from flask_mailman import EmailMultiAlternatives
from sqlalchemy.exc import IntegrityError

from app.extensions import mail
from app.models import SentEmail, utcnow
from app.repositories import unit_of_work
from app.repositories.notifications import SentEmailRepository
from app.services.core import brand
from app.services.core.ukformat import pounds, uk_date, uk_short_date, uk_time
from app.services.messaging import settings as messaging_settings
from app.services.messaging.settings import MessagingSettings

log = logging.getLogger(__name__)

SENDING, SENT, FAILED, SUPPRESSED = "sending", "sent", "failed", "suppressed"
# Recorded as dealt with but never sent: the demo's history (app.demo_data) is
# written with its reminders already behind it, as a real past would have them.
SKIPPED = "skipped"
# A row in one of these states is never sent again.
FINAL = (SENT, SUPPRESSED, SKIPPED)
CAP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class OutgoingEmail:
    """An email to render: templates/email/<template>.txt and .html."""

    to: tuple[str, ...]
    subject: str
    template: str
    context: Mapping = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    reply_to: tuple[str, ...] = ()


def render(template: str, settings: MessagingSettings, **context) -> tuple[str, str]:
    """(plain text, HTML) of an email template, with the provider's branding."""
    context.setdefault("provider", settings.provider)
    context.setdefault("brand", brand)
    context.update(long_date=uk_date, short_date=uk_short_date, time=uk_time, money=pounds)
    text = settings.renderer.render(f"email/{template}.txt", context)
    html = settings.renderer.render(f"email/{template}.html", context)
    return text, html


def message_id(dedupe_key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(email: OutgoingEmail, *, dedupe_key: str,
                  settings: MessagingSettings) -> EmailMultiAlternatives:
    subject = " ".join(email.subject.split())  # no line breaks: they would forge headers
    text, html = render(email.template, settings, subject=subject, **email.context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.sender,
        to=list(email.to),
        reply_to=list(email.reply_to) or None,
        headers={"Message-ID": message_id(dedupe_key, settings.sender)},
        connection=mail.get_connection(),
    )
    message.attach_alternative(html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


def already_sent(dedupe_key: str) -> bool:
    """Sent, suppressed by the cap or skipped: either way, never again."""
    row = SentEmailRepository().get_by_key(dedupe_key)
    return row is not None and row.status in FINAL


def over_cap(to: Sequence[str], settings: MessagingSettings) -> bool:
    """Whether any recipient has had the capped number of emails in the last hour."""
    cap = settings.emails_per_recipient_per_hour
    if not cap:
        return False
    since = utcnow() - CAP_WINDOW
    repo = SentEmailRepository()
    return any(repo.count_to(address, since, excluding_status=SUPPRESSED) >= cap
               for address in to)


def send_once(dedupe_key: str, email: OutgoingEmail | None = None, *,
              build: Callable[[], OutgoingEmail | None] | None = None,
              booking_id: int | None = None, settings: MessagingSettings | None = None,
              essential: bool = False) -> bool:
    """Send `email` (or the one `build()` returns, built only if still needed)
    unless an email with `dedupe_key` was already sent. True if it was sent now.
    `settings` defaults to the installed messaging settings. Unless `essential`,
    a recipient over the hourly cap gets nothing and the row is ``suppressed``.

    A transport failure marks the row failed and re-raises, so the caller (an
    outbox delivery or a job) retries later.
    """
    if already_sent(dedupe_key):
        return False
    email = email or build()
    if email is None or not email.to:
        return False
    settings = settings or messaging_settings.current()
    message = build_message(email, dedupe_key=dedupe_key, settings=settings)
    repo = SentEmailRepository()
    with unit_of_work() as session:
        row = repo.get_by_key(dedupe_key)
        if row is None:
            status = SUPPRESSED if not essential and over_cap(email.to, settings) else SENDING
            try:
                with session.begin_nested():
                    row = repo.add(SentEmail(
                        dedupe_key=dedupe_key, booking_id=booking_id,
                        to_address=", ".join(email.to)[:254], subject=email.subject[:200],
                        template=email.template, status=status))
            except IntegrityError:  # a concurrent sender just wrote it
                row = repo.get_by_key(dedupe_key)
        if row.status in FINAL:
            if row.status == SUPPRESSED:
                log.warning("%s email %s not sent: its recipient is over the hourly cap",
                            email.template, dedupe_key)
            return False
        row.status, row.error = SENDING, None
        row_id = row.id
    try:
        message.send()
    except Exception as exc:
        with unit_of_work():
            failed = repo.get(row_id)
            failed.status, failed.error = FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        raise
    with unit_of_work():
        sent = repo.get(row_id)
        sent.status, sent.sent_at = SENT, utcnow()
    log.info("sent %s email %s to %s", email.template, dedupe_key, ", ".join(email.to))
    return True


def recipients(addresses: Sequence[str | None]) -> tuple[str, ...]:
    """Unique, non-empty addresses in their first order."""
    seen: dict[str, None] = {}
    for address in addresses:
        if address and address.strip():
            seen.setdefault(address.strip(), None)
    return tuple(seen)
