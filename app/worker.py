"""The background worker: the outbox dispatcher and the job scheduler in one loop.

Production runs ``flask --app wsgi worker`` processes, as many as wanted:
deliveries are claimed with SKIP LOCKED / leases and jobs with JobRun slots,
so workers never do one piece of work twice (see app.services.background.dispatcher
and app.services.background.scheduler). In the embedded mode each gunicorn process
starts the same loop in a daemon thread (gunicorn.conf.py, when
RUN_WORKER_IN_PROCESS is on); several of those are just as safe.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field

from flask import Flask

from app.extensions import db
from app.models import utcnow
from app.services.background import dispatcher, scheduler

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """One dispatcher + scheduler loop; `stop()` ends it after the current step."""

    app: Flask
    run_scheduler: bool = True
    worker_id: str = field(default_factory=dispatcher.new_worker_id)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        config = self.app.config
        self.policy = dispatcher.DispatchPolicy.from_config(config)
        self.poll_seconds = max(0.05, float(config["WORKER_POLL_SECONDS"]))
        self.tick_seconds = max(1.0, float(config["SCHEDULER_TICK_SECONDS"]))
        self._next_tick = 0.0

    def stop(self) -> None:
        self.stop_event.set()

    def run_once(self) -> dispatcher.DispatchResult:
        """One pass: deliver what is due, then run the jobs if a tick is due."""
        with self.app.app_context():
            try:
                result = dispatcher.dispatch_pending(self.worker_id, self.policy)
                if self.run_scheduler and time.monotonic() >= self._next_tick:
                    self._next_tick = time.monotonic() + self.tick_seconds
                    for outcome in scheduler.run_due_jobs(self.app.config):
                        if outcome.status != "skipped":
                            log.info("job %s (%s): %s %s", outcome.job, outcome.slot,
                                     outcome.status, outcome.result)
                return result
            finally:
                db.session.remove()

    def run_forever(self) -> None:
        log.info("worker %s started (scheduler %s)", self.worker_id,
                 "on" if self.run_scheduler else "off")
        while not self.stop_event.is_set():
            try:
                result = self.run_once()
            except Exception:  # e.g. the database is restarting: wait and go on
                log.exception("worker %s: pass failed; retrying", self.worker_id)
                result = None
            if result is None or result.claimed == 0:
                self.stop_event.wait(self.poll_seconds)
        log.info("worker %s stopped", self.worker_id)


def run_until_terminated(app: Flask, *, run_scheduler: bool = True) -> None:
    """Run a worker in this (main) thread until SIGTERM or SIGINT."""
    worker = Worker(app, run_scheduler=run_scheduler)

    def _stop(signum, _frame):
        log.info("worker %s: signal %s, stopping after the current step", worker.worker_id,
                 signum)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.run_forever()


def start_in_process_worker(app: Flask) -> Worker | None:
    """Start the worker in a daemon thread if RUN_WORKER_IN_PROCESS is on (never in tests)."""
    if not app.config.get("RUN_WORKER_IN_PROCESS") or app.testing:
        return None
    worker = Worker(app)
    thread = threading.Thread(target=worker.run_forever, name="outbox-worker", daemon=True)
    thread.start()
    log.info("in-process worker started at %s", utcnow().isoformat(timespec="seconds"))
    return worker
