"""Live seat counts: after-commit announcements, transports between processes,
and the per-process hub that fans fragments out to WebSocket subscribers.

How a change reaches a browser
------------------------------
1. The booking service calls `announce_seats_changed(session_id)` inside the
   transaction that changed the seats. That call also raises the admin alert
   for low availability (once per session and threshold, in the same
   transaction), then hands the id to the broadcaster:

   * PostgreSQL: ``SELECT pg_notify('seats_changed', id)`` in the transaction.
     PostgreSQL delivers it to every listening process only if and when the
     transaction commits; a rollback discards it.
   * SQLite (one process) or Redis: the id is collected in
     ``session.info`` and published from the session's ``after_commit``
     event; ``after_rollback`` throws the collection away.

2. Each process that has WebSocket clients runs one hub: a listener (the
   PostgreSQL LISTEN connection or the Redis subscription; nothing for
   SQLite) and one dispatcher thread. The dispatcher drains every id waiting,
   reads their current state in three queries (seats taken, active holds),
   renders each session's fragment once and offers it to the bounded queue of
   every subscriber whose rooms include it. It never sends: each connection's
   own thread does (see app.web.realtime), so a slow client delays no one.

Messages carry ids, not counts: every process reads the committed state
itself, so order and duplicates do not matter and the last fragment a client
gets is always current. After the listener reconnects (database restart) the
hub re-reads every watched session, since NOTIFYs sent meanwhile are lost.

Hold expiry has no transaction: a hold stops counting when its expiry passes.
The cleanup job's `expire_holds` announces it when it runs; in addition the
dispatcher keeps a timer at the earliest hold expiry of each watched session
and re-broadcasts it then, so counts go back up on time without the job.
"""
from __future__ import annotations

import heapq
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import SessionStatus, Severity, utcnow
from app.monitoring import metrics
from app.repositories import BookingRepository, SessionRepository
from app.repositories.availability import AvailabilityRepository, SeatRow
from app.repositories.base import release_session
from app.services.core import alerts
from app.services.core.errors import InvalidInput
from app.services.core.installed import Installed
from app.services.core.ukformat import session_label
from app.services.realtime import pg_notify
from app.services.realtime.hub import (
    ChangedIds, Rooms, SubscriberRegistry, Subscription, Target, format_changed, parse_changed,
)

log = logging.getLogger(__name__)

CHANNEL = "seats_changed"
MAX_ROOM_SESSIONS = 100
MAX_DB_ID = 2**31 - 1
_PENDING = "realtime.pending"    # ids to publish after commit (local, Redis)
_NOTIFIED = "realtime.notified"  # ids already pg_notify'd in this transaction
_SESSION_ID = re.compile(r"[0-9]{1,10}")
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
_RESYNC = "resync"


# -- settings and state ---------------------------------------------------------------
@dataclass(frozen=True)
class LiveSettings:
    low_availability_threshold: int = 3
    ping_seconds: float = 25.0
    queue_limit: int = 100
    send_timeout_seconds: float = 10.0
    snapshot_limit: int = 500

    @classmethod
    def from_config(cls, config: Mapping) -> "LiveSettings":
        return cls(
            low_availability_threshold=int(config.get("LOW_AVAILABILITY_THRESHOLD", 3)),
            ping_seconds=float(config.get("WS_PING_SECONDS", 25)),
            queue_limit=int(config.get("WS_QUEUE_LIMIT", 100)),
            send_timeout_seconds=float(config.get("WS_SEND_TIMEOUT_SECONDS", 10)),
            snapshot_limit=int(config.get("WS_SNAPSHOT_LIMIT", 500)),
        )


@dataclass(frozen=True)
class SeatState:
    """What a seat-count fragment shows for one session (no personal data)."""

    id: int
    course_slug: str
    seats_available: int
    people_booking: int
    is_upcoming: bool
    next_hold_expiry: datetime | None = None
    is_listed: bool = True

    @property
    def target(self) -> Target:
        """Who hears of it: a private session only its own room (its private page),
        never its course's room or the all-upcoming one."""
        if not self.is_listed:
            return Target(self.id, "", False)
        return Target(self.id, self.course_slug, self.is_upcoming)


def seat_states(session_ids: Iterable[int], *, now: datetime | None = None) -> list[SeatState]:
    """Current seats and booking intent of the given sessions (unknown ids left out)."""
    return [_state(row) for row in AvailabilityRepository().seat_rows(session_ids, now or utcnow())]


