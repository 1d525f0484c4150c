"""Booking API: create a hold (with optional Idempotency-Key), read it, cancel it.

Errors follow the contract: 409 `sold_out` / `insufficient_seats`, 422 with
per-field messages, 403 `invalid_token` for a wrong manage token. The body is
read by app.web.api.body (415 unless JSON, 422 if unreadable, 413 if too large).
"""
from __future__ import annotations

from flask import current_app, jsonify, request

from app.models import Booking
from app.services.bookings import idempotency
from app.services.bookings.holds import BookingPolicy, hold_seats
from app.services.bookings.manage import Actor, cancel_booking
from app.services.core.errors import InvalidInput
from app.validation import ValidationFailed, parse_booking_request
from app.web.api import bp
from app.web.api.body import json_object
from app.web.links import site_links
from app.web.ratelimits import client_ip
from app.web.signed_links import booking_from_link


def _iso(value):
    return value.isoformat() if value is not None else None


def booking_to_json(booking: Booking) -> dict:
    """The booking as the API shows it to the holder of its manage token."""
    course_session = booking.session
    links = site_links()
    return {
        "reference": booking.reference,
        "status": booking.status.value,
        "seats": booking.seats,
        "amount_pence": booking.amount_pence,
        "refund_due_pence": booking.refund_due_pence,
        "hold_expires_at": _iso(booking.hold_expires_at),
        "session": {
            "id": course_session.id,
            "course": {"slug": course_session.course.slug, "title": course_session.course.title},
            "starts_at": _iso(course_session.starts_at),
            "ends_at": _iso(course_session.ends_at),
            "venue": {"name": course_session.venue.name, "town": course_session.venue.town,
                      "postcode": course_session.venue.postcode},
            "url": links.session_link(course_session.id),
        },
        "contact": {"name": booking.contact_name, "email": booking.contact_email,
                    "phone": booking.contact_phone, "postcode": booking.contact_postcode,
                    "company": booking.company},
        "attendees": [{"name": a.full_name, "email": a.email} for a in booking.attendees],
        "manage_url": links.manage_link(booking.reference),
        "payment_url": links.pay_link(booking.reference),
    }


def hold_to_json(booking: Booking) -> dict:
    """The 201 answer to a new hold, exactly as the contract lists it."""
    return {
        "reference": booking.reference,
        "status": booking.status.value,
        "seats": booking.seats,
        "amount_pence": booking.amount_pence,
        "hold_expires_at": _iso(booking.hold_expires_at),
        "manage_url": site_links().manage_link(booking.reference),
        "payment_url": site_links().pay_link(booking.reference),
    }


@bp.post("/bookings")
def create_booking():
    body = json_object()
    policy = BookingPolicy.from_config(current_app.config)
    try:
        booking_request = parse_booking_request(body, max_seats=policy.max_seats)
    except ValidationFailed as exc:
        raise InvalidInput(fields=exc.errors) from exc

    def work():
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
