"""A worker process that dies mid-way through a session message, for
tests/integration/test_session_messages.py.

    python tests/session_message_worker.py DATABASE_URL MAILDIR N
        delivers due events with the file mail transport and SIGKILLs itself as it
        is about to record the outcome of the Nth delivery: that recipient's email
        has gone out (and is recorded as sent), but the delivery is still leased
        and pending, so the next worker runs it again.

The restarted worker is ``python tests/worker_process.py drain DATABASE_URL MAILDIR``.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worker_process  # noqa: E402  (puts the project on sys.path too)
from app.services.background import dispatcher  # noqa: E402


def die_before_recording(database_url: str, maildir: str, nth: str) -> None:
    record = dispatcher._record_outcome
    calls = 0

    def record_or_die(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)
        return record(*args, **kwargs)

    dispatcher._record_outcome = record_or_die
    worker_process.drain(database_url, maildir)


if __name__ == "__main__":
    die_before_recording(*sys.argv[1:])
