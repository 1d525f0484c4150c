"""What tracing costs: the same requests through Flask's test client with the
tracing code absent, present but off (the default), and on.

Each round runs every mode in a fresh process, in turn (so a busy neighbour on
the machine hurts all modes alike); one iteration is POST /api/v1/bookings (a
traced hold that records an outbox event), GET /api/v1/sessions/ID and POST
/api/v1/bookings/REF/cancel (a traced cancel). Reports the median iteration
time per mode and the ratios, plus the cost of one call through the helpers
while off.

* absent: `traced` is replaced by an identity decorator and the other helpers by
  no-ops before any service module is imported, so no tracing code runs at all;
* off:    no OTEL_* variable set (the default);
* on:     the app traced with the provider production builds (BatchSpanProcessor),
          exporting to memory; Flask, SQLAlchemy and requests instrumented.

    .venv/bin/python bench/tracing_overhead.py [--requests 300] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MODES = ("absent", "off", "on")


def _config(url: str) -> dict:
    return {"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
            "PAYMENT_PROVIDER": "fake", "SEED_DEMO": False, "MAIL_BACKEND": "locmem",
            "RUN_WORKER_IN_PROCESS": False, "RATELIMIT_ENABLED": False}


def prepare(url: str) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import utcnow
    from factories import SessionFactory

    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        starts_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
        SessionFactory(capacity=100_000, starts_at=starts_at,
                       ends_at=starts_at + timedelta(hours=7))
        db.session.commit()


def _strip_tracing() -> None:
    """Make the tracing module's helpers nothing at all, before services import them."""
    from app.monitoring import tracing

    @contextmanager
    def nothing(*args, **kwargs):
        yield None

    tracing.traced = lambda *args, **kwargs: (lambda func: func)
    tracing.trace_carrier = lambda: None
    tracing.handling_event = nothing
    tracing.span = nothing
    tracing.init_app = lambda app: None


def helper_cost_ns() -> dict[str, float]:
    """Nanoseconds one call through each helper adds while tracing is off."""
    from app.monitoring import tracing

    def plain(reference):
        return reference

    wrapped = tracing.traced("bench", arguments={"booking.reference": "reference"})(plain)
    n = 200_000
    base = min(timeit.repeat(lambda: plain("ABC"), number=n, repeat=5))
    return {
        "traced": (min(timeit.repeat(lambda: wrapped("ABC"), number=n, repeat=5)) - base) / n * 1e9,
        "trace_carrier": min(timeit.repeat(tracing.trace_carrier, number=n, repeat=5)) / n * 1e9,
    }


def child(mode: str, url: str, requests: int) -> None:
    if mode == "absent":
        _strip_tracing()
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import CourseSession

    config = _config(url)
    if mode == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from app.monitoring import tracing

        config["TRACER_PROVIDER"] = tracing.build_provider(exporters=[InMemorySpanExporter()])
    app = create_app(config)
    client = app.test_client()
    with app.app_context():
        session_id = db.session.scalars(select(CourseSession.id)).first()
    body = {"session_id": session_id, "attendees": [{"name": "Learner A", "email": ""}],
            "accept_terms": True,
            "contact": {"name": "Priya Shah", "email": "priya@example.com",
                        "phone": "07700 900123", "postcode": "LS1 4AP", "company": ""}}

    def iteration() -> None:
        held = client.post("/api/v1/bookings", json=body)
        assert held.status_code == 201, held.get_data(as_text=True)
        assert client.get(f"/api/v1/sessions/{session_id}").status_code == 200
        data = held.get_json()
        token = data["manage_url"].split("token=", 1)[1]
        cancelled = client.post(f"/api/v1/bookings/{data['reference']}/cancel?token={token}")
        assert cancelled.status_code == 200, cancelled.get_data(as_text=True)

    for _ in range(20):  # warm caches, pools and lazy imports
        iteration()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - started)
    print(json.dumps({"mode": mode, "times": times}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="iterations per mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.url, args.requests)

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with tempfile.TemporaryDirectory(prefix="tracing-bench-") as root:
        url = f"sqlite:///{root}/bench.sqlite3"
        env["INSTANCE_PATH"] = os.path.join(root, "instance")
        os.environ["INSTANCE_PATH"] = env["INSTANCE_PATH"]
        prepare(url)
        medians: dict[str, list[float]] = {mode: [] for mode in MODES}
        for round_no in range(args.rounds):
            for mode in MODES:
                out = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url,
                                      "--requests", str(args.requests)],
                                     env=env, cwd=ROOT, capture_output=True, text=True)
                if out.returncode:
                    sys.exit(out.stderr[-3000:])
                times = json.loads(out.stdout.strip().splitlines()[-1])["times"]
                medians[mode].append(statistics.median(times))
            print(f"round {round_no + 1}: " + ", ".join(
                f"{m} {medians[m][-1] * 1000:.3f} ms" for m in MODES), flush=True)
    overall = {mode: statistics.median(values) for mode, values in medians.items()}
    print(f"\nmedian iteration (hold + read + cancel), {args.requests} x {args.rounds} per mode:")
    for mode in MODES:
        print(f"  {mode:6s} {overall[mode] * 1000:8.3f} ms")
    print(f"  off/absent = {overall['off'] / overall['absent']:.3f}, "
          f"on/absent = {overall['on'] / overall['absent']:.3f}")
    print("one helper call while off: " + ", ".join(
        f"{name} {ns:.0f} ns" for name, ns in helper_cost_ns().items()))


if __name__ == "__main__":
    main()
