"""Real worker processes: several at once never deliver an event twice, a worker
killed mid-send is made good by the next one exactly once, and
`flask --app wsgi worker` runs until SIGTERM."""
from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryStatus, OutboxDelivery, SentEmail, utcnow
from app.repositories import unit_of_work
from app.services.core import events
from notify_helpers import confirmed_booking, deliver_all

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "worker_process.py"
sys.path.insert(0, str(SCRIPT.parent))
import worker_process  # noqa: E402

pytestmark = pytest.mark.slow


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def emails_in(maildir: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(maildir.glob("*.eml"))]


@pytest.fixture
def race_handler():
    events.registry.register([events.Handler(worker_process.RACE_HANDLER,
                                             frozenset({worker_process.RACE_EVENT}),
                                             lambda e: None)])
    yield
    events.registry.unregister(worker_process.RACE_HANDLER)


def test_three_worker_processes_never_deliver_one_event_twice(app, database_url, backend,
                                                             race_handler, tmp_path):
    """On PostgreSQL the claim is FOR UPDATE SKIP LOCKED; on SQLite the lease's
    conditional UPDATE under the single writer lock. Both must hold."""
    total = 150
    with unit_of_work():
        for n in range(total):
            events.record_event(worker_process.RACE_EVENT, f"race-{n}", {"n": n})
    workers = [spawn("race", database_url, str(tmp_path), str(i)) for i in range(3)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in range(3)):
        assert time.monotonic() < deadline, [w.poll() for w in workers]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    results = [finish(w) for w in workers]
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr[-2000:] for r in results]

    lines = [line.split() for path in tmp_path.glob("delivered-*.txt")
             for line in path.read_text().splitlines()]
    per_event = Counter(event_id for event_id, _pid in lines)
    assert len(per_event) == total
    assert max(per_event.values()) == 1, [e for e, n in per_event.items() if n > 1]
    # The work really was shared, so the test did race.
    assert len({pid for _event, pid in lines}) >= 2
    db.session.expire_all()
    statuses = Counter(d.status for d in db.session.scalars(select(OutboxDelivery)))
    assert statuses == {DeliveryStatus.DELIVERED: total}


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_BACKEND": "app.services.messaging.mail_backend", "MAIL_FILE_PATH": str(tmp_path / "mail"),
            "OUTBOX_LEASE_SECONDS": worker_process.LEASE_SECONDS,
            "PUBLIC_BASE_URL": "https://book.reactfasttraining.co.uk"}


def test_a_worker_killed_mid_send_is_made_good_after_restart_exactly_once(app, database_url,
                                                                          tmp_path):
    maildir = tmp_path / "mail"
    booking = confirmed_booking(seats=1)

    crashed = finish(spawn("crash", database_url, str(maildir)))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert emails_in(maildir) == []
    db.session.expire_all()
    sent = db.session.scalars(select(SentEmail)).one()
    assert sent.status == "sending"  # the intent was committed before the send
    delivery = db.session.scalars(select(OutboxDelivery).where(
        OutboxDelivery.handler == "email.booking_confirmed")).one()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.locked_until > utcnow()  # still leased by the dead worker

    time.sleep(worker_process.LEASE_SECONDS + 0.5)  # the lease runs out
    restarted = finish(spawn("drain", database_url, str(maildir)))
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    deliver_all(now=utcnow() + timedelta(hours=1))  # and any later pass sends nothing more

    (message,) = emails_in(maildir)
    assert message["Subject"].endswith(f"(ref {booking.reference})")
    filenames = {part.get_filename() for part in message.walk() if part.get_filename()}
    assert filenames == {f"{booking.reference}.ics", f"receipt-{booking.reference}.pdf"}
    db.session.expire_all()
    assert db.session.scalars(select(SentEmail)).one().status == "sent"
    delivery = db.session.get(OutboxDelivery, delivery.id)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2


def test_flask_worker_command_delivers_and_stops_on_sigterm(app, database_url, tmp_path):
    maildir = tmp_path / "mail"
    booking = confirmed_booking(seats=1)
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "testing",
           "SECRET_KEY": "test-secret", "MAIL_BACKEND": "file", "MAIL_FILE_PATH": str(maildir),
           "INSTANCE_PATH": str(tmp_path / "instance"), "WORKER_POLL_SECONDS": "1",
           "SEED_DEMO": "0"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(maildir.glob("*.eml")):
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the worker sent no email"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]
    (message,) = emails_in(maildir)
    assert booking.reference in message["Subject"]
