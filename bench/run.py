"""`make bench`: the production set-up on loopback, every scenario, one report.

Starts PostgreSQL as the tests do (tests/pg_server.py), migrates it, loads the
demo data (`flask seed-demo`), raises every scheduled session's capacity (so
holds never run out during a run), ANALYZEs; then the fake Stripe server
(tests/fakes/stripe_server.py), gunicorn with gunicorn.conf.py (WORKERS
processes of GUNICORN_THREADS threads, as in production) and one `flask worker`
for the outbox. The bare Flask route (bench/bare_app.py) runs under the same
gunicorn settings, and the embedded set-up (SQLite, the worker inside the web
processes, the fake payment provider) for scenario (f).

APP_ENV is development: production refuses RATELIMIT_ENABLED=false (rate limits
would answer most of a load test with 429) and wants a real host name. What
production changes besides is set here by hand: a fixed SECRET_KEY, card
payments through Stripe (the fake server), the outbox worker in its own
process. The per-client hold limits are off too (every request comes from
127.0.0.1), and WebSocket admission allows 1,000 subscribers from one address.

Scenarios (README "Performance"): (a) bare route, (b) pages and API reads, with
and without `Connection: close`, (c) holds across sessions, (d) holds on one
session, (e) the 50-user mix (bench/mix.py), (f) SQLite, (g) WebSocket latency
with 1,000 subscribers while (c) runs, (h) resident memory per process. wrk is
the load generator (bench/wrk/*.lua). Every scenario ends with a check of the
database (bench/checks.py). Results: bench/results/latest.json and latest.md.

Settings (environment): BENCH_DURATION seconds per run (10), BENCH_CONNECTIONS
(50), BENCH_WORKERS (2), BENCH_THREADS (gunicorn threads, 1000),
BENCH_SUBSCRIBERS (1000), BENCH_ONLY (comma-separated letters, e.g. "a,b").
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(BENCH))

from gunicorn_server import GunicornServer  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "1000"))
SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "1000"))
ONLY = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
RESULTS = BENCH / "results"
CAPACITY = 1_000_000
RUN_ID = str(int(time.time()))
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnop"


def wanted(letter: str) -> bool:
    return not ONLY or letter in ONLY


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the set-up -------------------------------------------------------------------------------
def flask(env: dict, *args: str) -> str:
    result = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args], cwd=ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def make_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO": False})


def prime(app) -> dict:
    """Raise capacity on every scheduled future session and add the WebSocket
    scenario's session; ANALYZE. Returns the session ids the scenarios use."""
    from datetime import timedelta

    from sqlalchemy import select, text, update

    from app.extensions import db
    from app.models import Course, CourseSession, SessionStatus, Venue, utcnow

    with app.app_context():
        now = utcnow()
        scheduled = (CourseSession.status == SessionStatus.SCHEDULED) & (CourseSession.starts_at > now)
        db.session.execute(update(CourseSession).where(scheduled).values(capacity=CAPACITY))
        # Sessions anyone may book with a name and email alone: listed, and not of a
        # requalification course (those ask each attendee's certificate expiry).
        ids = db.session.scalars(
            select(CourseSession.id).join(CourseSession.course)
            .where(scheduled, CourseSession.is_listed, Course.requalifies_course_id.is_(None))
            .order_by(CourseSession.starts_at)).all()
        course = db.session.scalars(select(Course).order_by(Course.id)).first()
        venue = db.session.scalars(select(Venue).order_by(Venue.id)).first()
        starts = now + timedelta(days=400)  # after the calendar's pages the bench reads
        ws_session = CourseSession(course=course, venue=venue, starts_at=starts,
                                   ends_at=starts + timedelta(hours=6), capacity=CAPACITY)
        db.session.add(ws_session)
        db.session.commit()
        ws_session_id = ws_session.id
        slugs = db.session.scalars(select(Course.slug).order_by(Course.id)).all()
        towns = db.session.scalars(select(Venue.town).order_by(Venue.id)).all()
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            else:
                conn.execute(text("ANALYZE"))
                conn.commit()
        db.session.remove()
    return {"sessions": ids, "ws_session": ws_session_id, "slugs": slugs, "towns": towns}


def warm(base: str, paths: list[str]) -> None:
    """A few requests per path in each process first: templates compiled, pools open."""
    for path in paths:
        for _ in range(4):
            try:
                urllib.request.urlopen(base + path, timeout=30).read()
            except OSError:
                pass


