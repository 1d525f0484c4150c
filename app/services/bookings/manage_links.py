"""Reissuing a booking's manage link: the customer gets a new link by email and
every earlier link stops working (they may have forwarded or lost the old one).

Staff do it from the booking's page; the customer-facing "find my booking"
calls the same function without an actor. The link itself is
app.services.core.tokens; when links expire is Booking.manage_link_expires_at.
"""
from __future__ import annotations

from app.models import Booking
from app.repositories import BookingRepository, unit_of_work
from app.services.bookings.holds import get_booking
from app.services.core import events
from app.services.core.audit import record_audit


def reissue_manage_link(reference: str, *, actor_id: int | None = None) -> Booking:
    """Revoke every manage link of booking `reference` and email the contact a new one
    (through the outbox, in the same transaction). `actor_id` is the staff member who
    asked, or None when the customer did. Raises NotFound for an unknown reference."""
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
