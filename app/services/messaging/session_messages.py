"""Email everyone booked on a session (a venue change, parking, a reminder to bring ID).

An administrator writes a subject and plain text; the system adds the session's
details (course, date and times in UK time, venue and address) and each
booking's own manage link. The preview is the email the first recipient will
get, rendered by the same templates and function as the real one.

Who receives it: every *confirmed* booking on the session, one email per
booking to its contact. Held (unpaid) bookings are left out: a hold lasts
minutes, is not yet a place on the course, and if it is paid later the
confirmation email carries the session's details as they are then.

How each booker is emailed exactly once
---------------------------------------
* Sending records one `SessionMessage` (unique `send_key`, made when the
  preview was shown), a recipient row per booking and one SessionMessageSent
  event per booking, in one transaction with the audit entry: all or nothing.
  The same preview sent twice (a double click, a resubmitted form) finds the
  message by its key and records nothing more.
* Each event is one outbox delivery, so recipients are independent: a worker
  killed half-way through leaves the rest pending, and the next worker carries
  on. A delivery that already emailed its recipient before the worker died is
  run again, and `send_once` finds the SentEmail row for
  ``session-message:<message id>:<reference>`` marked sent and sends nothing.
  The only window left is the one `emails.send_once` describes (killed while
  the mail server is accepting that one message): then that one recipient may
  get it twice, with the same Message-ID, rather than not at all.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from functools import partial

from sqlalchemy.exc import IntegrityError

from app.models import (
    Booking, BookingStatus, CourseSession, OutboxEvent, SessionMessage, SessionMessageRecipient,
    utcnow,
)
from app.repositories import SessionRepository, unit_of_work
from app.repositories.recipients import RecipientRepository
from app.repositories.session_messages import SessionMessageRepository
from app.services.core import events
from app.services.core import links as site_links
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput, InvalidState, NotFound
from app.services.core.inputs import parse
from app.services.core.links import Links
from app.services.messaging import settings as messaging_settings
from app.services.messaging.emails import OutgoingEmail, recipients, render, send_once
from app.services.messaging.settings import MessagingSettings
from app.validation import FieldError
from app.validation.text import clean_text

log = logging.getLogger(__name__)

handlers = events.HandlerSet()

SUBJECT_MAX_LENGTH = 150
TEXT_MAX_LENGTH = 5000
TEMPLATE = "session_message"
AUDIT_ACTION = "session.message"
_SEND_KEY = re.compile(r"[0-9a-f]{32}")


def _send_key_rule(value: object) -> str:
    if not isinstance(value, str) or not _SEND_KEY.fullmatch(value):
        raise FieldError("This message has no valid preview. Preview it again, then send.")
    return value


RULES = {
    "subject": partial(clean_text, field_label="the subject", max_length=SUBJECT_MAX_LENGTH),
    "text": partial(clean_text, field_label="the message", max_length=TEXT_MAX_LENGTH,
                    multiline=True),
}
SEND_RULES = {**RULES, "send_key": _send_key_rule}


# -- who and what -------------------------------------------------------------------------
def confirmed_bookings(session_id: int) -> list[Booking]:
    """The bookings a message goes to (see the module docstring for why only these)."""
    return RecipientRepository().bookings_on_session(session_id, (BookingStatus.CONFIRMED,))


def dedupe_key(message_id: int, reference: str) -> str:
    """What makes one recipient's email unique (app.services.messaging.emails)."""
    return f"session-message:{message_id}:{reference}"


def build_email(booking: Booking, subject: str, text: str, *, links: Links,
                to: str | None = None) -> OutgoingEmail:
    """The email one booking's contact receives: the admin's text (plain, escaped in
    the HTML part), the session's details and the booking's manage link."""
    course_session = booking.session
    return OutgoingEmail(
        to=recipients([to or booking.contact_email]), subject=subject, template=TEMPLATE,
        context={"booking": booking, "course_session": course_session,
                 "course": course_session.course, "venue": course_session.venue,
                 "attendees": booking.attendees, "message_text": text,
                 "paragraphs": [p for p in text.split("\n\n") if p.strip()],
                 "manage_url": links.manage_link(booking.reference)})


def _session(session_id: int) -> CourseSession:
    course_session = SessionRepository().get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    return course_session


def _nobody() -> InvalidState:
    return InvalidState("Nobody has a confirmed booking on this session, so there is "
                        "nobody to email.")


# -- compose and preview ---------------------------------------------------------------------
@dataclass(frozen=True)
class Compose:
    course_session: CourseSession
    recipients: list[Booking]
    history: list[SessionMessage]


