"""PostgreSQL LISTEN/NOTIFY: carries "seats changed on session N" between processes.

Sending is `notify()` inside the writing transaction: PostgreSQL delivers a
NOTIFY only when that transaction commits, and drops it on rollback, so the
database itself guarantees "after commit, never for a rolled-back change".

Receiving is one `PostgresListener` thread per process on its own autocommit
connection (not from the SQLAlchemy pool). When the connection is lost (a
database restart, a network blip) it reconnects with exponential backoff and
jitter, and reports the reconnect so the caller can resend every watched
count: notifications sent while it was away are lost by design of NOTIFY.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

APPLICATION_NAME = "booking-realtime-listener"  # how it shows in pg_stat_activity

# TCP keepalives notice a silently dead server within about a minute.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
               "keepalives_count": 3}


def notify(session: Session, channel: str, payload: str) -> None:
    """Queue a notification in the session's transaction (sent on commit only)."""
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": channel, "payload": payload})


def conninfo_from_url(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (drops the '+psycopg')."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresListener:
    """LISTENs on one channel in a daemon thread and hands each payload on."""

    def __init__(self, conninfo: str, channel: str, on_payload: Callable[[str], None], *,
                 on_connect: Callable[[bool], None] | None = None,
                 min_backoff: float = 0.1, max_backoff: float = 5.0, health_check: float = 30.0):
        self._conninfo = conninfo
        self._channel = channel
        self._on_payload = on_payload
        self._on_connect = on_connect or (lambda reconnected: None)
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._health_check = health_check
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.connections = 0  # how many times it has (re)connected

    def start(self) -> "PostgresListener":
        self._thread = threading.Thread(target=self._run, name="realtime-pg-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5,
                                       application_name=APPLICATION_NAME, **_KEEPALIVES)
            except psycopg.Error as exc:
                failures += 1
                delay = self._backoff(failures)
                log.warning("realtime listener cannot connect (%s); retrying in %.1fs",
                            exc.__class__.__name__, delay)
                self._stop.wait(delay)
                continue
            try:
                with conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    failures = 0
                    self.connections += 1
                    self.connected.set()
                    self._on_connect(self.connections > 1)
                    self._listen(conn)
            except psycopg.Error as exc:
                log.warning("realtime listener lost its connection (%s); reconnecting",
                            exc.__class__.__name__)
            finally:
                self.connected.clear()

    def _listen(self, conn: psycopg.Connection) -> None:
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            for notification in conn.notifies(timeout=0.25):
                quiet_since = time.monotonic()
                try:
                    self._on_payload(notification.payload)
                except Exception:  # a bad payload must not kill the listener
                    log.exception("realtime listener could not handle %r", notification.payload)
            if time.monotonic() - quiet_since > self._health_check:
                conn.execute("SELECT 1")  # raises if the server went away quietly
                quiet_since = time.monotonic()

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._max_backoff, self._min_backoff * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)
