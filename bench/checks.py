"""What every benchmark scenario ends with: the database still tells the truth.

No session has more seats taken (confirmed, or held and not yet expired) than
its capacity; every booking with a card payment that succeeded is confirmed
(or was cancelled after it), has one succeeded payment, and was announced as
confirmed (the BookingConfirmed outbox event) exactly once.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingStatus, CourseSession, utcnow
from app.models.outbox import OutboxEvent
from app.models.payment import Payment, PaymentStatus
from app.services.core.events import BOOKING_CONFIRMED


def check_database(app) -> dict:
    """Counts of every broken rule (all zero when sound) and of bookings by status."""
    with app.app_context():
        now = utcnow()
        taken = func.sum(Booking.seats)
        over_capacity = db.session.execute(
            select(CourseSession.id)
            .join(Booking, Booking.session_id == CourseSession.id)
            .where(Booking.occupies_seats(now))
            .group_by(CourseSession.id, CourseSession.capacity)
            .having(taken > CourseSession.capacity)).scalars().all()
        succeeded = (select(Payment.booking_id, func.count().label("n"))
                     .where(Payment.status == PaymentStatus.SUCCEEDED)
                     .group_by(Payment.booking_id).subquery())
        paid_twice = db.session.scalar(
            select(func.count()).select_from(succeeded).where(succeeded.c.n > 1))
        paid_not_confirmed = db.session.scalar(
            select(func.count()).select_from(Booking)
            .join(succeeded, succeeded.c.booking_id == Booking.id)
            .where(Booking.status.not_in([BookingStatus.CONFIRMED, BookingStatus.CANCELLED,
                                          BookingStatus.REFUNDED])))
        announced = (select(OutboxEvent.aggregate_id, func.count().label("n"))
                     .where(OutboxEvent.event_type == BOOKING_CONFIRMED)
                     .group_by(OutboxEvent.aggregate_id).subquery())
        confirmed_twice = db.session.scalar(
            select(func.count()).select_from(announced).where(announced.c.n > 1))
        by_status = {status.value: count for status, count in db.session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)).all()}
        db.session.rollback()
    return {
        "sessions_over_capacity": len(over_capacity),
        "paid_twice": paid_twice or 0,
        "paid_not_confirmed": paid_not_confirmed or 0,
        "confirmed_announced_twice": confirmed_twice or 0,
        "ok": not over_capacity and not paid_twice and not paid_not_confirmed
              and not confirmed_twice,
        "bookings_by_status": by_status,
    }
