"""A worker in a process of its own, for tests/integration/test_worker_processes.py.

    python tests/worker_process.py race  DATABASE_URL WORKDIR INDEX
        waits for WORKDIR/go, then delivers RaceProbe events until none are left;
        the handler appends "<event id> <pid>" to WORKDIR/delivered-INDEX.txt.
    python tests/worker_process.py crash DATABASE_URL MAILDIR
        delivers due events; the mail transport SIGKILLs the process mid-send.
    python tests/worker_process.py drain DATABASE_URL MAILDIR
        delivers everything due, then exits (a restarted worker).
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import DeliveryStatus, OutboxDelivery  # noqa: E402
from app.services.background import dispatcher
from app.services.core import events  # noqa: E402

RACE_EVENT = "RaceProbe"
RACE_HANDLER = "test.race.record"
# Long enough that a loaded machine still finishes the crash worker's claim-render-send
# inside the lease (the test checks it is still leased), short enough to wait out.
LEASE_SECONDS = 8
# The racers never wait a lease out: a batch taking longer than its lease would be
# handed on by design (at-least-once), which is not the race under test.
RACE_LEASE_SECONDS = 120


def make_app(database_url: str, **overrides):
    return create_app({
        "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url, "PAYMENT_PROVIDER": "fake",
        "SEED_DEMO": False, "RUN_WORKER_IN_PROCESS": False,
        "PUBLIC_BASE_URL": "https://book.reactfasttraining.co.uk",
        "OUTBOX_LEASE_SECONDS": LEASE_SECONDS, "OUTBOX_BATCH_SIZE": 5, **overrides})


def register_race_handler(out: Path) -> None:
    def record(event):
        with open(out, "a", encoding="ascii") as fh:
            fh.write(f"{event.id} {os.getpid()}\n")
        time.sleep(0.005)

    events.registry.register([events.Handler(RACE_HANDLER, frozenset({RACE_EVENT}), record)])


def pending_count() -> int:
    return db.session.query(OutboxDelivery).filter(
        OutboxDelivery.status == DeliveryStatus.PENDING).count()


def race(database_url: str, workdir: str, index: str) -> None:
    work = Path(workdir)
    register_race_handler(work / f"delivered-{index}.txt")
    app = make_app(database_url, MAIL_BACKEND="locmem", OUTBOX_LEASE_SECONDS=RACE_LEASE_SECONDS)
    policy = dispatcher.DispatchPolicy.from_config(app.config)
    worker = dispatcher.new_worker_id()
    (work / f"ready-{index}").touch()
    while not (work / "go").exists():
        time.sleep(0.01)
    with app.app_context():
        idle = 0
        while idle < 3:
            result = dispatcher.dispatch_pending(worker, policy, max_batches=1)
            db.session.remove()
            if result.claimed:
                idle = 0
            elif pending_count() == 0:
                idle += 1
            else:
                time.sleep(0.02)
            db.session.remove()


def crash(database_url: str, maildir: str) -> None:
    from app.services.messaging import mail_backend

    def die_mid_send(self, messages):
        os.kill(os.getpid(), signal.SIGKILL)

    mail_backend.EmailBackend.send_messages = die_mid_send
    drain(database_url, maildir)


def drain(database_url: str, maildir: str) -> None:
    app = make_app(database_url, MAIL_BACKEND="app.services.messaging.mail_backend",
                   MAIL_FILE_PATH=maildir)
    with app.app_context():
        dispatcher.dispatch_pending(dispatcher.new_worker_id(),
                                    dispatcher.DispatchPolicy.from_config(app.config))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"race": race, "crash": crash, "drain": drain}[mode](*args)