def compose(session_id: int) -> Compose:
    """What the compose page shows: who will get it, and what was sent before."""
    course_session = _session(session_id)
    return Compose(course_session, confirmed_bookings(session_id),
                   SessionMessageRepository().for_session(session_id))


@dataclass(frozen=True)
class Preview:
    course_session: CourseSession
    subject: str
    text: str                  # the admin's text, cleaned, as it will be sent
    recipients: list[Booking]
    sample: Booking            # whose email is shown
    to: tuple[str, ...]
    email_text: str            # exactly what `sample` receives: plain text part
    email_html: str            # and HTML part
    send_key: str              # sending with it twice sends once


def preview_message(session_id: int, data, *, links: Links | None = None,
                    settings: MessagingSettings | None = None) -> Preview:
    """Check the subject and text and render the first recipient's email.

    Raises InvalidInput (fields "subject", "text") or InvalidState when nobody
    has a confirmed booking."""
    values = parse(data, RULES)
    course_session = _session(session_id)
    bookings = confirmed_bookings(session_id)
    if not bookings:
        raise _nobody()
    links = links or site_links.current()
    settings = settings or messaging_settings.current()
    sample = bookings[0]
    email = build_email(sample, values["subject"], values["text"], links=links)
    text, html = render(email.template, settings, subject=email.subject, **email.context)
    return Preview(course_session=course_session, subject=values["subject"],
                   text=values["text"], recipients=bookings, sample=sample, to=email.to,
                   email_text=text, email_html=html, send_key=secrets.token_hex(16))


# -- sending ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    message: SessionMessage
    created: bool              # False: this preview had been sent already; nothing new


def send_message(actor_id: int | None, session_id: int, data) -> Sent:
    """Record the message and one outbox event per confirmed booking, once per send_key."""
    values = parse(data, SEND_RULES)
    repo = SessionMessageRepository()
    try:
        with unit_of_work():
            course_session = SessionRepository().lock_and_get(session_id)
            if course_session is None:
                raise NotFound("We could not find that session.")
            existing = repo.by_send_key(values["send_key"])
            if existing is not None:
                return _already(existing, session_id)
            bookings = confirmed_bookings(session_id)
            if not bookings:
                raise _nobody()
            message = repo.add(SessionMessage(
                session_id=session_id, subject=values["subject"], body=values["text"],
                send_key=values["send_key"], sent_by_id=actor_id,
                recipients=[SessionMessageRecipient(booking_id=b.id, email=b.contact_email)
                            for b in bookings]))
            for recipient, booking in zip(message.recipients, bookings):
                events.record_event(events.SESSION_MESSAGE_SENT, booking.reference, {
                    "message_id": message.id, "recipient_id": recipient.id,
                    "reference": booking.reference, "session_id": session_id,
                    "subject": message.subject})
            record_audit(actor_id, AUDIT_ACTION, "session", session_id, after={
                "subject": message.subject, "text": message.body,
                "sent_to": [b.reference for b in bookings]})
    except IntegrityError:  # the same key committed by a concurrent request
        existing = repo.by_send_key(values["send_key"])
        if existing is None:
            raise
        return _already(existing, session_id)
    return Sent(message, created=True)


def _already(message: SessionMessage, session_id: int) -> Sent:
    if message.session_id != session_id:
        raise InvalidInput("This preview belongs to another session. Preview it again.",
                           fields={"send_key": "This preview belongs to another session."})
    return Sent(message, created=False)


# -- delivery ---------------------------------------------------------------------------------
@handlers.on(events.SESSION_MESSAGE_SENT, name="email.session_message")
def email_session_message(event: OutboxEvent) -> None:
    """One recipient's email. Run again after a crash, it sends nothing more."""
    repo = SessionMessageRepository()
    recipient = repo.recipient(int(event.payload.get("recipient_id") or 0))
    if recipient is None:
        log.warning("session message event %s: no recipient %s; no email sent", event.id,
                    event.payload.get("recipient_id"))
        return
    booking, message = recipient.booking, recipient.message
    if booking.status != BookingStatus.CONFIRMED:
        log.info("session message %s for %s: the booking is now %s; no email sent",
                 message.id, booking.reference, booking.status.value)
        return
    send_once(dedupe_key(message.id, booking.reference),
              build_email(booking, message.subject, message.body, links=site_links.current(),
                          to=recipient.email),
              booking_id=booking.id)
    mark_sent(recipient.id)


def mark_sent(recipient_id: int) -> None:
    with unit_of_work():
        SessionMessageRepository().mark_sent(recipient_id, utcnow())
