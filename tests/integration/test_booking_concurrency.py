"""The invariant under real contention: real threads, real databases, real commits."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingStatus, utcnow
from app.services.bookings import holds as svc
from app.services.bookings import idempotency
from app.services.core.errors import SeatsUnavailable

from factories import SessionFactory, booking_request
from racing import race

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=12)


@pytest.fixture
def app_config():
    # Enough pooled connections for every racer to hit the database at once.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 60, "max_overflow": 0, "pool_timeout": 60}}




def seats_sold(session_id):
    now = utcnow()
    return db.session.scalar(
        select(func.coalesce(func.sum(Booking.seats), 0)).where(
            Booking.session_id == session_id,
            (Booking.status == BookingStatus.CONFIRMED)
            | ((Booking.status == BookingStatus.HELD) & (Booking.hold_expires_at > now))))


def test_last_three_seats_go_to_exactly_three_of_fifty_racers(app):
    session = SessionFactory(capacity=12)
    svc.hold_seats(booking_request(session.id, 9), policy=POLICY)
    session_id = session.id

    results = race(app, 50, lambda i: svc.hold_seats(
        booking_request(session_id, 1, email=f"racer{i}@example.com"), policy=POLICY).reference)

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, SeatsUnavailable)]
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, SeatsUnavailable)]
    assert errors == []
    assert len(winners) == 3 and len(losers) == 47
    assert {loser.code for loser in losers} == {"sold_out"}
    assert seats_sold(session_id) == 12


def test_racers_wanting_two_seats_never_overbook_and_losers_get_insufficient_seats(app):
    session = SessionFactory(capacity=12)
    svc.hold_seats(booking_request(session.id, 9), policy=POLICY)
    session_id = session.id

    results = race(app, 50, lambda i: svc.hold_seats(
        booking_request(session_id, 2), policy=POLICY).reference)

    assert [r for r in results if isinstance(r, Exception)
            and not isinstance(r, SeatsUnavailable)] == []
    assert sum(isinstance(r, str) for r in results) == 1
    assert {r.code for r in results if isinstance(r, SeatsUnavailable)} == {"insufficient_seats"}
    assert seats_sold(session_id) == 11


def test_holds_expiring_while_others_book_free_their_seats_exactly_once(app):
    session = SessionFactory(capacity=6)
    session_id = session.id
    past = utcnow() - timedelta(minutes=31)
    for _ in range(3):  # three holds that expire "now"
        svc.hold_seats(booking_request(session_id, 2), policy=POLICY, now=past)

    def attempt(i):
        if i % 10 == 0:
            return svc.expire_holds()
        return svc.hold_seats(booking_request(session_id, 1), policy=POLICY).reference

    results = race(app, 40, attempt)
    assert [r for r in results if isinstance(r, Exception)
            and not isinstance(r, SeatsUnavailable)] == []
    assert sum(isinstance(r, str) for r in results) == 6
    assert seats_sold(session_id) == 6


def test_same_idempotency_key_from_ten_clients_at_once_yields_one_hold(app):
    session = SessionFactory(capacity=12)
    session_id = session.id
    body = {"session_id": session_id, "seats": 2}
    fingerprint = idempotency.fingerprint(body)

    def attempt(_):
        def work():
            booking = svc.hold_seats(booking_request(session_id, 2), policy=POLICY)
            return 201, {"reference": booking.reference}
        return idempotency.run_once("key-123", fingerprint, work)

    results = race(app, 10, attempt)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len({r.body["reference"] for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
