"""Facts on the Booking model: each is one definition that a loaded row and a SQL
query answer alike (hybrid methods), at the same instant."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingStatus, SessionStatus, utcnow

from factories import BookingFactory, SessionFactory


def bookings_in_every_state(now):
    session = SessionFactory()
    rows = {
        "live hold": dict(status=BookingStatus.HELD, hold_expires_at=now + timedelta(minutes=5)),
        "hold expiring now": dict(status=BookingStatus.HELD, hold_expires_at=now),
        "lapsed hold": dict(status=BookingStatus.HELD, hold_expires_at=now - timedelta(minutes=1)),
        "hold without expiry": dict(status=BookingStatus.HELD, hold_expires_at=None),
        "confirmed": dict(status=BookingStatus.CONFIRMED, hold_expires_at=None),
        "cancelled": dict(status=BookingStatus.CANCELLED, hold_expires_at=None),
        "expired": dict(status=BookingStatus.EXPIRED, hold_expires_at=now - timedelta(hours=1)),
        "refunded": dict(status=BookingStatus.REFUNDED, hold_expires_at=None),
    }
    made = {name: BookingFactory(session=session, **values).id for name, values in rows.items()}
    db.session.commit()
    return made


def answers(fact, made, now):
    """(names for which the loaded rows say yes, names for which the query says yes)."""
    names = {booking_id: name for name, booking_id in made.items()}
    db.session.expire_all()
    in_python = {name for name, booking_id in made.items()
                 if getattr(db.session.get(Booking, booking_id), fact)(now)}
    in_sql = {names[i] for i in db.session.scalars(
        select(Booking.id).where(Booking.id.in_(made.values()), getattr(Booking, fact)(now)))}
    return in_python, in_sql


def test_hold_is_live_agrees_in_python_and_sql(app):
    now = utcnow()
    made = bookings_in_every_state(now)
    in_python, in_sql = answers("hold_is_live", made, now)
    assert in_python == in_sql == {"live hold"}


def test_occupies_seats_agrees_in_python_and_sql(app):
    now = utcnow()
    made = bookings_in_every_state(now)
    in_python, in_sql = answers("occupies_seats", made, now)
    assert in_python == in_sql == {"live hold", "confirmed"}


def test_hold_has_lapsed_is_exactly_a_held_booking_whose_hold_is_not_live(app):
    now = utcnow()
    made = bookings_in_every_state(now)
    in_python, in_sql = answers("hold_has_lapsed", made, now)
    assert in_python == in_sql == {"hold expiring now", "lapsed hold", "hold without expiry"}


def test_live_statuses_are_held_and_confirmed(app):
    assert set(Booking.LIVE_STATUSES) == {BookingStatus.HELD, BookingStatus.CONFIRMED}


def test_a_session_is_history_once_started_or_completed(app):
    now = utcnow()
    ahead = BookingFactory(session=SessionFactory(starts_at=now + timedelta(hours=1)))
    started = BookingFactory(session=SessionFactory(starts_at=now - timedelta(minutes=1)))
    completed_early = BookingFactory(session=SessionFactory(
        starts_at=now + timedelta(hours=1), status=SessionStatus.COMPLETED))
    assert not ahead.session_is_history(now)
    assert started.session_is_history(now) and completed_early.session_is_history(now)
