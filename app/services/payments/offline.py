"""Paying another way: invoice or bank transfer, recorded by staff.

`mark_paid_offline` confirms a held booking paid that way (card payments down,
or the customer asked); `create_manual_booking` takes a booking by phone or
email and records its payment in the same transaction. Both write a succeeded
Payment row for the method, confirm with the customer's rules
(app.services.bookings.holds) and, for staff, audit the change themselves.
The ``payments mark-paid`` command calls the same function as the system.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from app.models import Booking, BookingStatus, Payment, PaymentStatus, utcnow
from app.monitoring import metrics
from app.repositories import unit_of_work
from app.repositories.payments import PaymentRepository
from app.services.bookings.holds import BookingPolicy, confirm_booking, hold_seats, lock_booking
from app.services.bookings.manage import AUDITED_FIELDS, Actor
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidInput, InvalidState
from app.services.core.inputs import checked, parse
from app.services.payments.checkout import CURRENCY
from app.validation import ValidationFailed, parse_booking_request
from app.validation.admin import validate_choice, validate_notes

OFFLINE_METHODS = {"invoice": "Paid by invoice", "bank_transfer": "Paid by bank transfer"}

METHOD_RULE = partial(validate_choice, choices=OFFLINE_METHODS, field_label="payment method")
NOTE_RULE = partial(validate_notes, field_label="payment note", max_length=500)


def _confirm_paid(booking: Booking, method: str, note: str, now: datetime) -> Booking:
    """Record the payment and confirm, in the caller's transaction, which holds the
    booking's session lock (late holds too, if the seats are free; SeatsUnavailable
    if not)."""
    if booking.status == BookingStatus.CONFIRMED:
        raise InvalidState("This booking is already confirmed.")
    payments = PaymentRepository()
    payments.add(Payment(
        booking_id=booking.id, provider=method, amount_pence=booking.amount_pence,
        currency=CURRENCY, status=PaymentStatus.SUCCEEDED, paid_at=now))
    metrics.count_payment(payments.session, method, "succeeded")
    text = OFFLINE_METHODS[method] + (f": {note}" if note else "")
    return confirm_booking(booking.reference, now=now, payment_note=text)


def mark_paid_offline(reference: str, method: object, note: object = None, *, actor: Actor,
                      now: datetime | None = None) -> Booking:
    """Confirm a held booking paid by invoice or bank transfer. A staff change is
    audited as ``booking.mark_paid``."""
    method = checked(METHOD_RULE, method, "method")
    note = checked(NOTE_RULE, note, "note")
    now = now or utcnow()
    with unit_of_work():
        booking = lock_booking(reference)
        before = snapshot(booking, AUDITED_FIELDS)
        booking = _confirm_paid(booking, method, note, now)
        if actor.is_staff:
            record_audit(actor.user_id, "booking.mark_paid", "booking", booking.reference,
                         before=before, after=snapshot(booking, AUDITED_FIELDS))
    return booking


# -- bookings taken by phone ------------------------------------------------------------------
def manual_booking_data(data: Mapping) -> dict:
    """Form-shaped values (contact-name, attendees-0-name, ...) in the shape the
    booking validation layer reads. Attendee rows left blank are ignored."""
    attendees = []
    for index in range(100):
        name = data.get(f"attendees-{index}-name")
        if name is None:
            break
        email = data.get(f"attendees-{index}-email")
        if (name or "").strip() or (email or "").strip():
            attendees.append({"name": name, "email": email,
                              "access_needs": data.get(f"attendees-{index}-access_needs")})
    return {
        "session_id": data.get("session_id"),
        "contact": {key: data.get(f"contact-{key}")
                    for key in ("name", "email", "phone", "postcode", "company")},
        "attendees": attendees,
    }


def create_manual_booking(data: Mapping, *, actor: Actor, policy: BookingPolicy,
                          now: datetime | None = None) -> Booking:
    """A booking taken by phone or email and paid by invoice or bank transfer: the
    seats are held and confirmed in one transaction, with a Payment row for the
    method. `data` is the admin form's values (see manual_booking_data); the
    booking rules are the customer's. Every bad field is reported at once. A
    staff booking is audited as ``booking.create_manual``."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    request = None
    try:
        request = parse_booking_request(manual_booking_data(data), max_seats=policy.max_seats)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        paid = parse(data, {"method": METHOD_RULE, "note": NOTE_RULE})
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    method, note = paid["method"], paid["note"]
    with unit_of_work():
        booking = _confirm_paid(hold_seats(request, policy=policy, now=now), method, note, now)
        if actor.is_staff:
            after = snapshot(booking, AUDITED_FIELDS)
            after["method"] = method
            record_audit(actor.user_id, "booking.create_manual", "booking", booking.reference,
                         after=after)
    return booking
