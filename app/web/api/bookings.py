"""Booking API: create a hold (with optional Idempotency-Key), read it, cancel it.

Errors follow the contract: 409 `sold_out` / `insufficient_seats`, 422 with
per-field messages, 403 `invalid_token` for a wrong manage token. The body is
read by app.web.api.body (415 unless JSON, 422 if unreadable, 413 if too large).
"""
from __future__ import annotations

from flask import current_app, jsonify, request

from app.models import Booking, utcnow
from app.services.bookings import idempotency
from app.services.bookings.holds import BookingPolicy, hold_seats
from app.services.bookings.manage import Actor, cancel_booking
from app.services.core.errors import InvalidInput
from app.services.core.ukformat import london
from app.services.payments.invoices import InvoiceSettings
from app.services.payments.offline import book_on_invoice
from app.validation import FieldError, ValidationFailed, parse_booking_request
from app.validation.invoice import parse_billing, validate_payment_method
from app.web.api import bp
from app.web.api.body import json_object
from app.web.links import site_links
from app.web.ratelimits import client_ip
from app.web.signed_links import booking_from_link


def _iso(value):
    return value.isoformat() if value is not None else None


def payment_to_json(booking: Booking) -> dict:
    """How the booking is paid and where that stands (UK date for due and overdue)."""
    invoice = booking.invoice
    return {
        "method": booking.payment_method,
        "status": booking.payment_status(london(utcnow()).date()),
        "invoice_number": invoice.number if invoice is not None else None,
        "due_date": invoice.due_on.isoformat() if invoice is not None else None,
    }


def booking_to_json(booking: Booking) -> dict:
    """The booking as the API shows it to the holder of its manage token."""
    course_session = booking.session
    links = site_links()
    return {
        "reference": booking.reference,
        "status": booking.status.value,
        "seats": booking.seats,
        "amount_pence": booking.amount_pence,
        "discount_pence": booking.discount_pence,
        "refund_due_pence": booking.refund_due_pence,
        "hold_expires_at": _iso(booking.hold_expires_at),
        "session": {
            "id": course_session.id,
            "course": {"slug": course_session.course.slug, "title": course_session.course.title},
            "starts_at": _iso(course_session.starts_at),
            "ends_at": _iso(course_session.ends_at),
            "venue": {"name": course_session.venue.name, "town": course_session.venue.town,
                      "postcode": course_session.venue.postcode},
            "url": links.course_session_link(course_session),
        },
        "contact": {"name": booking.contact_name, "email": booking.contact_email,
                    "phone": booking.contact_phone, "postcode": booking.contact_postcode,
                    "company": booking.company},
        "attendees": [{"name": a.full_name, "email": a.email} for a in booking.attendees],
        "manage_url": links.manage_link(booking.reference),
        "payment_url": links.pay_link(booking.reference),
        "payment": payment_to_json(booking),
    }


def hold_to_json(booking: Booking) -> dict:
    """The 201 answer to a new hold, exactly as the contract lists it."""
    return {
        "reference": booking.reference,
        "status": booking.status.value,
        "seats": booking.seats,
        "amount_pence": booking.amount_pence,
        "discount_pence": booking.discount_pence,
        "hold_expires_at": _iso(booking.hold_expires_at),
        "manage_url": site_links().manage_link(booking.reference, booking.manage_link_version),
        "payment_url": site_links().pay_link(booking.reference, booking.manage_link_version),
        "payment": payment_to_json(booking),
    }


@bp.post("/bookings")
def create_booking():
    body = json_object()
    policy = BookingPolicy.from_config(current_app.config)
    errors: dict[str, str] = {}
    booking_request = billing = None
    try:
        booking_request = parse_booking_request(body, max_seats=policy.max_seats,
                                                require_terms=True)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        method = validate_payment_method(body.get("payment_method"))
    except FieldError as exc:
        errors["payment_method"] = exc.message
        method = None
    if method == "invoice":
        try:
            billing = parse_billing(body.get("billing"), body.get("purchase_order"))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(fields=errors)

    def work():
        if billing is not None:
            return 201, hold_to_json(book_on_invoice(
                booking_request, billing, policy=policy,
                settings=InvoiceSettings.from_config(current_app.config),
                actor=Actor.customer(), client_address=client_ip()))
        return 201, hold_to_json(hold_seats(booking_request, policy=policy,
                                            client_address=client_ip()))

    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, answer = work()
        replayed = False
    else:
        stored = idempotency.run_once(key, idempotency.fingerprint(body), work)
        status, answer, replayed = stored.status, stored.body, stored.replayed
    response = jsonify(answer)
    response.status_code = status
    response.headers["Location"] = answer["manage_url"]
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/bookings/<reference>")
def show_booking(reference: str):
    return jsonify(booking_to_json(booking_from_link(reference)))


@bp.post("/bookings/<reference>/cancel")
def cancel(reference: str):
    booking = booking_from_link(reference)
    policy = BookingPolicy.from_config(current_app.config)
    return jsonify(booking_to_json(cancel_booking(booking.reference, actor=Actor.customer(),
                                                  policy=policy)))
