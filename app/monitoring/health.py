"""Readiness: should the load balancer send this process traffic right now?

Checks, each answering ``ok``, ``fail`` or ``unknown`` (could not be read):

* ``database``: a new connection answers ``SELECT 1``.
* ``migrations``: the database's Alembic revision is the head of the
  migration scripts (this code's schema).
* ``outbox``: the oldest pending outbox delivery is younger than
  ``READY_OUTBOX_LAG_SECONDS`` (it also reports pending and dead counts).
* ``broadcaster``: the live-availability listener (PostgreSQL LISTEN or Redis
  pub/sub) is connected; the in-process hub always is, and a process whose
  hub has not started (no WebSocket yet) has nothing to be connected.
* ``breakers``: every payment circuit breaker is closed.

A check named in ``READY_REQUIRED_CHECKS`` (default ``database,migrations``)
that is not ``ok`` makes the process *unavailable* (HTTP 503: take it out of
the pool). Any other check that is not ``ok`` only makes it *degraded*
(HTTP 200): an open payment breaker, a slow worker or Redis being away
affect every instance alike, and taking them all out of the load balancer
would turn a partial outage into a total one.

Database checks run on a connection of their own (no pool, connect and
statement timeouts) in a helper thread the request waits for at most
``READY_TIMEOUT_SECONDS``, so a dead or hung database answers "fail"
quickly instead of holding the probe.
"""
from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from app.config import READY_CHECKS, parse_ready_checks
from app.models import DeliveryStatus, OutboxDelivery, OutboxEvent, utcnow

CHECKS = READY_CHECKS  # in the order the detail lists them
DEFAULT_REQUIRED = ("database", "migrations")
OK, FAIL, UNKNOWN = "ok", "fail", "unknown"
READY, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"


@dataclass(frozen=True)
class HealthSettings:
    outbox_lag_seconds: float = 600.0
    timeout_seconds: float = 2.0
    required: frozenset[str] = frozenset(DEFAULT_REQUIRED)

    @classmethod
    def from_config(cls, config: Mapping) -> "HealthSettings":
        return cls(
            outbox_lag_seconds=float(config.get("READY_OUTBOX_LAG_SECONDS", 600)),
            timeout_seconds=float(config.get("READY_TIMEOUT_SECONDS", 2)),
            required=parse_ready_checks(config.get("READY_REQUIRED_CHECKS", DEFAULT_REQUIRED)),
        )


@dataclass(frozen=True)
class Readiness:
    """The outcome of one round of checks; `checks` maps a check's name to its figures."""

    status: str
    checks: dict[str, dict]
    required: frozenset[str]
    checked_at: datetime = field(default_factory=utcnow)

    @property
    def is_ready(self) -> bool:
        return self.status != UNAVAILABLE

    @property
    def http_status(self) -> int:
        return 200 if self.is_ready else 503

    def public(self) -> dict:
        return {"status": self.status}

    def detail(self) -> dict:
        return {"status": self.status, "checks": self.checks, "required": sorted(self.required),
                "checked_at": self.checked_at.isoformat()}


def overall_status(checks: Mapping[str, Mapping], required: Iterable[str]) -> str:
    required = set(required)
    failing = {name for name, check in checks.items() if check["status"] != OK}
    if failing & required:
        return UNAVAILABLE
    return DEGRADED if failing else READY


# -- migrations ----------------------------------------------------------------------------
@lru_cache(maxsize=8)
def script_heads(migrations_dir: str) -> frozenset[str]:
    """The head revision(s) of the migration scripts, read once per process."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions(conn: Connection) -> frozenset[str]:
    """The revision(s) stamped in the database; empty when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(conn).get_current_heads())


# -- a connection that cannot hang -------------------------------------------------------
def probe_engine(url: URL, timeout_seconds: float) -> Engine:
    """An engine for checks alone: a fresh connection each time (no pool to be
    stale or exhausted), with connect and statement timeouts. A SQLite file is
    opened read-write but never created, so a missing file fails the check."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        millis = max(1, int(timeout_seconds * 1000))
        return create_engine(url, poolclass=NullPool, connect_args={
            # libpq's connect_timeout is whole seconds, at least 2.
            "connect_timeout": max(2, math.ceil(timeout_seconds)),
            "options": f"-c statement_timeout={millis} -c lock_timeout={millis}",
            "application_name": "booking-health",
        })
    if backend == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        uri = "file:" + urllib.parse.quote(os.path.abspath(url.database)) + "?mode=rw"
        return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
            uri, uri=True, timeout=timeout_seconds, check_same_thread=False))
    return create_engine(url, poolclass=NullPool)


_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _submit(fn: Callable, *args) -> Future:
    """Run `fn` on this process's check threads (made after a fork, never inherited)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=4,
                                                     thread_name_prefix="health-check"))
        return _pool[1].submit(fn, *args)


def _error(exc: BaseException) -> str:
    """A short, secret-free description (never the connection string)."""
    return exc.__class__.__name__