def room_states(rooms: Rooms, *, limit: int = 500, now: datetime | None = None) -> list[SeatState]:
    """The snapshot for a connection: its sessions, or its course's / all upcoming ones."""
    now = now or utcnow()
    ids = set(sorted(rooms.session_ids)[:limit])
    if rooms.course_slug is not None or rooms.is_all_upcoming:
        ids.update(AvailabilityRepository().upcoming_session_ids(
            now, course_slug=rooms.course_slug, limit=limit))
    return seat_states(ids, now=now)


def _state(row: SeatRow) -> SeatState:
    return SeatState(
        id=row.session_id,
        course_slug=row.course_slug,
        seats_available=max(0, row.capacity - row.seats_taken),
        people_booking=row.active_holds,
        is_upcoming=row.is_upcoming,
        next_hold_expiry=row.earliest_hold_expiry,
        is_listed=row.is_listed,
    )


def parse_rooms(session_values: Sequence[str], course: str | None) -> Rooms:
    """Rooms from `?session=ID` (repeatable) and `?course=SLUG`; none means all upcoming."""
    problems: dict[str, str] = {}
    ids = set()
    for raw in session_values:
        raw = raw.strip()
        if not _SESSION_ID.fullmatch(raw) or not 0 < int(raw) <= MAX_DB_ID:
            problems["session"] = "Each session must be a session id."
            break
        ids.add(int(raw))
    if len(ids) > MAX_ROOM_SESSIONS:
        problems["session"] = f"Watch at most {MAX_ROOM_SESSIONS} sessions at once."
    slug = (course or "").strip() or None
    if slug is not None and not _SLUG.fullmatch(slug):
        problems["course"] = "The course must be a course's slug."
    if problems:
        raise InvalidInput("That is not a subscription we understand.", fields=problems)
    return Rooms(session_ids=frozenset(ids), course_slug=slug)


# -- announcing, inside the writing transaction -----------------------------------------
def announce_seats_changed(session_id: int, *, seats_available: int | None = None) -> None:
    """Queue a seat-count broadcast for `session_id`, sent after commit only.

    Call inside the transaction that changed the seats (after the change is
    written). Also raises the low-availability alert for the session, once per
    session and threshold, in the same transaction. A caller that has just counted
    the seats under the session's lock passes `seats_available` (after its change),
    saving a second count while the lock is held.
    """
    live = _live()
    settings = live.settings if live else LiveSettings()
    session = SessionRepository().session  # the caller's, which changed the seats
    _alert_on_low_availability(session_id, settings.low_availability_threshold,
                               seats_available)
    in_transaction = live.transport.in_transaction if live else _is_postgres(session)
    if in_transaction:
        notified = session.info.setdefault(_NOTIFIED, set())
        if session_id not in notified:
            notified.add(session_id)
            # NOTIFY cannot carry the commit's own time: this is the moment of the
            # announcement, which services make last before committing.
            pg_notify.notify(session, CHANNEL, format_changed([session_id], time.time()))
    else:
        session.info.setdefault(_PENDING, set()).add(session_id)


AVAILABILITY_KINDS = ("low_availability", "fully_booked")


def availability_alert(session_id: int, threshold: int, now: datetime | None = None, *,
                       seats_available: int | None = None) -> tuple[str | None, str]:
    """Which availability alert a session deserves now: ("fully_booked", message),
    ("low_availability", message), or (None, "") when it has seats to spare, has
    started, was cancelled or is gone. `seats_available`, when the caller has just
    counted them, saves counting again."""
    now = now or utcnow()
    course_session = SessionRepository().get(session_id)
    if (course_session is None or course_session.starts_at <= now
            or course_session.status != SessionStatus.SCHEDULED):
        return None, ""
    if seats_available is None:
        seats_available = course_session.capacity - BookingRepository().seats_taken(session_id, now)
    available = max(0, seats_available)
    if available > threshold:
        return None, ""
    what = session_label(course_session.course.title, course_session.starts_at,
                         course_session.venue.town)
    if available == 0:
        return "fully_booked", f"{what} is fully booked ({course_session.capacity} seats)."
    seats = "1 seat" if available == 1 else f"{available} seats"
    return "low_availability", f"Only {seats} left of {course_session.capacity} on {what}."


def _alert_on_low_availability(session_id: int, threshold: int,
                               seats_available: int | None) -> None:
    """Raise the availability alert this session deserves (one per session while
    open, its count and message following the seats) and resolve the other."""
    kind, message = availability_alert(session_id, threshold, seats_available=seats_available)
    subject = f"session:{session_id}"
    alerts.resolve_alerts(tuple(k for k in AVAILABILITY_KINDS if k != kind), subject)
    if kind is not None:
        alerts.raise_alert(kind, message, severity=Severity.INFO, subject=subject)


