"""Feeds the traffic window (app.services.oversight.traffic) from this process's requests.

An ``after_request`` hook adds every finished request to the process's
in-memory `TrafficTally` (method, URL rule, status, duration, and the category
and severity of the error when the error handler classified one). A daemon
thread adds the tally to the shared ``traffic_minutes`` tables every
``TRAFFIC_FLUSH_SECONDS`` (default 10; 0 = no thread, as in tests, which call
`flush_traffic`), in its own app context and transaction, and once more when
the process exits. A failed write keeps the figures for the next flush (memory
bounded, oldest minutes dropped first); recording never fails a request.

Not counted: ``/metrics`` and ``/health/*`` (scrapes and load-balancer probes
would swamp the figures and hide real traffic) and WebSocket upgrades (their
"duration" is how long a page stayed open, not a response time).

The thread starts with the first request a process serves, never at import or
in create_app: under gunicorn that is inside the worker, after the fork (a
thread started in the master would not exist in the workers).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask, current_app, g, request

from app.models.types import utcnow
from app.monitoring.http_metrics import route_label
from app.repositories.base import release_session
from app.services.oversight.traffic import TrafficTally, record_traffic

logger = logging.getLogger(__name__)

EXTENSION_KEY = "traffic_recorder"


def is_counted(path: str, headers) -> bool:
    """False for the paths left out of the figures (see the module docstring)."""
    if path == "/metrics" or path == "/health" or path.startswith("/health/"):
        return False
    return headers.get("Upgrade", "").lower() != "websocket"


class TrafficRecorder:
    """One per app and process: the tally, and the thread that stores it."""

    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self.tally = TrafficTally()
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    def observe(self, *, method: str, route: str, status: int, seconds: float,
                error=None) -> None:
        self._ensure_thread()
        self.tally.record(at=utcnow(), method=method, route=route, status=status,
                          seconds=seconds, category=getattr(error, "category", None),
                          severity=getattr(error, "severity", None))

    def flush(self) -> int:
        """Store the tally now; returns the number of requests stored (0 on failure,
        when the figures are kept for the next flush)."""
        taken = self.tally.take()
        if not taken:
            return 0
        try:
            with self.app.app_context():
                try:
                    return record_traffic(taken)
                finally:
                    release_session()
        except Exception:
            self.tally.give_back(taken)
            logger.warning("traffic figures not stored; kept for the next flush "
                           "(%d minute rows waiting)", len(self.tally), exc_info=True)
            return 0

    def stop(self) -> None:
        self._stop.set()

    def _ensure_thread(self) -> None:
        if self.interval <= 0 or self._pid == os.getpid():
            return
        with self._start_lock:
            pid = os.getpid()
            if self._pid == pid:
                return
            if self._pid is not None:  # forked after starting: the parent's figures stay there
                self.tally = TrafficTally()
            self._pid = pid
            self._stop = threading.Event()
            threading.Thread(target=self._run, args=(self._stop,), name="traffic-flush",
                             daemon=True).start()
            atexit.register(self._flush_at_exit, pid)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.flush()

    def _flush_at_exit(self, pid: int) -> None:
        if os.getpid() == pid:
            self._stop.set()
            self.flush()


def recorder_of(app: Flask) -> TrafficRecorder:
    return app.extensions[EXTENSION_KEY]


def flush_traffic(app: Flask | None = None) -> int:
    """Store `app`'s (default: the current app's) tally now (tests, shutdown hooks)."""
    return recorder_of(app or current_app._get_current_object()).flush()


def init_app(app: Flask) -> None:
    recorder = TrafficRecorder(app, float(app.config.get("TRAFFIC_FLUSH_SECONDS", 10)))
    app.extensions[EXTENSION_KEY] = recorder

    def start_clock() -> None:
        g.traffic_started = time.perf_counter()

    def count_request(response):
        try:
            if is_counted(request.path, request.headers):
                started = g.get("traffic_started")
                recorder.observe(
                    method=request.method,
                    route=route_label(),
                    status=response.status_code,
                    seconds=time.perf_counter() - started if started is not None else 0.0,
                    error=getattr(g, "error", None))
        except Exception:
            logger.warning("request not added to the traffic figures", exc_info=True)
        return response

    # First, so the clock also covers the other hooks (and runs when one of them
    # answers the request itself, e.g. a rate limit).
    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)
    app.after_request(count_request)