# -- the checks ---------------------------------------------------------------------------
def _database_checks(engine: Engine, heads: frozenset[str] | Exception,
                     lag_limit: float, now: datetime) -> dict[str, dict]:
    checks: dict[str, dict] = {}
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        checks["database"] = {"status": OK, "backend": engine.dialect.name,
                              "seconds": round(time.perf_counter() - started, 4)}
        try:
            if isinstance(heads, Exception):
                raise heads
            current, wanted = database_revisions(conn), heads
            checks["migrations"] = {"status": OK if current == wanted else FAIL,
                                    "current": sorted(current), "head": sorted(wanted)}
        except Exception as exc:  # a database without alembic_version, a broken script dir
            checks["migrations"] = {"status": UNKNOWN, "error": _error(exc)}
        try:
            checks["outbox"] = outbox_figures(conn, lag_limit, now)
        except Exception as exc:  # tables not there yet (not migrated)
            checks["outbox"] = {"status": UNKNOWN, "error": _error(exc)}
    return checks


def outbox_figures(conn: Connection, lag_limit: float, now: datetime) -> dict:
    """Pending deliveries, the age of the oldest pending one, and dead letters."""
    pending, oldest = conn.execute(
        select(func.count(), func.min(OutboxEvent.created_at))
        .select_from(OutboxDelivery)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(OutboxDelivery.status == DeliveryStatus.PENDING)).one()
    dead = conn.execute(select(func.count()).select_from(OutboxDelivery)
                        .where(OutboxDelivery.status == DeliveryStatus.DEAD)).scalar_one()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return {"status": OK if age <= lag_limit else FAIL, "pending": pending,
            "oldest_pending_seconds": round(age, 1), "dead": dead,
            "threshold_seconds": lag_limit}


def breaker_check() -> dict:
    from app.services.payments.runtime import breaker_states

    states = breaker_states()
    return {"status": OK if all(s == "closed" for s in states.values()) else FAIL,
            "states": states}


def broadcaster_check() -> dict:
    """Whether this process's live-availability listener is connected."""
    from app.services.realtime import announce

    try:
        live = announce.live_availability()
    except RuntimeError:
        return {"status": OK, "transport": "none", "state": "not configured"}
    transport = live.transport
    kind = {"LocalTransport": "local", "PostgresTransport": "postgres",
            "RedisTransport": "redis"}.get(type(transport).__name__, type(transport).__name__)
    if isinstance(transport, announce.LocalTransport):
        return {"status": OK, "transport": kind, "state": "connected"}
    if not live.is_running:
        return {"status": OK, "transport": kind, "state": "idle"}
    # PostgresTransport keeps the flag on its listener, RedisTransport on itself.
    listener = getattr(transport, "listener", None) or transport
    connected = getattr(listener, "connected", None)
    is_connected = bool(connected is not None and connected.is_set())
    return {"status": OK if is_connected else FAIL, "transport": kind,
            "state": "connected" if is_connected else "disconnected"}


class HealthProbe:
    """The readiness checks of one application (see the module docstring)."""

    def __init__(self, settings: HealthSettings, database_url: URL | str, migrations_dir: str, *,
                 breakers: Callable[[], dict] = breaker_check,
                 broadcaster: Callable[[], dict] = broadcaster_check):
        self.settings = settings
        self._url = database_url
        self._migrations_dir = os.path.abspath(migrations_dir)
        self._breakers = breakers
        self._broadcaster = broadcaster
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                url = self._url if isinstance(self._url, URL) else _make_url(self._url)
                self._engine = probe_engine(url, self.settings.timeout_seconds)
            return self._engine

    def _script_heads(self) -> frozenset[str] | Exception:
        """The scripts' heads, or the error reading them (reported by the migrations check)."""
        try:
            return script_heads(self._migrations_dir)
        except Exception as exc:  # a broken deployment: report it, do not crash the probe
            return exc

    def readiness(self, now: datetime | None = None) -> Readiness:
        now = now or utcnow()
        heads = self._script_heads()  # local files, read once: outside the deadline
        timeout = self.settings.timeout_seconds
        deadline = time.monotonic() + timeout
        database = _submit(_database_checks, self.engine, heads,
                           self.settings.outbox_lag_seconds, now)
        breakers = _submit(self._breakers)
        checks: dict[str, dict] = {}
        try:
            checks.update(database.result(timeout=max(0.0, deadline - time.monotonic())))
        except FutureTimeout:
            database.cancel()
            checks["database"] = {"status": FAIL, "error": f"no answer within {timeout:g}s"}
        except Exception as exc:
            checks["database"] = {"status": FAIL, "error": _error(exc)}
        for name in ("migrations", "outbox"):
            checks.setdefault(name, {"status": UNKNOWN, "error": "database unavailable"})
        try:
            checks["breakers"] = breakers.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            breakers.cancel()
            checks["breakers"] = {"status": UNKNOWN, "error": f"no answer within {timeout:g}s"}
        except Exception as exc:
            checks["breakers"] = {"status": UNKNOWN, "error": _error(exc)}
        try:
            checks["broadcaster"] = self._broadcaster()
        except Exception as exc:
            checks["broadcaster"] = {"status": UNKNOWN, "error": _error(exc)}
        checks = {name: checks[name] for name in CHECKS}
        return Readiness(overall_status(checks, self.settings.required), checks,
                         self.settings.required, now)

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _make_url(value: str) -> URL:
    from sqlalchemy.engine import make_url

    return make_url(value)


def init_app(app) -> HealthProbe:
    """Build the app's probe from its config and database (app.extensions["health"])."""
    from app.extensions import db

    with app.app_context():
        url = db.engine.url
    probe = HealthProbe(HealthSettings.from_config(app.config), url,
                        app.extensions["migrate"].directory)
    app.extensions["health"] = probe
    return probe
