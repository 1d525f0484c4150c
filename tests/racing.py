"""Real threads released together against a real database: the one helper every
concurrency test races with."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db


def race(app, n, attempt):
    """Run `attempt(i)` in n threads released together; returns results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                return attempt(i)
            except Exception as exc:  # collected and asserted on by the test
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
