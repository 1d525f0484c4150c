"""A booking's manage link sent again: by staff, who revoke every earlier link
(`reissue_manage_link`), and by the customer on "find my booking"
(`request_manage_link`), who gets the booking's current link by email.

The customer's request revokes nothing: anyone who knows a booking's reference
and email address could otherwise break, again and again, the link a booker
shared with colleagues, and the link only ever goes to the booking's own email
address anyway. A customer who thinks the link leaked asks the office, which
reissues it. The link itself is app.services.core.tokens; when links expire is
Booking.manage_link_expires_at.
"""
from __future__ import annotations

import hashlib
import re

from app.models import Booking
from app.repositories import BookingRepository, unit_of_work
from app.services.bookings.holds import REFERENCE_ALPHABET, REFERENCE_LENGTH, get_booking
from app.services.core import events
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput
from app.validation import FieldError
from app.validation.fields import validate_email

_REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")


def reissue_manage_link(reference: str, *, actor_id: int | None = None) -> Booking:
    """Revoke every manage link of booking `reference` and email the contact a new one
    (through the outbox, in the same transaction). `actor_id` is the staff member who
    asked. Raises NotFound for an unknown reference."""
    with unit_of_work():
        booking = get_booking(reference)
        before = booking.manage_link_version
        version = BookingRepository().bump_manage_link_version(booking)
        event = events.record_event(events.MANAGE_LINK_REISSUED, booking.reference,
                                    {"reference": booking.reference, "version": version,
                                     "requested_by": actor_id})
        record_audit(actor_id, "booking.reissue_link", "booking", booking.reference,
                     before={"manage_link_version": before},
                     after={"manage_link_version": version, "to": booking.contact_email,
                            "event_id": event.id})
    return booking


def email_digest(email: str) -> str:
    """How an address asked with is kept in the event: hashed, compared case-blind."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def normalise_reference(raw: object) -> str | None:
    """A booking reference as typed (any case, spaces, dashes) or None if it cannot be one."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    reference = re.sub(r"[\s\-]+", "", raw).upper()
    return reference if _REFERENCE.fullmatch(reference) else None


def parse_find_request(email: object, reference: object) -> tuple[str, str]:
    """The email and reference of a "find my booking" request, or InvalidInput with a
    message per malformed field (only the format is checked: no booking is read)."""
    errors: dict[str, str] = {}
    address = None
    try:
        address = validate_email(email)
    except FieldError as exc:
        errors["email"] = exc.message
    cleaned = normalise_reference(reference)
    if cleaned is None:
        errors["reference"] = (
            "Enter your booking reference." if not (isinstance(reference, str) and reference.strip())
            else f"Enter the booking reference as it appears in your emails: "
                 f"{REFERENCE_LENGTH} letters and numbers, like K7M2QXH4PD.")
    if errors:
        raise InvalidInput("Check the details you entered.", fields=errors)
    return address, cleaned


def request_manage_link(email: object, reference: object) -> None:
    """Ask for booking `reference`'s manage link to be emailed to its booker, if
    `email` is the booking's address. Raises InvalidInput for a malformed email or
    reference; otherwise does exactly the same work whether or not they match (one
    event written, no booking read), so neither the answer nor its timing tells
    which references and addresses go together. The outbox handler
    (app.services.messaging.notifications) checks and sends."""
    address, cleaned = parse_find_request(email, reference)
    with unit_of_work():
        events.record_event(events.MANAGE_LINK_REQUESTED, cleaned,
                            {"reference": cleaned, "email_digest": email_digest(address)})


def requested_booking(payload: dict) -> Booking | None:
    """The booking a MANAGE_LINK_REQUESTED event asked for, if its email matched."""
    booking = BookingRepository().get_by_reference(str(payload.get("reference") or ""))
    if booking is None or email_digest(booking.contact_email) != payload.get("email_digest"):
        return None
    return booking