def _is_postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_installed: "Installed[LiveAvailability]" = Installed("live availability hub")


def _live() -> "LiveAvailability | None":
    return _installed.get_or_none()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_NOTIFIED, None)
    pending = session.info.pop(_PENDING, None)
    if pending:
        live = _live()
        if live is not None:
            live.transport.publish(pending, committed_at=time.time())


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_NOTIFIED, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # A rolled-back savepoint took its NOTIFYs with it: allow sending them again.
    session.info.pop(_NOTIFIED, None)


# -- transports: how ids travel between processes --------------------------------------
Deliver = Callable[[object], None]  # a set of session ids, or _RESYNC


class Transport(Protocol):
    """Carries "these sessions changed" to the hub of every process."""

    in_transaction: bool  # True: announce with pg_notify; False: publish after commit

    def publish(self, session_ids: set[int], committed_at: float | None = None) -> None: ...
    def start(self, deliver: Deliver) -> None: ...
    def stop(self) -> None: ...


class LocalTransport:
    """One process (the embedded SQLite mode): straight to this process's hub."""

    in_transaction = False

    def __init__(self):
        self._deliver: Deliver | None = None

    def publish(self, session_ids: set[int], committed_at: float | None = None) -> None:
        if self._deliver is not None:
            self._deliver(ChangedIds(session_ids, committed_at))

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def stop(self) -> None:
        self._deliver = None


class PostgresTransport:
    """LISTEN/NOTIFY: sent in the transaction, delivered to every process on commit."""

    in_transaction = True

    def __init__(self, database_url: str):
        self._conninfo = pg_notify.conninfo_from_url(database_url)
        self.listener: pg_notify.PostgresListener | None = None

    def publish(self, session_ids: set[int], committed_at: float | None = None) -> None:
        """Nothing to do: the NOTIFYs went out with the commit."""

    def start(self, deliver: Deliver) -> None:
        def on_payload(payload: str) -> None:
            ids = parse_changed(payload)
            if ids:
                deliver(ids)

        def on_connect(reconnected: bool) -> None:
            if reconnected:
                deliver(_RESYNC)

        self.listener = pg_notify.PostgresListener(
            self._conninfo, CHANNEL, on_payload, on_connect=on_connect).start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()


