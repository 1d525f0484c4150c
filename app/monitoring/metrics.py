"""The Prometheus metric families, defined once; every layer that counts imports them here.

prometheus-client's multiprocess mode is chosen when the library is first
imported (PROMETHEUS_MULTIPROC_DIR set: each process writes its figures to
files there and `GET /metrics` sums them). gunicorn.conf.py sets and cleans
that directory before any worker starts, so these objects behave the same
with one process or many. Without the variable (tests, `flask run`) the
library's default in-process registry is used.

Flask-free: services import this module to count. Business transitions are
counted only when their transaction commits (`count_after_commit`), so a
rolled-back hold never shows up in `bookings_total`.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

# The library's own rule (prometheus_client.values): the variable being present at all.
MULTIPROCESS = ("PROMETHEUS_MULTIPROC_DIR" in os.environ
                or "prometheus_multiproc_dir" in os.environ)
if MULTIPROCESS:
    _directory = (os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                  or os.environ.get("prometheus_multiproc_dir"))
    if _directory:  # e.g. a `flask worker` given the web's directory before gunicorn made it
        os.makedirs(_directory, exist_ok=True)

    @atexit.register
    def _forget_live_gauges() -> None:
        """This process's live gauges stop counting when it ends (gunicorn's child_exit
        does the same for workers that die without running exit handlers)."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())

# HTTP methods labelled as they are; anything else a client sends is "OTHER", so a
# client cannot grow the label set (or the traffic table) by inventing methods.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    method = method.upper()
    return method if method in KNOWN_METHODS else "OTHER"


# Seconds; web pages are fast, payment and PDF calls are not.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by URL rule and status.",
    ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by URL rule.",
    ["method", "route"], buckets=LATENCY_BUCKETS)

BOOKINGS = Counter(
    "bookings_total", "Bookings by lifecycle event (held, confirmed, cancelled, expired, "
    "refunded).", ["event"])
SEATS = Counter(
    "seats_total", "Seats by booking lifecycle event (held, confirmed, cancelled, expired, "
    "refunded).", ["event"])

PAYMENTS = Counter(
    "payments_total", "Payment outcomes by provider (checkout_created, succeeded, failed, "
    "late_refunded).", ["provider", "outcome"])
REFUNDS = Counter(
    "refunds_total", "Refunds by outcome: succeeded and failed (once per refund), retry_later "
    "(a provider call failed and is retried), manual (owed without a card payment: an admin "
    "pays it back).", ["outcome"])

ERRORS = Counter(
    "errors_total", "Errors that reached the edge, by category and severity.",
    ["category", "severity"])

WEBSOCKET_CONNECTIONS = Gauge(
    "websocket_connections", "Open live-availability WebSockets (all processes summed).",
    multiprocess_mode="livesum")
