"""Hold limits per client under real contention: racers from one address on different
sessions (so no session row lock serialises them) never get past the limit together."""
from __future__ import annotations

import pytest

from app.services.bookings import holds as svc
from app.services.core.errors import TooManyHolds

from factories import SessionFactory, booking_request
from racing import race

LIMIT = 2
RACERS = 30
POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=12, hold_limit_per_client=LIMIT,
                           client_key_secret="race")


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": RACERS + 5, "max_overflow": 0,
                                          "pool_timeout": 60}}


def hold_from_one_address(app):
    session_ids = [SessionFactory(capacity=12).id for _ in range(RACERS)]
    return race(app, RACERS, lambda i: svc.hold_seats(
        booking_request(session_ids[i], 1, email=f"racer{i}@example.com"),
        policy=POLICY, client_address="203.0.113.9").reference)


def test_racing_holds_from_one_address_stop_at_the_limit_exactly(app):
    results = hold_from_one_address(app)
    assert [r for r in results if isinstance(r, Exception)
            and not isinstance(r, TooManyHolds)] == []
    assert sum(isinstance(r, str) for r in results) == LIMIT
    assert sum(isinstance(r, TooManyHolds) for r in results) == RACERS - LIMIT


def test_control_without_the_name_locks_racers_get_past_the_limit(app, backend, monkeypatch):
    """Shows the race the locks close is real. SQLite serialises every writer on its
    one database lock (taken with the session row), so only PostgreSQL can show it."""
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: there is no race to show")
    monkeypatch.setattr(svc, "lock_names", lambda names, **kwargs: None)
    results = hold_from_one_address(app)
    assert sum(isinstance(r, str) for r in results) > LIMIT


def test_a_limit_that_is_off_takes_no_lock(app, monkeypatch):
    """With the per-address limits off, holds from one address (an office behind one
    router, a load test) must not queue behind each other on that address's lock."""
    locked: list[str] = []
    monkeypatch.setattr(svc, "lock_names", lambda names, **kwargs: locked.extend(names))
    policy = svc.BookingPolicy(hold_minutes=30, max_seats=12, hold_limit_per_client=0,
                               hold_seats_limit_per_client=0, hold_limit_per_email=3,
                               client_key_secret="race")
    session_id = SessionFactory(capacity=12).id
    svc.hold_seats(booking_request(session_id, 1, email="office@example.com"), policy=policy,
                   client_address="203.0.113.9")
    assert locked == ["hold-email:office@example.com"]
