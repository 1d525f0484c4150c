"""Paying another way: invoice or bank transfer, recorded by staff, and bookings
paid by invoice (`book_on_invoice`, the customer's choice or staff's).

`mark_paid_offline` confirms a held booking paid that way (card payments down,
or the customer asked); `create_manual_booking` takes a booking by phone or
email in one transaction. A bank transfer is money received: a succeeded
Payment row. An invoice is money owed: the booking's invoice is issued
(`issue_invoice`, the customer's path too), billed to the booking's contact, and
the booking is confirmed with payment due; its payment is recorded when the
invoice is marked paid. Both confirm with the customer's rules
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
from app.services.payments import invoices as invoicing
from app.services.payments.invoices import InvoiceSettings, check_invoice_allowed, issue_invoice
from app.validation import BookingRequest, ValidationFailed, parse_booking_request
from app.validation.invoice import BillingInput
from app.validation.admin import validate_choice, validate_notes

OFFLINE_METHODS = {"invoice": "Paid by invoice", "bank_transfer": "Paid by bank transfer"}

METHOD_RULE = partial(validate_choice, choices=OFFLINE_METHODS, field_label="payment method")
NOTE_RULE = partial(validate_notes, field_label="payment note", max_length=500)


def contact_billing(booking: Booking) -> BillingInput:
    """Staff invoice the booking's contact: their company (else their name), name,
    email and postcode (the booking keeps no fuller address)."""
    return BillingInput(company=booking.company or booking.contact_name,
                        name=booking.contact_name, email=booking.contact_email,
                        address=booking.contact_postcode or "")


def _confirm_paid(booking: Booking, method: str, note: str, now: datetime,
                  settings: InvoiceSettings | None = None) -> Booking:
    """Confirm, in the caller's transaction, which holds the booking's session lock
    (late holds too, if the seats are free; SeatsUnavailable if not): a bank
    transfer with its succeeded payment, an invoice with its invoice issued and
    payment due."""
    if booking.status == BookingStatus.CONFIRMED:
        raise InvalidState("This booking is already confirmed.")
    if method == "invoice":
        invoice = issue_invoice(booking, contact_billing(booking),
                                settings=settings or invoicing.current(), now=now)
        text = f"Invoice {invoice.number}: payment due" + (f"; {note}" if note else "")
        return confirm_booking(booking.reference, now=now, payment_note=text)
    payments = PaymentRepository()
    payments.add(Payment(
        booking_id=booking.id, provider=method, amount_pence=booking.amount_pence,
        currency=CURRENCY, status=PaymentStatus.SUCCEEDED, paid_at=now))
    metrics.count_payment(payments.session, method, "succeeded")
    text = OFFLINE_METHODS[method] + (f": {note}" if note else "")
    return confirm_booking(booking.reference, now=now, payment_note=text)


def mark_paid_offline(reference: str, method: object, note: object = None, *, actor: Actor,
                      now: datetime | None = None,
                      settings: InvoiceSettings | None = None) -> Booking:
    """Confirm a held booking paid by bank transfer, or to be paid by invoice (issued
    to its contact, payment due; `settings` default to the installed ones). A staff
    change is audited as ``booking.mark_paid``."""
    method = checked(METHOD_RULE, method, "method")
    note = checked(NOTE_RULE, note, "note")
    now = now or utcnow()
    with unit_of_work():
        booking = lock_booking(reference)
        before = snapshot(booking, AUDITED_FIELDS)
        booking = _confirm_paid(booking, method, note, now, settings)
        if actor.is_staff:
            after = snapshot(booking, AUDITED_FIELDS)
            if booking.invoice is not None:
                after["invoice"] = booking.invoice.number
            record_audit(actor.user_id, "booking.mark_paid", "booking", booking.reference,
                         before=before, after=after)
    return booking


# -- bookings paid by invoice -----------------------------------------------------------------
def book_on_invoice(request: BookingRequest, billing: BillingInput, *, policy: BookingPolicy,
                    settings: InvoiceSettings, actor: Actor, client_address: str | None = None,
                    private_token: str | None = None,
                    now: datetime | None = None) -> Booking:
    """A company books and is invoiced: the seats are held, the invoice issued and the
    booking confirmed with payment due, all in one transaction (a failure anywhere
    leaves no booking and gives the invoice number back). Allowed while the
    INVOICE_PAYMENTS_ENABLED switch is on and for MIN_SEATS_FOR_INVOICE seats or more
    (InvalidInput on ``payment_method`` otherwise). The customer's hold limits apply
    as to any hold (`client_address`; `private_token` opens a private session); a
    staff booking is audited as ``booking.create_invoiced``."""
    check_invoice_allowed(len(request.attendees), settings)
    now = now or utcnow()
    with unit_of_work():
        held = hold_seats(request, policy=policy, client_address=client_address, now=now,
                          private_token=private_token)
        invoice = issue_invoice(held, billing, settings=settings, now=now)
        booking = confirm_booking(held.reference, now=now,
                                  payment_note=f"Invoice {invoice.number}: payment due")
        if actor.is_staff:
            after = snapshot(booking, AUDITED_FIELDS)
            after["invoice"] = invoice.number
            record_audit(actor.user_id, "booking.create_invoiced", "booking", booking.reference,
                         after=after)
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
                          now: datetime | None = None,
                          settings: InvoiceSettings | None = None) -> Booking:
    """A booking taken by phone or email, paid by bank transfer or invoiced: the
    seats are held and confirmed in one transaction, with the payment or the
    invoice (see _confirm_paid). `data` is the admin form's values (see manual_booking_data); the
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
        held = hold_seats(request, policy=policy, now=now, staff=actor.is_staff)
        booking = _confirm_paid(held, method, note, now, settings)
        if actor.is_staff:
            after = snapshot(booking, AUDITED_FIELDS)
            after["method"] = method
            if booking.invoice is not None:
                after["invoice"] = booking.invoice.number
            record_audit(actor.user_id, "booking.create_manual", "booking", booking.reference,
                         after=after)
    return booking
