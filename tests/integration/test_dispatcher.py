"""The outbox dispatcher: at-least-once delivery, backoff, leases, dead letters, replay."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, DeliveryStatus, OutboxDelivery, OutboxEvent, Severity, utcnow
from app.repositories import unit_of_work
from app.services.background import dispatcher
from app.services.core import events

POLICY = dispatcher.DispatchPolicy(max_attempts=3, backoff_base_seconds=10,
                                   backoff_max_seconds=600, lease_seconds=60, batch_size=10)


@pytest.fixture
def probes():
    """Two handlers for ProbeHappened: `calls` records what each saw; `failing`
    holds the names of handlers that raise."""
    calls: list[tuple[str, int]] = []
    failing: set[str] = set()

    def make(name):
        def handler(event):
            if name in failing:
                raise RuntimeError(f"{name} is broken")
            calls.append((name, event.payload["n"]))
        return handler

    names = ("test.probe.ok", "test.probe.flaky")
    events.registry.register(
        events.Handler(name, frozenset({"ProbeHappened"}), make(name)) for name in names)
    yield calls, failing
    events.registry.unregister(*names)


def record(n: int) -> int:
    with unit_of_work():
        return events.record_event("ProbeHappened", f"probe-{n}", {"n": n}).id


def deliveries(handler: str | None = None) -> list[OutboxDelivery]:
    db.session.expire_all()
    stmt = select(OutboxDelivery).order_by(OutboxDelivery.id)
    if handler:
        stmt = stmt.where(OutboxDelivery.handler == handler)
    return list(db.session.scalars(stmt))


def test_each_handler_gets_each_event_once(app, probes):
    calls, _ = probes
    record(1), record(2)
    result = dispatcher.dispatch_pending("w1", POLICY)
    assert result.delivered == 4 and result.claimed == 4
    assert sorted(calls) == [("test.probe.flaky", 1), ("test.probe.flaky", 2),
                             ("test.probe.ok", 1), ("test.probe.ok", 2)]
    assert {d.status for d in deliveries()} == {DeliveryStatus.DELIVERED}
    assert all(d.locked_by is None and d.delivered_at for d in deliveries())
    # Nothing is due any more: a second pass delivers nothing again.
    assert dispatcher.dispatch_pending("w1", POLICY).claimed == 0
    assert len(calls) == 4


def test_a_failure_is_retried_after_an_exponential_backoff_with_jitter(app, probes):
    calls, failing = probes
    failing.add("test.probe.flaky")
    record(1)
    now = utcnow()
    dispatcher.dispatch_pending("w1", POLICY, now=now)
    flaky = deliveries("test.probe.flaky")[0]
    assert flaky.status == DeliveryStatus.PENDING and flaky.attempts == 1
    assert "flaky is broken" in flaky.last_error
    # First retry: between half and all of the base delay.
    assert now + timedelta(seconds=5) <= flaky.next_attempt_at <= now + timedelta(seconds=10)

    dispatcher.dispatch_pending("w1", POLICY, now=now + timedelta(seconds=4))
    assert deliveries("test.probe.flaky")[0].attempts == 1  # not due yet

    later = now + timedelta(seconds=11)
    dispatcher.dispatch_pending("w1", POLICY, now=later)
    flaky = deliveries("test.probe.flaky")[0]
    assert flaky.attempts == 2
    assert later + timedelta(seconds=10) <= flaky.next_attempt_at <= later + timedelta(seconds=20)

    failing.clear()
    dispatcher.dispatch_pending("w1", POLICY, now=later + timedelta(seconds=21))
    flaky = deliveries("test.probe.flaky")[0]
    assert flaky.status == DeliveryStatus.DELIVERED and flaky.attempts == 3
    assert calls.count(("test.probe.flaky", 1)) == 1 and calls.count(("test.probe.ok", 1)) == 1


def test_a_handler_that_keeps_failing_is_dead_lettered_and_the_others_continue(app, probes):
    calls, failing = probes
    failing.add("test.probe.flaky")
    record(1)
    at = utcnow()
    for _ in range(POLICY.max_attempts):
        dispatcher.dispatch_pending("w1", POLICY, now=at)
        at += timedelta(seconds=POLICY.backoff_max_seconds + 1)
    record(2)  # events recorded later still flow
    dispatcher.dispatch_pending("w1", POLICY, now=at)

    flaky = deliveries("test.probe.flaky")
    assert [d.status for d in flaky] == [DeliveryStatus.DEAD, DeliveryStatus.PENDING]
    assert flaky[0].attempts == POLICY.max_attempts
    assert [d.status for d in deliveries("test.probe.ok")] == [DeliveryStatus.DELIVERED] * 2
    assert ("test.probe.ok", 2) in calls
    assert [d.id for d in dispatcher.dead_letters()] == [flaky[0].id]

    # The dead letter is announced to administrators as a critical alert.
    alert = db.session.scalars(select(Alert)).one()
    assert alert.severity == Severity.CRITICAL and alert.subject == "test.probe.flaky"
    assert "could not be completed after" in alert.message
    # A dead delivery is never picked up again by itself.
    dispatcher.dispatch_pending("w1", POLICY, now=at + timedelta(days=30))
    assert deliveries("test.probe.flaky")[0].status == DeliveryStatus.DEAD


def test_replaying_a_dead_delivery_delivers_it_with_fresh_attempts(app, probes):
    calls, failing = probes
    failing.add("test.probe.flaky")
    record(7)
    at = utcnow()
    for _ in range(POLICY.max_attempts):
        dispatcher.dispatch_pending("w1", POLICY, now=at)
        at += timedelta(hours=1)
    dead = deliveries("test.probe.flaky")[0]
    assert dead.status == DeliveryStatus.DEAD

    failing.clear()  # the cause was fixed
    assert dispatcher.replay_dead([dead.id], now=at) == 1
    replayed = deliveries("test.probe.flaky")[0]
    assert replayed.status == DeliveryStatus.PENDING and replayed.attempts == 0
    dispatcher.dispatch_pending("w1", POLICY, now=at)
    assert deliveries("test.probe.flaky")[0].status == DeliveryStatus.DELIVERED
    assert calls.count(("test.probe.flaky", 7)) == 1
    assert dispatcher.replay_dead(now=at) == 0  # nothing dead any more


def test_a_leased_delivery_waits_for_its_lease_then_another_worker_takes_it(app, probes):
    calls, _ = probes
    record(1)
    now = utcnow()
    # Worker A claims everything and then "crashes": it never runs the handlers.
    leased, _ = dispatcher.claim("worker-a", POLICY, now)
    assert len(leased) == 2
    assert dispatcher.dispatch_pending("worker-b", POLICY, now=now + timedelta(seconds=30)) \
        .claimed == 0
    assert calls == []

    after_lease = now + timedelta(seconds=POLICY.lease_seconds + 1)
    result = dispatcher.dispatch_pending("worker-b", POLICY, now=after_lease)
    assert result.delivered == 2
    assert sorted(calls) == [("test.probe.flaky", 1), ("test.probe.ok", 1)]
    # Worker A comes back and tries to record an outcome: its lease is gone.
    assert dispatcher.deliver(leased[0], "worker-a", POLICY, now=after_lease) == "lost"
    assert all(d.attempts == 2 for d in deliveries())


def test_a_delivery_for_an_unregistered_handler_is_retried_then_dead(app, probes):
    record(1)
    with unit_of_work():
        for d in deliveries("test.probe.ok"):
            d.handler = "test.probe.renamed"
    at = utcnow()
    for _ in range(POLICY.max_attempts):
        dispatcher.dispatch_pending("w1", POLICY, now=at)
        at += timedelta(hours=1)
    renamed = deliveries("test.probe.renamed")[0]
    assert renamed.status == DeliveryStatus.DEAD
    assert "no handler named 'test.probe.renamed'" in renamed.last_error


def test_delivery_counts_report_each_status(app, probes):
    _, failing = probes
    failing.add("test.probe.flaky")
    record(1)
    dispatcher.dispatch_pending("w1", POLICY)
    assert dispatcher.delivery_counts() == {"pending": 1, "delivered": 1, "dead": 0}
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