class Process:
    """A helper process of the bench (fake Stripe, the outbox worker)."""

    def __init__(self, args: list[str], env: dict, log_path: str):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env},
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)

    def first_line(self) -> str:
        return self.proc.stdout.readline().decode().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


# -- measuring --------------------------------------------------------------------------------
def wrk(url: str, *, script: str = "get.lua", close: bool = False, env: dict | None = None,
        duration: int = DURATION, connections: int = CONNECTIONS) -> dict:
    """One wrk run (2 threads); its figures plus the CPU wrk itself used."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-s", str(BENCH / "wrk" / script)]
    if close:
        cmd += ["-H", "Connection: close"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(cmd + [url], capture_output=True, text=True,
                            env={**os.environ, "BENCH_WRK_OUT": out,
                                 "BENCH_WRK_DIR": str(BENCH / "wrk"), "BENCH_RUN_ID": RUN_ID,
                                 **(env or {})})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        figures = json.loads(Path(out).read_text())
    except (OSError, ValueError):
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}") from None
    finally:
        Path(out).unlink(missing_ok=True)
    errors = figures["errors"]
    errors["total"] = sum(errors.values())
    figures["ok_rps"] = round((figures["requests"] - errors["status"]) / figures["duration_s"], 2)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    figures["client_cpu_share"] = round(cpu / figures["duration_s"], 3)
    figures["connection"] = "close" if close else "keep-alive"
    return figures


def rss(pids: list[int]) -> list[dict]:
    rows = []
    for pid in pids:
        try:
            status = dict(line.split(":", 1) for line in
                          Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        rows.append({"pid": pid, "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
                     "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
                     "threads": int(status["Threads"])})
    return rows


def memory_of(server: GunicornServer) -> dict:
    return {"master": rss([server.process.pid]), "workers": rss(server.worker_pids())}


# -- scenario (g): WebSocket latency while holds run -------------------------------------------
def websocket_latency(server: GunicornServer, app, ws_session: int, hold_ids: list[int]) -> dict:
    from ws_latency import book_one, client_process

    clients = []
    try:
        procs = 2
        share = [SUBSCRIBERS // procs] * procs
        share[0] += SUBSCRIBERS - sum(share)
        started = time.monotonic()
        for count in share:
            parent, child = mp.Pipe()
            proc = mp.Process(target=client_process, args=(server.port, ws_session, count, child))
            proc.start()
            clients.append((proc, parent))
        for proc, pipe in clients:
            if not pipe.poll(180) or pipe.recv() != "ready":
                raise RuntimeError("WebSocket subscribers did not connect")
        connect_s = time.monotonic() - started
        load: dict = {}
        holds = threading.Thread(target=lambda: load.update(wrk(
            server.http_url, script="holds.lua",
            env={"BENCH_SESSION_IDS": ",".join(map(str, hold_ids))})))
        committed: dict[int, float] = {}
        seats_left = CAPACITY
        with app.app_context():
            for _ in range(2):  # warm-up, not measured
                book_one(ws_session)
                seats_left -= 1
            holds.start()
            time.sleep(1)
            stop_at = time.monotonic() + DURATION - 2
            while time.monotonic() < stop_at:
                at = book_one(ws_session)
                seats_left -= 1
                committed[seats_left] = at
                time.sleep(0.5)
        holds.join()
        time.sleep(3)  # deliveries still on their way under load
        arrivals = []
        for _, pipe in clients:
            pipe.send("report")
            arrivals += pipe.recv()
    finally:
        for proc, _ in clients:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    latencies, slowest, missing = [], [], 0
    for seats, at in committed.items():
        per = [got[seats][0] - at for got in arrivals if seats in got]
        missing += len(arrivals) - len(per)
        latencies += per
        if per:
            slowest.append(max(per))

    def pct(values):
        ordered = sorted(values)
        if not ordered:
            return {}
        at = lambda p: round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 3)  # noqa: E731
        return {"p50": at(50), "p95": at(95), "p99": at(99), "max": round(ordered[-1] * 1000, 3)}

    return {"subscribers": len(arrivals), "connect_s": round(connect_s, 1),
            "bookings": len(committed), "deliveries": len(latencies),
            "missing": missing, "latency_ms": pct(latencies),
            "slowest_subscriber_ms": pct(slowest), "holds_during": load}


# -- the run ----------------------------------------------------------------------------------
def bench_env(database_url: str, instance: str, **extra) -> dict:
    return {
        "DATABASE_URL": database_url, "APP_ENV": "development", "SECRET_KEY": SECRET_KEY,
        "INSTANCE_PATH": instance, "SEED_DEMO": "0", "RATELIMIT_ENABLED": "false",
        "HOLD_LIMIT_PER_CLIENT": "0", "HOLD_SEATS_LIMIT_PER_CLIENT": "0",
        "WS_MAX_PER_CLIENT": str(SUBSCRIBERS + 100),
        "WS_MAX_PER_PROCESS": str(max(4, THREADS - max(4, THREADS // 10))),
        "MAIL_BACKEND": "dummy", "PYTHONUNBUFFERED": "1", **extra,
    }


def _interrupted(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from fakes.stripe_server import SECRET_KEY as STRIPE_KEY
    from fakes.stripe_server import WEBHOOK_SECRET

    from checks import check_database

    if not shutil.which("wrk"):
        print("wrk is not installed (make bench installs Debian's wrk)", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="bench-")
    # This process's own app (priming, checks, the WebSocket bookings) keeps its
    # instance files in the scratch directory, not the working tree's instance/.
    os.environ.update(INSTANCE_PATH=os.path.join(scratch, "instance-bench"), SECRET_KEY=SECRET_KEY)
    results: dict = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"duration_s": DURATION, "connections": CONNECTIONS, "workers": WORKERS,
                     "threads": THREADS, "subscribers": SUBSCRIBERS, "load_generator": "wrk -t2"},
        "scenarios": {},
    }
    scenarios = results["scenarios"]
    started = time.monotonic()

    def record(name: str, figures: dict, app=None) -> None:
        if app is not None:
            figures["database_check"] = check_database(app)
        scenarios[name] = figures
        lat = figures.get("latency_ms", {})
        log(f"{name}: {figures.get('rps', figures.get('completed_per_s'))}/s "
            f"p50 {lat.get('p50')} p95 {lat.get('p95')} p99 {lat.get('p99')} ms, "
            f"errors {figures.get('errors', {}).get('total')}")

    signal.signal(signal.SIGTERM, _interrupted)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, True)
        # -- PostgreSQL, the fake Stripe, gunicorn, the worker --------------------------------
        log("starting PostgreSQL, migrating, seeding")
        pg = PostgresServer().start()
        stack.callback(pg.destroy)
        pg_url = pg.create_database("bench")
        pg_env = bench_env(pg_url, os.path.join(scratch, "instance-pg"))
        flask(pg_env, "db", "upgrade")
        results["seed"] = flask(pg_env, "seed-demo").splitlines()[0]
        pg_app = make_app(pg_url)
        ids = prime(pg_app)
        sessions, hot = ids["sessions"], ids["sessions"][0]
        stripe = Process([sys.executable, str(BENCH / "stripe_fake.py")], {},
                         os.path.join(scratch, "stripe.log"))
        stack.callback(stripe.stop)
        stripe_url = stripe.first_line()
        pg_env.update(PAYMENT_PROVIDER="stripe", STRIPE_API_BASE=stripe_url,
                      STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        log("EXPLAIN of the hot queries -> bench/results/explain.md")
        explained = subprocess.run([sys.executable, str(BENCH / "explain.py"), pg_url],
                                   cwd=ROOT, capture_output=True, text=True)
        if explained.returncode != 0:
            log(f"explain.py failed: {explained.stderr[-2000:]}")
        server = GunicornServer(pg_url, workers=WORKERS, threads=THREADS, env=pg_env).start()
        stack.callback(server.stop)
        worker = Process([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "worker"], pg_env,
                         os.path.join(scratch, "worker.log"))
        stack.callback(worker.stop)
        bare = GunicornServer(pg_url, workers=WORKERS, threads=THREADS, app="bare_app:app",
                              env={"PYTHONPATH": str(BENCH), "GUNICORN_ACCESS_LOG": ""}).start()
        stack.callback(bare.stop)

        base = server.http_url
        pages = {
            "calendar": "/sessions",
            "calendar_filtered": f"/sessions?course={ids['slugs'][0]}&town={ids['towns'][0]}",
            "session_page": f"/sessions/{sessions[len(sessions) // 2]}",
            "course_pages": None,
            "api_sessions": "/api/v1/sessions",
            "api_session": f"/api/v1/sessions/{sessions[len(sessions) // 2]}",
        }
        course_paths = "|".join(["/courses"] + [f"/courses/{s}" for s in ids["slugs"]])
        warm(base, [p for p in pages.values() if p] + course_paths.split("|"))

        # (a) the ceiling
        if wanted("a"):
            for close in (False, True):
                record(f"a_bare{'_close' if close else ''}", wrk(bare.http_url + "/", close=close))
        # (b) pages and API reads
        if wanted("b"):
            for name, path in pages.items():
                for close in (False, True):
                    env = {"BENCH_PATHS": course_paths} if path is None else None
                    record(f"b_{name}{'_close' if close else ''}",
                           wrk(base + (path or "/courses"), close=close, env=env), pg_app)
        # (c) holds across sessions
        if wanted("c"):
            record("c_holds_many_sessions", wrk(base, script="holds.lua", env={
                "BENCH_SESSION_IDS": ",".join(map(str, sessions))}), pg_app)
        # (d) holds on one hot session
        if wanted("d"):
            record("d_holds_one_session", wrk(base, script="holds.lua", env={
                "BENCH_SESSION_IDS": str(hot)}), pg_app)
        # (e) the mix
        if wanted("e"):
            out = os.path.join(scratch, "mix.json")
            mix = subprocess.run([sys.executable, str(BENCH / "mix.py"), "--base", base,
                                  "--stripe", stripe_url, "--users", "50",
                                  "--duration", str(DURATION), "--run", RUN_ID, "--out", out,
                                  "--sessions", ",".join(map(str, sessions))],
                                 cwd=ROOT, capture_output=True, text=True)
            if mix.returncode != 0:
                raise RuntimeError(f"mix.py failed:\n{mix.stderr[-3000:]}")
            time.sleep(2)  # the worker delivers the confirmations' outbox events
            record("e_mix", json.loads(Path(out).read_text()), pg_app)
        # (g) WebSocket latency with subscribers while (c) runs
        if wanted("g"):
            log(f"connecting {SUBSCRIBERS} WebSocket subscribers")
            record("g_websocket", websocket_latency(server, pg_app, ids["ws_session"], sessions),
                   pg_app)
        # (h) memory
        results["memory"] = {"postgresql_app": memory_of(server), "bare": memory_of(bare),
                             "outbox_worker": rss([worker.proc.pid])}
        log(f"PostgreSQL scenarios done in {time.monotonic() - started:.0f}s")
        bare_rps = {c: scenarios.get(f"a_bare{c}", {}).get("rps") for c in ("", "_close")}
        for server_ in (bare, server):
            server_.stop()

        # (f) the embedded set-up on SQLite
        if wanted("f"):
            log("embedded set-up: SQLite")
            sqlite_url = f"sqlite:///{os.path.join(scratch, 'bench.db')}"
            lite_env = bench_env(sqlite_url, os.path.join(scratch, "instance-lite"),
                                 RUN_WORKER_IN_PROCESS="1", PAYMENT_PROVIDER="fake")
            flask(lite_env, "db", "upgrade")
            flask(lite_env, "seed-demo")
            lite_app = make_app(sqlite_url)
            lite_ids = prime(lite_app)
            lite = GunicornServer(sqlite_url, workers=WORKERS, threads=THREADS,
                                  env=lite_env).start()
            stack.callback(lite.stop)
            lite_sessions = lite_ids["sessions"]
            lite_pages = {"calendar": "/sessions",
                          "session_page": f"/sessions/{lite_sessions[len(lite_sessions) // 2]}",
                          "api_sessions": "/api/v1/sessions",
                          "api_session": f"/api/v1/sessions/{lite_sessions[len(lite_sessions) // 2]}"}
            warm(lite.http_url, list(lite_pages.values()))
            for name, path in lite_pages.items():
                record(f"f_sqlite_{name}", wrk(lite.http_url + path), lite_app)
            record("f_sqlite_holds_many_sessions", wrk(lite.http_url, script="holds.lua", env={
                "BENCH_SESSION_IDS": ",".join(map(str, lite_sessions))}), lite_app)
            results["memory"]["sqlite_app"] = memory_of(lite)
            lite.stop()

    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["bare_rps"] = bare_rps
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    from report import markdown

    (RESULTS / "latest.md").write_text(markdown(results))
    log(f"done in {results['elapsed_s']}s: bench/results/latest.md, latest.json, explain.md")
    failed = [name for name, s in scenarios.items()
              if not s.get("database_check", {}).get("ok", True)]
    if failed:
        log(f"DATABASE CHECK FAILED after: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("[bench] interrupted: everything started was stopped", file=sys.stderr)
        sys.exit(130)
