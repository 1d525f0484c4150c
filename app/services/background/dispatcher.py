"""The outbox dispatcher: delivers each recorded event to each of its handlers,
at least once, with retries, exponential backoff and a dead-letter state.

How a delivery is claimed so that no two workers run it at once
---------------------------------------------------------------
A worker claims a batch of due deliveries in one short transaction and
commits a *lease* on each (``locked_until``/``locked_by``), then runs the
handlers outside any claim transaction (a slow SMTP server never holds a
database lock):

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other
  claimer is looking at, so concurrent workers neither wait for nor collide
  with each other; the lease is then written under that row lock.
* SQLite (no SKIP LOCKED): each lease is a conditional ``UPDATE ... WHERE
  id = ? AND status = 'pending' AND (locked_until IS NULL OR locked_until <= now)``;
  SQLite's single writer lock serialises these, and the re-checked WHERE
  means exactly one racer gets rowcount 1.

The attempt is counted when the lease is taken, so a handler that kills its
process still runs out of attempts. A worker that dies mid-handler leaves
its lease behind; once ``locked_until`` passes, any worker claims the
delivery again. That is why delivery is *at least once* and every handler
must be idempotent (emails dedupe on ``SentEmail.dedupe_key``). An outcome
is recorded only while the worker still holds its lease.

Outcomes: delivered; or retried after ``base * 2**(attempt-1)`` seconds
(capped, with "equal jitter": half fixed, half random, so retries of many
failures spread out); or dead after ``OUTBOX_MAX_ATTEMPTS`` attempts, which
raises a critical admin alert. Dead deliveries are listed with
``dead_letters()`` and re-queued with ``replay_dead()``.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models import DeliveryStatus, OutboxDelivery, Severity, utcnow
from app.monitoring.tracing import handling_event
from app.repositories import unit_of_work
from app.repositories.deliveries import OutboxDeliveryRepository
from app.services.core import events
from app.services.core.alerts import dead_letter_message, raise_alert

log = logging.getLogger(__name__)

# A dead admin-alert email must not raise an alert (which would email again).
NO_ALERT_HANDLERS = frozenset({"email.admin_alert"})
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class DispatchPolicy:
    """Retry and lease settings, from configuration."""

    max_attempts: int = 8
    backoff_base_seconds: int = 30
    backoff_max_seconds: int = 6 * 3600
    lease_seconds: int = 300
    batch_size: int = 20

    @classmethod
    def from_config(cls, config: Mapping) -> "DispatchPolicy":
        return cls(
            max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
            backoff_base_seconds=config["OUTBOX_BACKOFF_BASE_SECONDS"],
            backoff_max_seconds=config["OUTBOX_BACKOFF_MAX_SECONDS"],
            lease_seconds=config["OUTBOX_LEASE_SECONDS"],
            batch_size=config["OUTBOX_BATCH_SIZE"],
        )

    def backoff(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """Delay before the next try after `attempts` failed ones: exponential, capped,
        between half and all of `base * 2**(attempts-1)`."""
        ceiling = min(self.backoff_max_seconds,
                      self.backoff_base_seconds * 2 ** max(0, attempts - 1))
        jitter = (rng or random).uniform(0, ceiling / 2)
        return timedelta(seconds=ceiling / 2 + jitter)


@dataclass
class DispatchResult:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0  # the lease ran out before the outcome could be recorded

    def add(self, other: "DispatchResult") -> None:
        for name in ("claimed", "delivered", "retried", "dead", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class UnknownHandler(RuntimeError):
    """A delivery names a handler that is no longer registered."""


def new_worker_id() -> str:
    """Unique per worker thread: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}:" \
           f"{uuid.uuid4().hex[:6]}"


def claim(worker: str, policy: DispatchPolicy, now: datetime) -> tuple[list[int], int]:
    """Lease up to `batch_size` due deliveries; returns (leased ids, candidates seen)."""
    repo = OutboxDeliveryRepository()
    with unit_of_work():
        candidates = repo.due_ids(now, policy.batch_size)
        until = now + timedelta(seconds=policy.lease_seconds)
        leased = [i for i in candidates
                  if repo.take_lease(i, worker=worker, now=now, until=until)]
    return leased, len(candidates)


