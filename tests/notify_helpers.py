"""Helpers shared by the notification, document and worker tests."""
from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone
from email.message import Message

from app.extensions import db
from app.models import utcnow
from app.services.background import dispatcher
from app.services.bookings import holds as svc

from factories import SessionFactory, VenueFactory, booking_request

BASE_URL = "https://book.reactfasttraining.co.uk"
POLICY = dispatcher.DispatchPolicy(max_attempts=3, backoff_base_seconds=10,
                                   backoff_max_seconds=600, lease_seconds=60)


def summer_start() -> datetime:
    """09:30 London time (08:30 UTC, BST) on 14 July next year."""
    return datetime(utcnow().year + 1, 7, 14, 8, 30, tzinfo=timezone.utc)


def summer_session(**overrides):
    starts = overrides.pop("starts_at", summer_start())
    venue = VenueFactory(name="Leeds Training Centre", address_line1="1 Park Row",
                         town="Leeds", postcode="LS1 5HD",
                         accessibility_notes="Step-free access from Park Row.")
    return SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=7), venue=venue,
                          course__title="Emergency First Aid at Work", course__price_pence=12000,
                          **overrides)


def confirmed_booking(seats: int = 2, **session_overrides):
    course_session = summer_session(**session_overrides)
    held = svc.hold_seats(booking_request(course_session.id, seats), policy=svc.BookingPolicy())
    return svc.confirm_booking(held.reference)


def deliver_all(now: datetime | None = None) -> dispatcher.DispatchResult:
    result = dispatcher.dispatch_pending("test-worker", POLICY, now=now)
    db.session.expire_all()
    return result


def parse(message) -> Message:
    """A Flask-Mailman message as the recipient's mail client would parse it."""
    return email.message_from_bytes(message.message().as_bytes())


def parts(parsed: Message) -> dict[str, object]:
    """text, html and attachments (filename -> bytes) of a parsed email."""
    found: dict[str, object] = {"attachments": {}}
    for part in parsed.walk():
        filename = part.get_filename()
        if filename:
            found["attachments"][filename] = part.get_payload(decode=True)
        elif part.get_content_type() == "text/plain":
            found["text"] = part.get_payload(decode=True).decode(part.get_content_charset())
        elif part.get_content_type() == "text/html":
            found["html"] = part.get_payload(decode=True).decode(part.get_content_charset())
    return found