REALTIME_BROADCAST = Histogram(
    "realtime_broadcast_seconds", "From a seat change's commit to its fragment being queued "
    "for the open pages.", buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
REALTIME_DROPPED = Counter(
    "realtime_dropped_total", "Live updates not delivered, by reason.", ["reason"])

DB_POOL_CONNECTIONS = Gauge(
    "db_pool_connections", "Database pool connections by state (all processes summed).",
    ["state"], multiprocess_mode="livesum")

# -- counting business transitions when their transaction commits ----------------------
_PENDING = "metrics.pending"  # session.info: [(transaction, metric child, amount)]

BOOKING_EVENTS = ("held", "confirmed", "cancelled", "expired", "refunded")
PAYMENT_OUTCOMES = ("checkout_created", "succeeded", "failed", "late_refunded")
REFUND_OUTCOMES = ("succeeded", "failed", "retry_later", "manual")


def start_known_series_at_zero(payment_provider: str) -> None:
    """Show every known series from the start, at 0: a counter that first appears at 1
    hides that first increase from rate() and from alerts on it."""
    for event_name in BOOKING_EVENTS:
        BOOKINGS.labels(event=event_name)
        SEATS.labels(event=event_name)
    for outcome in PAYMENT_OUTCOMES:
        PAYMENTS.labels(provider=payment_provider, outcome=outcome)
    for outcome in REFUND_OUTCOMES:
        REFUNDS.labels(outcome=outcome)


def count_after_commit(session: Session, child, amount: float = 1) -> None:
    """Increment `child` (a labelled counter) by `amount` once `session` commits;
    a rollback, or the rollback of the savepoint it was counted in, forgets it."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # nothing open: nothing can be rolled back
        child.inc(amount)
        return
    session.info.setdefault(_PENDING, []).append((transaction, child, amount))


def count_booking(session: Session, event_name: str, seats: int) -> None:
    """One booking lifecycle transition (see BOOKING_EVENTS) of `seats` seats."""
    count_after_commit(session, BOOKINGS.labels(event=event_name))
    count_after_commit(session, SEATS.labels(event=event_name), seats)


def count_payment(session: Session, provider: str, outcome: str) -> None:
    """checkout_created, succeeded, failed or late_refunded, once committed."""
    count_after_commit(session, PAYMENTS.labels(provider=provider or "unknown", outcome=outcome))


def count_refund(session: Session, outcome: str) -> None:
    """succeeded, failed, retry_later or manual, once committed."""
    count_after_commit(session, REFUNDS.labels(outcome=outcome))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (SQLAlchemy fires after_commit for that too)
    for _transaction, child, amount in session.info.pop(_PENDING, ()):
        child.inc(amount)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Fires for every rollback, the whole transaction's or a savepoint's (after_rollback
    fires for both alike, so it cannot tell them apart): forget only what was counted
    inside the transaction that rolled back."""
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [item for item in pending
                      if not _within(item[0], previous_transaction)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


# -- database pool: connections by state in this process (summed over live processes) ---
_pool_lock = threading.Lock()
_pool_states: dict[object, str] = {}  # connection record -> "checked_out" | "idle"
_pool_installed = False


def track_database_pools() -> None:
    """Follow every SQLAlchemy pool of this process (idempotent). Each event
    recounts from the record map, so a missed or repeated event cannot drift."""
    global _pool_installed
    from sqlalchemy.pool import Pool

    with _pool_lock:
        if _pool_installed:
            return
        _pool_installed = True

    def setter(state: str | None):
        def listener(dbapi_connection, record, *_args) -> None:
            with _pool_lock:
                if state is None or (state == "idle" and dbapi_connection is None):
                    _pool_states.pop(record, None)
                else:
                    _pool_states[record] = state
                out = sum(1 for s in _pool_states.values() if s == "checked_out")
                idle = len(_pool_states) - out
            DB_POOL_CONNECTIONS.labels(state="checked_out").set(out)
            DB_POOL_CONNECTIONS.labels(state="idle").set(idle)
        return listener

    event.listen(Pool, "connect", setter("idle"))
    event.listen(Pool, "checkout", setter("checked_out"))
    event.listen(Pool, "checkin", setter("idle"))
    for gone in ("close", "detach"):
        event.listen(Pool, gone, setter(None))


# -- scraping -----------------------------------------------------------------------------
BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class OperationsCollector:
    """Figures read when scraped, from the database and the breakers (shared by all
    processes already, so never per-process files): breaker_state{breaker},
    outbox_pending, outbox_oldest_pending_seconds, outbox_dead.

    A source that fails (the database is down) is left out of the scrape and logged,
    so the request metrics still arrive."""

    def __init__(self, breakers: Callable[[], dict[str, str]] | None = None,
                 backlog: Callable[[], object] | None = None):
        self._breakers = breakers
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        # Imported here: services import this module to count, so not at import time.
        from app.services.background.dispatcher import outbox_backlog
        from app.services.payments.runtime import breaker_states

        try:
            states = (self._breakers or breaker_states)()
        except Exception:
            log.warning("metrics: breaker states unavailable", exc_info=True)
        else:
            family = GaugeMetricFamily(
                "breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                labels=["breaker"])
            for name, state in sorted(states.items()):
                family.add_metric([name], BREAKER_STATE_VALUES.get(state, 2))
            yield family
        try:
            backlog = (self._backlog or outbox_backlog)()
        except Exception:
            log.warning("metrics: outbox figures unavailable", exc_info=True)
            return
        yield GaugeMetricFamily("outbox_pending", "Outbox deliveries waiting to be delivered.",
                                value=backlog.pending)
        yield GaugeMetricFamily(
            "outbox_oldest_pending_seconds",
            "Age of the oldest event with a pending delivery (0 when none is pending).",
            value=backlog.oldest_pending_seconds)
        yield GaugeMetricFamily("outbox_dead", "Outbox deliveries that ran out of attempts.",
                                value=backlog.dead)


class _Forward:
    """Another registry's metrics, as a collector (single-process mode)."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        return self._registry.collect()


def scrape_registry(collector: OperationsCollector | None = None) -> CollectorRegistry:
    """What one scrape shows: every process's files (multiprocess mode) or this
    process's registry, plus the figures read at scrape time."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(collector or OperationsCollector())
    return registry


def render_metrics() -> tuple[bytes, str]:
    """(body, content type) of `GET /metrics`, in Prometheus text format."""
    return generate_latest(scrape_registry()), CONTENT_TYPE_LATEST
