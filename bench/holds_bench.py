"""Holds per second: N concurrent API clients against gunicorn on PostgreSQL.

Starts a throwaway PostgreSQL (tests/pg_server.py), migrates it, creates
sessions, starts gunicorn, then has CLIENTS threads POST /api/v1/bookings for
DURATION seconds (each request holds 1 seat). Reports holds/s, latency
percentiles and how many requests failed.

    .venv/bin/python bench/holds_bench.py [--clients 50] [--duration 20]
        [--workers 2] [--threads 16] [--sessions 1|50] [--database postgresql|sqlite]

--sessions 1 puts every client on one session (worst-case contention on one
row lock); more spreads them out as real traffic would be.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import PostgresServer, free_port  # noqa: E402


def prepare_database(url: str, sessions: int) -> list[int]:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Course, CourseSession, Venue, utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO": False})
    with app.app_context():
        upgrade()
        course = Course(slug="bench", title="Bench course", category="Bench", duration_hours=6,
                        price_pence=10000)
        venue = Venue(name="Bench hall", address_line1="1 Road", town="Leeds", postcode="LS1 4AP")
        starts = utcnow() + timedelta(days=30)
        rows = [CourseSession(course=course, venue=venue, starts_at=starts,
                              ends_at=starts + timedelta(hours=6), capacity=1_000_000)
                for _ in range(sessions)]
        db.session.add_all(rows)
        db.session.commit()
        ids = [r.id for r in rows]
        db.engine.dispose()
    return ids


def body(session_id: int, i: int) -> bytes:
    return json.dumps({
        "session_id": session_id,
        "contact": {"name": "Bench Client", "email": f"bench{i}@example.com",
                    "phone": "07700 900123", "postcode": "LS1 4AP", "company": ""},
        "attendees": [{"name": "Bench Learner", "email": ""}],
        "accept_terms": True,
    }).encode()


def run_clients(base: str, session_ids: list[int], clients: int, duration: float):
    latencies: list[float] = []
    failures: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client(n: int):
        i = 0
        while time.monotonic() < deadline:
            i += 1
            sid = session_ids[(n + i) % len(session_ids)]
            req = urllib.request.Request(f"{base}/api/v1/bookings", data=body(sid, i),
                                         headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    ok = resp.status == 201
                    key = str(resp.status)
            except urllib.error.HTTPError as exc:
                ok, key = False, str(exc.code)
            except OSError as exc:
                ok, key = False, type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    failures[key] = failures.get(key, 0) + 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures, time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()

    server = None
    if args.database == "postgresql":
        server = PostgresServer().start()
        url = server.create_database("bench")
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    session_ids = prepare_database(url, args.sessions)

    port = free_port()
    # Production-like: no in-process outbox worker competing for the two cores.
    env = dict(os.environ, DATABASE_URL=url, SEED_DEMO="0", PORT=str(port),
               WEB_CONCURRENCY=str(args.workers), GUNICORN_THREADS=str(args.threads),
               RUN_WORKER_IN_PROCESS="0", GUNICORN_ACCESS_LOG="")
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null",
         "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/live", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        latencies, failures, elapsed = run_clients(base, session_ids, args.clients, args.duration)
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)
        if server:
            server.destroy()

    print(f"database={args.database} workers={args.workers} threads={args.threads} "
          f"clients={args.clients} sessions={args.sessions} duration={elapsed:.1f}s")
    if latencies:
        print(f"holds: {len(latencies)}  holds/s: {len(latencies) / elapsed:.0f}")
        print("latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  max {:.1f}  mean {:.1f}".format(
            *(1000 * percentile(latencies, p) for p in (50, 95, 99, 100)),
            1000 * statistics.mean(latencies)))
    print(f"failed requests: {failures or 0}")


if __name__ == "__main__":
    main()