def make_transport(config: Mapping) -> Transport:
    """REALTIME_TRANSPORT=auto|local|postgres|redis; auto picks PostgreSQL when the
    database is PostgreSQL, else Redis when REDIS_URL is set, else local."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    kind = (config.get("REALTIME_TRANSPORT") or "auto").lower()
    if kind == "auto":
        kind = ("postgres" if url.startswith("postgresql") else
                "redis" if config.get("REDIS_URL") else "local")
    if kind == "postgres":
        return PostgresTransport(url)
    if kind == "redis":
        from app.services.realtime.redis_pubsub import RedisTransport

        return RedisTransport(config["REDIS_URL"], CHANNEL, resync=_RESYNC)
    if kind == "local":
        return LocalTransport()
    raise ValueError(f"REALTIME_TRANSPORT must be auto, local, postgres or redis, got {kind!r}")


# -- the hub: one per process ------------------------------------------------------------
Render = Callable[[SeatState], str]


class LiveAvailability:
    """Subscribers, the transport and the dispatcher thread of one process.

    Created by `configure()` with no threads; they start with the first
    subscriber (`subscribe`), so commands, migrations and tests that never
    open a WebSocket never start any.
    """

    def __init__(self, settings: LiveSettings, transport: Transport, *,
                 app_context: Callable, render: Render):
        self.settings = settings
        self.transport = transport
        self.registry = SubscriberRegistry()
        self._app_context = app_context
        self._render = render
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started_pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._expiries: list[tuple[datetime, int]] = []  # heap of (hold expiry, session id)
        self.broadcasts = 0  # batches broadcast, for tests and metrics
        self._commit_times: list[float] = []  # of the changes in the batch being broadcast

    # -- life cycle ------------------------------------------------------------------
    def ensure_started(self) -> None:
        with self._lock:
            if self._started_pid == os.getpid():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._dispatch_loop, daemon=True,
                                            name="realtime-dispatcher")
            self._thread.start()
            self.transport.start(self._inbox.put)
            self._started_pid = os.getpid()

    @property
    def is_running(self) -> bool:
        """Whether this process started the dispatcher and the transport's listener."""
        return self._started_pid == os.getpid()

    def stop(self) -> None:
        with self._lock:
            if self._started_pid is None:
                return
            self._started_pid = None
            thread = self._thread
        self.transport.stop()
        self._stop.set()
        self._inbox.put(set())
        if thread is not None:
            thread.join(5)

    # -- subscribers ------------------------------------------------------------------
    def subscribe(self, rooms: Rooms, *, wakeup: threading.Event | None = None,
                  on_drop: Callable[[str], None] | None = None) -> Subscription:
        self.ensure_started()
        return self.registry.add(Subscription(rooms, limit=self.settings.queue_limit,
                                              wakeup=wakeup, on_drop=on_drop))

    def unsubscribe(self, subscription: Subscription) -> None:
        self.registry.remove(subscription)

    def snapshot(self, rooms: Rooms) -> str:
        """Every watched count as one message (call in an app context)."""
        states = room_states(rooms, limit=self.settings.snapshot_limit)
        self._schedule_expiries(states)
        return "".join(self._render(s) for s in states)

    def resync(self) -> None:
        """Re-read and resend every watched session."""
        self._inbox.put(_RESYNC)

    # -- the dispatcher thread ------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            ids, resync = self._next_batch()
            if self._stop.is_set():
                return
            self.registry.drop_stalled(self.settings.send_timeout_seconds)
            ids |= self._due_expiries()
            if (ids or resync) and len(self.registry):
                try:
                    self._broadcast(ids, resync)
                except Exception:  # the database may be down: the next change retries
                    metrics.REALTIME_DROPPED.labels(reason="broadcast_failed").inc()
                    log.exception("realtime broadcast failed")

    def _next_batch(self) -> tuple[set[int], bool]:
        ids: set[int] = set()
        resync = False
        self._commit_times = []
        try:
            item = self._inbox.get(timeout=self._wait_seconds())
        except queue.Empty:
            return ids, resync
        while True:
            if item == _RESYNC:
                resync = True
            else:
                ids |= item
                if getattr(item, "committed_at", None) is not None:
                    self._commit_times.append(item.committed_at)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return ids, resync

    def _broadcast(self, ids: set[int], resync: bool) -> None:
        with self._app_context():
            try:
                now = utcnow()
                if resync:
                    states = self._watched_states(now) + seat_states(ids, now=now)
                else:
                    states = seat_states(ids, now=now)
                items = [(s.target, self._render(s)) for s in states]
            finally:
                release_session()
        self._schedule_expiries(states)
        self.broadcasts += 1
        self.registry.publish(items)
        queued_at = time.time()
        for committed_at in self._commit_times:
            metrics.REALTIME_BROADCAST.observe(max(0.0, queued_at - committed_at))
        self._commit_times = []

    def _watched_states(self, now: datetime) -> list[SeatState]:
        session_ids, slugs, everything = self.registry.watched()
        limit = self.settings.snapshot_limit
        states = seat_states(session_ids, now=now)
        for slug in slugs:
            states += room_states(Rooms(course_slug=slug), limit=limit, now=now)
        if everything:
            states += room_states(Rooms(), limit=limit, now=now)
        return states

    # -- re-broadcast when holds lapse ------------------------------------------------------
    def _schedule_expiries(self, states: Iterable[SeatState]) -> None:
        with self._lock:
            for s in states:
                if s.next_hold_expiry is not None:
                    heapq.heappush(self._expiries, (s.next_hold_expiry, s.id))
            # Duplicates are harmless; keep the heap from growing without bound.
            if len(self._expiries) > 10_000:
                self._expiries = heapq.nsmallest(5_000, set(self._expiries))
                heapq.heapify(self._expiries)

    def _due_expiries(self) -> set[int]:
        now = datetime.now(timezone.utc)
        due: set[int] = set()
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                due.add(heapq.heappop(self._expiries)[1])
        return due

    def _wait_seconds(self) -> float:
        with self._lock:
            if not self._expiries:
                return 1.0
            until = (self._expiries[0][0] - datetime.now(timezone.utc)) / timedelta(seconds=1)
        return min(1.0, max(0.0, until + 0.01))


def configure(app, *, render: Render) -> LiveAvailability:
    """Attach live availability to an app (no threads yet); `render` turns a
    SeatState into its HTML fragment and runs inside an app context."""
    live = LiveAvailability(LiveSettings.from_config(app.config), make_transport(app.config),
                            app_context=app.app_context, render=render)
    app.extensions["realtime"] = live
    return _installed.install(live)


def live_availability() -> LiveAvailability:
    """This process's application's hub (configured by the web layer)."""
    live = _live()
    if live is None:
        raise RuntimeError("live availability is not configured for this app")
    return live