def deliver(delivery_id: int, worker: str, policy: DispatchPolicy,
            now: datetime | None = None) -> str:
    """Run one leased delivery's handler and record the outcome.

    Returns "delivered", "retried", "dead" or "lost". Handlers own their
    transactions (unit_of_work), like any service function.
    """
    repo = OutboxDeliveryRepository()
    delivery = repo.get_fresh(delivery_id)
    if delivery is None:
        return "lost"
    handler_name, attempts, event = delivery.handler, delivery.attempts, delivery.event
    error = None
    try:
        handler = events.registry.get(handler_name)
        if handler is None:
            raise UnknownHandler(f"no handler named {handler_name!r} is registered")
        with handling_event(f"outbox {handler_name}", event.trace_context, {
                "outbox.handler": handler_name, "outbox.event_type": event.event_type,
                "outbox.event_id": event.id, "outbox.attempt": attempts}):
            handler.func(event)
        repo.end_read()  # the handler committed its work; this ends its last read
    except Exception as exc:  # any failure is retried; the worker keeps going
        repo.end_read()
        error = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
        log.warning("outbox delivery %s (%s, event %s) failed on attempt %s: %s",
                    delivery_id, handler_name, event.id, attempts, exc)
    return _record_outcome(delivery_id, handler_name, event.event_type, attempts, error,
                           worker, policy, now or utcnow())


def _record_outcome(delivery_id: int, handler_name: str, event_type: str, attempts: int,
                    error: str | None, worker: str, policy: DispatchPolicy,
                    now: datetime) -> str:
    repo = OutboxDeliveryRepository()
    with unit_of_work():
        if error is None:
            outcome = "delivered"
            done = repo.finish(delivery_id, worker=worker, now=now,
                               status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None)
        elif attempts >= policy.max_attempts:
            outcome = "dead"
            done = repo.finish(delivery_id, worker=worker, now=now,
                               status=DeliveryStatus.DEAD, last_error=error)
            if done and handler_name not in NO_ALERT_HANDLERS:
                about = repo.get(delivery_id).event.aggregate_id
                raise_alert("outbox_dead_letter", dead_letter_message(
                                handler_name, event_type, about, attempts, error),
                            severity=Severity.CRITICAL, subject=handler_name)
        else:
            outcome = "retried"
            done = repo.finish(delivery_id, worker=worker, now=now, last_error=error,
                               next_attempt_at=now + policy.backoff(attempts))
    if not done:
        log.warning("outbox delivery %s: lease lost before recording %s", delivery_id, outcome)
        return "lost"
    return outcome


def dispatch_pending(worker: str, policy: DispatchPolicy, *, now: datetime | None = None,
                     max_batches: int | None = None) -> DispatchResult:
    """Claim and deliver batches until nothing is due (or `max_batches` ran)."""
    total = DispatchResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        at = now or utcnow()
        leased, seen = claim(worker, policy, at)
        if not leased:
            if seen and batches < 3:
                continue  # another worker won these rows (SQLite); look again
            break
        total.claimed += len(leased)
        for delivery_id in leased:
            outcome = deliver(delivery_id, worker, policy, now=now)
            setattr(total, outcome, getattr(total, outcome) + 1)
    return total


# -- dead letters ---------------------------------------------------------------------
def dead_letters(limit: int = 100) -> list[OutboxDelivery]:
    """Deliveries that ran out of attempts, newest first (for the admin pages)."""
    return OutboxDeliveryRepository().dead(limit)


def replay_dead(delivery_ids: list[int] | None = None, *, now: datetime | None = None) -> int:
    """Queue dead deliveries again with a fresh set of attempts; None means all.
    Safe because handlers are idempotent. Returns how many were re-queued."""
    with unit_of_work():
        return OutboxDeliveryRepository().revive(delivery_ids, now or utcnow())


def delivery_counts() -> dict[str, int]:
    """How many deliveries are pending, delivered and dead (health and metrics)."""
    return OutboxDeliveryRepository().counts_by_status()


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    dead: int
    oldest_pending_seconds: float  # 0 when nothing is pending


def outbox_backlog(*, now: datetime | None = None) -> OutboxBacklog:
    """What is waiting in the outbox and for how long (metrics, health, alerts)."""
    repo = OutboxDeliveryRepository()
    counts = repo.counts_by_status()
    oldest = repo.oldest_pending_created_at() if counts.get("pending") else None
    age = max(0.0, ((now or utcnow()) - oldest).total_seconds()) if oldest else 0.0
    return OutboxBacklog(pending=counts.get("pending", 0), dead=counts.get("dead", 0),
                         oldest_pending_seconds=age)
