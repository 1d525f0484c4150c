"""Helpers shared by the admin portal's tests (tests/integration/test_admin_*.py).

Staff users and signed-in clients (`admin_user`, `trainer_user`,
`admin_client`, `trainer_client`) are the shared fixtures of tests/conftest.py.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingStatus, Payment, PaymentStatus, utcnow
from app.services.bookings import holds as booking_service

from factories import booking_request

POLICY = booking_service.BookingPolicy(hold_minutes=30, max_seats=12)


# -- bookings ------------------------------------------------------------------------------------
def paid_booking(session_id: int, seats: int = 1, *, email: str = "priya@example.com",
                 now=None) -> Booking:
    """A booking held, paid by card (the fake provider) and confirmed, as the
    payment flow leaves it."""
    booking = booking_service.hold_seats(booking_request(session_id, seats, email=email),
                                         policy=POLICY, now=now)
    db.session.add(Payment(booking_id=booking.id, provider="fake", amount_pence=booking.amount_pence,
                           currency="gbp", status=PaymentStatus.SUCCEEDED,
                           provider_checkout_id=f"cs_fake_{booking.reference}",
                           provider_payment_id=f"pi_fake_{booking.reference}", paid_at=utcnow()))
    db.session.commit()
    return booking_service.confirm_booking(booking.reference, now=now)


def held_booking(session_id: int, seats: int = 1, *, email: str = "held@example.com") -> Booking:
    return booking_service.hold_seats(booking_request(session_id, seats, email=email),
                                      policy=POLICY)


def seats_taken(session_id: int) -> int:
    now = utcnow()
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Booking.seats), 0)).where(
            Booking.session_id == session_id,
            (Booking.status == BookingStatus.CONFIRMED)
            | ((Booking.status == BookingStatus.HELD) & (Booking.hold_expires_at > now)))))




def days_ahead(days: int) -> str:
    """A London date `days` from now, as a date input sends it."""
    from zoneinfo import ZoneInfo

    return (utcnow() + timedelta(days=days)).astimezone(ZoneInfo("Europe/London")).date().isoformat()


def assert_admin_only(admin_client, trainer_client, anonymous_client, url: str):
    """An admin page: 200 for an admin, 403 for a trainer, sign in for anyone else.
    Returns the admin's response."""
    response = admin_client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    assert trainer_client.get(url).status_code == 403
    anonymous = anonymous_client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
    return response
