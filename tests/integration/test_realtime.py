"""Live availability, below the WebSocket: after-commit delivery on both backends,
rooms, fragments, low-availability alerts and the bounded subscriber queues."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Alert, utcnow
from app.repositories import unit_of_work
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core.errors import InvalidInput
from app.services.realtime import announce
from app.services.realtime.hub import Rooms, SubscriberRegistry, Subscription, Target
from app.services.realtime.pg_notify import APPLICATION_NAME

from factories import CourseFactory, SessionFactory, booking_request

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=6)
WAIT = 10.0  # generous: only a failure waits this long


@pytest.fixture
def live(app):
    hub = app.extensions["realtime"]
    yield hub
    hub.stop()


def collect(sub: Subscription, *, until=None, timeout: float = WAIT) -> str:
    """Everything sent to `sub` until `until(text)` holds (or `timeout` passes)."""
    received = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sub.wakeup.wait(0.05)
        sub.wakeup.clear()
        received += "".join(sub.take())
        if until is not None and until(received):
            break
    return received


def seats_in(fragment: str, session_id: int) -> list[int]:
    return [int(n) for n in re.findall(
        rf'id="seats-{session_id}" hx-swap-oob="true" data-seats-available="(\d+)"', fragment)]


def subscribe(live, **rooms) -> Subscription:
    sub = live.subscribe(Rooms(**rooms))
    if live.transport.in_transaction:  # PostgreSQL: wait until LISTEN is in place
        assert live.transport.listener.connected.wait(WAIT)
    return sub


# -- after commit, never after rollback ------------------------------------------------
def test_a_committed_hold_reaches_subscribers_of_its_session(live):
    session = SessionFactory(capacity=12)
    sub = subscribe(live, session_ids=frozenset({session.id}))

    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)

    received = collect(sub, until=lambda t: 10 in seats_in(t, session.id))
    assert seats_in(received, session.id)[-1] == 10
    assert "1 person is booking this session right now" in received


def test_a_rolled_back_change_broadcasts_nothing(live):
    rolled_back, sentinel = SessionFactory(capacity=12), SessionFactory(capacity=12)
    sub = subscribe(live, session_ids=frozenset({rolled_back.id, sentinel.id}))

    with pytest.raises(RuntimeError):
        with unit_of_work():
            svc.hold_seats(booking_request(rolled_back.id, 2), policy=POLICY)
            raise RuntimeError("payment provider fell over")
    svc.hold_seats(booking_request(sentinel.id, 1), policy=POLICY)

    # Delivery is in commit order: once the sentinel is in, anything from the
    # rolled-back transaction would have been too.
    received = collect(sub, until=lambda t: seats_in(t, sentinel.id))
    assert seats_in(received, sentinel.id) == [11]
    assert seats_in(received, rolled_back.id) == []


def test_announcements_inside_one_transaction_go_out_once(live, backend):
    session = SessionFactory(capacity=12)
    svc.hold_seats(booking_request(session.id, 1), policy=POLICY,
                   now=utcnow() - timedelta(minutes=31))
    svc.hold_seats(booking_request(session.id, 1), policy=POLICY,
                   now=utcnow() - timedelta(minutes=31))
    sub = subscribe(live, session_ids=frozenset({session.id}))
    broadcasts_before = live.broadcasts

    assert svc.expire_holds() == 2

    received = collect(sub, until=lambda t: seats_in(t, session.id))
    assert seats_in(received, session.id) == [12]
    assert live.broadcasts == broadcasts_before + 1


def test_every_kind_of_seat_change_is_broadcast(live):
    session = SessionFactory(capacity=12)
    sub = subscribe(live, session_ids=frozenset({session.id}))

    def expect(seats: int) -> None:
        received = collect(sub, until=lambda t: seats in seats_in(t, session.id))
        assert seats_in(received, session.id)[-1] == seats

    held = svc.hold_seats(booking_request(session.id, 3), policy=POLICY)
    expect(9)
    svc.confirm_booking(held.reference)  # a confirmed hold keeps its seats
    svc.change_capacity(session.id, 10)
    expect(7)
    manage.cancel_booking(held.reference, actor=manage.Actor.customer(), policy=POLICY)
    expect(10)


# -- what is shown -------------------------------------------------------------------------
def test_low_availability_and_fully_booked_badges(live):
    session = SessionFactory(capacity=5)
    sub = subscribe(live, session_ids=frozenset({session.id}))

    svc.hold_seats(booking_request(session.id, 3), policy=POLICY)
    received = collect(sub, until=lambda t: 2 in seats_in(t, session.id))
    assert "Only 2 seats left" in received and 'data-availability="low"' in received

    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    received = collect(sub, until=lambda t: 0 in seats_in(t, session.id))
    assert "Fully booked" in received and 'data-availability="full"' in received
    assert "2 people are booking this session right now" in received


def test_booking_intent_carries_no_personal_data(live):
    session = SessionFactory(capacity=12)
    svc.hold_seats(booking_request(session.id, 2, email="secret.person@example.com"),
                   policy=POLICY)
    fragment = live.snapshot(Rooms(session_ids=frozenset({session.id})))
    assert "1 person is booking" in fragment
    for private in ("secret.person", "Priya", "Learner", "07700", "LS1"):
        assert private not in fragment


def test_low_availability_keeps_one_alert_per_session_that_follows_the_seats(app):
    session = SessionFactory(capacity=5)  # the default threshold is 3 seats
    subject = f"session:{session.id}"

    def alerts() -> list[tuple]:
        db.session.expire_all()
        return db.session.execute(
            select(Alert.kind, Alert.subject, Alert.count, Alert.resolved_at.is_(None))
            .order_by(Alert.id)).all()

    svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    assert alerts() == []
    svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    assert alerts() == [("low_availability", subject, 1, True)]
    held = svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    manage.cancel_booking(held.reference, actor=manage.Actor.customer(), policy=POLICY)
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    assert alerts() == [("low_availability", subject, 4, True)]
    assert "Only 1 seat left of 5" in db.session.scalar(select(Alert.message))
    svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    assert alerts() == [("low_availability", subject, 4, False),
                        ("fully_booked", subject, 1, True)]
    full = db.session.scalars(select(Alert).where(Alert.kind == "fully_booked")).one()
    assert "is fully booked (5 seats)" in full.message and f"session {session.id}" not in full.message


def test_an_alert_is_not_raised_by_a_rolled_back_booking(app):
    session = SessionFactory(capacity=2)
    with pytest.raises(RuntimeError):
        with unit_of_work():
            svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
            raise RuntimeError("boom")
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0


# -- rooms and snapshots -----------------------------------------------------------------
def test_rooms_receive_only_their_sessions(live):
    first_aid = CourseFactory(slug="first-aid-at-work")
    watched, other_course = SessionFactory(course=first_aid), SessionFactory()
    by_session = subscribe(live, session_ids=frozenset({watched.id}))
    by_course = subscribe(live, course_slug="first-aid-at-work")
    everything = subscribe(live)

    svc.hold_seats(booking_request(other_course.id), policy=POLICY)
    svc.hold_seats(booking_request(watched.id), policy=POLICY)

    assert seats_in(collect(everything, until=lambda t: seats_in(t, watched.id)), other_course.id)
    assert seats_in(collect(by_course, until=lambda t: seats_in(t, watched.id)),
                    other_course.id) == []
    assert seats_in(collect(by_session, until=lambda t: seats_in(t, watched.id)),
                    other_course.id) == []


def test_snapshot_lists_every_watched_count_and_only_upcoming_for_all(live):
    course = CourseFactory(slug="paediatric")
    upcoming = SessionFactory(course=course, capacity=8)
    past = SessionFactory(course=course, starts_at=utcnow() - timedelta(days=2),
                          ends_at=utcnow() - timedelta(days=2) + timedelta(hours=6))
    svc.hold_seats(booking_request(upcoming.id, 3), policy=POLICY)

    by_id = live.snapshot(Rooms(session_ids=frozenset({upcoming.id, past.id})))
    assert seats_in(by_id, upcoming.id) == [5] and seats_in(by_id, past.id) == [12]
    for rooms in (Rooms(course_slug="paediatric"), Rooms()):
        snapshot = live.snapshot(rooms)
        assert seats_in(snapshot, upcoming.id) == [5] and seats_in(snapshot, past.id) == []
    assert live.snapshot(Rooms(course_slug="no-such-course")) == ""


def test_a_lapsed_hold_is_rebroadcast_at_its_expiry_without_any_transaction(live):
    session = SessionFactory(capacity=6)
    # A 30-minute hold taken 30 minutes minus four seconds ago: it lapses in about four
    # seconds (time enough, on a loaded machine, to subscribe and read it still held).
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY,
                   now=utcnow() - timedelta(minutes=30) + timedelta(seconds=4))
    sub = subscribe(live, session_ids=frozenset({session.id}))
    assert seats_in(live.snapshot(Rooms(session_ids=frozenset({session.id}))), session.id) == [4]

    received = collect(sub, until=lambda t: 6 in seats_in(t, session.id))
    assert seats_in(received, session.id)[-1] == 6


@pytest.mark.parametrize("query, problem", [
    ({"session": ["abc"]}, "session"),
    ({"session": ["0"]}, "session"),
    ({"session": [str(i) for i in range(1, 102)]}, "session"),
    ({"course": "<script>"}, "course"),
])
def test_bad_subscriptions_are_refused(query, problem):
    with pytest.raises(InvalidInput) as err:
        announce.parse_rooms(query.get("session", []), query.get("course"))
    assert problem in err.value.fields


def test_subscriptions_parse_ids_courses_and_all():
    assert announce.parse_rooms(["3", "5", "3"], None) == Rooms(session_ids=frozenset({3, 5}))
    assert announce.parse_rooms([], "first-aid-at-work") == Rooms(course_slug="first-aid-at-work")
    assert announce.parse_rooms([], "").is_all_upcoming


# -- the listener survives losing its connection -------------------------------------------
def test_postgres_listener_reconnects_and_resends_watched_counts(live, backend):
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    session = SessionFactory(capacity=12)
    sub = subscribe(live, session_ids=frozenset({session.id}))
    listener = live.transport.listener

    db.session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name"), {"name": APPLICATION_NAME})
    db.session.commit()
    deadline = time.monotonic() + WAIT
    while listener.connections < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections >= 2 and listener.connected.wait(WAIT)
    # The resync after reconnecting resends what is watched ...
    assert seats_in(collect(sub, until=lambda t: seats_in(t, session.id)), session.id) == [12]
    # ... and new changes flow again.
    svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    assert 11 in seats_in(collect(sub, until=lambda t: 11 in seats_in(t, session.id)), session.id)


# -- bounded queues (no database) ----------------------------------------------------------
def test_a_newer_fragment_replaces_the_one_still_waiting():
    sub = Subscription(Rooms(), limit=2)
    assert sub.offer(1, "old") and sub.offer(1, "new") and sub.offer(2, "other")
    assert sub.take() == ["new", "other"]


def test_an_overflowing_queue_drops_its_subscriber_without_blocking():
    dropped = []
    sub = Subscription(Rooms(), limit=2, on_drop=dropped.append)
    assert sub.offer(1, "a") and sub.offer(2, "b")
    assert not sub.offer(3, "c")
    assert dropped == ["queue overflow"] and sub.is_dropped and sub.take() == []
    assert not sub.offer(4, "d") and dropped == ["queue overflow"]


def test_a_send_blocked_past_the_timeout_drops_only_that_subscriber():
    registry = SubscriberRegistry()
    stuck, fine = (registry.add(Subscription(Rooms(), on_drop=lambda _: None)) for _ in range(2))
    stuck.sending()
    time.sleep(0.05)
    assert registry.drop_stalled(timeout=0.01) == 1
    assert stuck.drop_reason == "send timeout" and not fine.is_dropped


def test_publishing_to_a_thousand_subscribers_does_not_wait_for_any_of_them():
    registry = SubscriberRegistry()
    subs = [registry.add(Subscription(Rooms(session_ids=frozenset({7})), limit=1))
            for _ in range(1000)]
    subs[0].offer("other", "never read")  # the first one is full and never reads
    started = time.monotonic()
    queued = registry.publish([(Target(7, "c", True), "<span>7</span>")])
    assert time.monotonic() - started < 2.0
    assert queued == 999 and subs[0].is_dropped
    assert all(s.take() == ["<span>7</span>"] for s in subs[1:])


def test_hub_threads_start_with_the_first_subscriber_only(app):
    hub = app.extensions["realtime"]
    assert hub._thread is None  # creating the app (tests, migrations, commands) starts nothing
    try:
        hub.subscribe(Rooms())
        assert hub._thread.is_alive()
    finally:
        hub.stop()


# -- Redis pub/sub instead of LISTEN/NOTIFY (REDIS_URL) -------------------------------------
@pytest.fixture
def fake_redis():
    fakeredis = pytest.importorskip("fakeredis")
    return fakeredis.FakeServer()


def redis_transport(server, **kwargs):
    import fakeredis

    from app.services.realtime.redis_pubsub import RedisTransport

    return RedisTransport("redis://unused", announce.CHANNEL, resync="resync",
                          client=fakeredis.FakeRedis(server=server), min_backoff=0.01,
                          max_backoff=0.05, **kwargs)


def test_over_redis_a_commit_is_delivered_and_a_rollback_is_not(app, fake_redis):
    live = app.extensions["realtime"]
    live.transport = redis_transport(fake_redis)
    rolled_back, sentinel = SessionFactory(capacity=12), SessionFactory(capacity=12)
    try:
        sub = live.subscribe(Rooms(session_ids=frozenset({rolled_back.id, sentinel.id})))
        assert live.transport.connected.wait(WAIT)
        with pytest.raises(RuntimeError):
            with unit_of_work():
                svc.hold_seats(booking_request(rolled_back.id, 2), policy=POLICY)
                raise RuntimeError("boom")
        svc.hold_seats(booking_request(sentinel.id, 3), policy=POLICY)

        received = collect(sub, until=lambda t: seats_in(t, sentinel.id))
        assert seats_in(received, sentinel.id) == [9]
        assert seats_in(received, rolled_back.id) == []
    finally:
        live.stop()


def test_the_redis_subscriber_reconnects_and_asks_for_a_resync(fake_redis):
    import queue

    transport = redis_transport(fake_redis)
    delivered = queue.SimpleQueue()
    transport.start(delivered.put)
    try:
        assert transport.connected.wait(WAIT)
        transport.publish({3, 5})
        assert delivered.get(timeout=WAIT) == {3, 5}

        fake_redis.connected = False
        deadline = time.monotonic() + WAIT
        while transport.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        transport.publish({7})  # lost (logged), like a NOTIFY while the listener is away
        fake_redis.connected = True

        assert delivered.get(timeout=WAIT) == "resync"
        transport.publish({8})
        assert delivered.get(timeout=WAIT) == {8}
    finally:
        transport.stop()
