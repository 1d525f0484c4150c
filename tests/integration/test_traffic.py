"""The traffic window: per-minute figures added by every process, summed exactly,
read as rates, error rates and p95 (app.services.oversight.traffic)."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests as http
from flask import g
from sqlalchemy import func, select, update

from app.extensions import db
from app.models.traffic import traffic_minute_errors, traffic_minutes
from app.models.types import utcnow
from app.monitoring.traffic import TrafficRecorder, flush_traffic, recorder_of
from app.repositories.traffic import TrafficRepository
from app.services.background import retention
from app.services.oversight.traffic import (
    TrafficTally, histogram_quantile, minute_of, record_traffic, traffic_summary,
)

from gunicorn_server import GunicornServer

NINE = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
WINDOW = {"since": NINE, "until": NINE + timedelta(minutes=5)}


class Classified:
    """Stands in for app.monitoring.errors.ErrorInfo (what the error handler sets on g)."""

    def __init__(self, category, severity):
        self.id, self.category, self.severity = None, category, severity


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 0,
                                         "pool_timeout": 60}}


def stored_requests(route=None):
    stmt = select(func.coalesce(func.sum(traffic_minutes.c.requests), 0))
    if route:
        stmt = stmt.where(traffic_minutes.c.route == route)
    db.session.rollback()  # a fresh snapshot: other sessions wrote
    return db.session.scalar(stmt)


def tally_of(requests, *, at=NINE, route="/courses", status=200, seconds=0.02, error=None):
    tally = TrafficTally()
    for _ in range(requests):
        tally.record(at=at, method="GET", route=route, status=status, seconds=seconds,
                     category=error and error[0], severity=error and error[1])
    return tally


# -- several processes, one set of figures ----------------------------------------------------
def test_two_processes_flushing_into_the_same_minute_add_up(app):
    first, second = TrafficRecorder(app, 0), TrafficRecorder(app, 0)
    for recorder, n in ((first, 3), (second, 4)):
        for i in range(n):
            recorder.tally.record(at=NINE + timedelta(seconds=i), method="GET",
                                  route="/courses", status=200, seconds=0.02)
        recorder.tally.record(at=NINE, method="POST", route="/api/bookings", status=500,
                              seconds=0.3, category="internal", severity="error")

    assert first.flush() == 4 and second.flush() == 5
    assert second.flush() == 0  # nothing left to store twice

    rows = TrafficRepository().minute_rows()
    assert [(r.method, r.route, r.requests, r.errors, r.le_25ms, r.le_500ms) for r in rows] == [
        ("GET", "/courses", 7, 0, 7, 0), ("POST", "/api/bookings", 2, 2, 0, 2)]
    summary = traffic_summary(**WINDOW)
    assert (summary.requests, summary.errors, summary.errors_by_category) == \
        (9, 2, {"internal": 2})


def test_concurrent_flushes_from_real_threads_lose_no_update(app):
    threads, flushes = 8, 15
    barrier = threading.Barrier(threads)

    def process(i):
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(flushes):
                    tally = tally_of(2)
                    tally.record(at=NINE, method="GET", route="/courses", status=404,
                                 seconds=0.001, category="not_found", severity="info")
                    record_traffic(tally.take())
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(process, range(threads)))  # re-raises any thread's error

    summary = traffic_summary(**WINDOW)
    assert summary.requests == threads * flushes * 3
    assert summary.errors_by_category == {"not_found": threads * flushes}
    assert summary.routes[0].requests == threads * flushes * 3


def _race_two_writers(app, write):
    """Two threads each read the row, wait for the other to have read it too, then write."""
    barrier = threading.Barrier(2)
    key = (traffic_minutes.c.minute == NINE) & (traffic_minutes.c.route == "/courses")

    def writer(_):
        with app.app_context():
            try:
                seen = db.session.scalar(select(traffic_minutes.c.requests).where(key))
                barrier.wait()
                write(seen, key)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(writer, range(2)))


def test_control_a_naive_read_then_write_would_lose_one_of_two_flushes(app, backend):
    """Shows the race the upsert avoids (PostgreSQL: SQLite refuses the stale write
    with "database is locked" instead of losing it)."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: a stale write fails rather than wins")
    record_traffic(tally_of(1).take())

    def naive(seen, key):
        db.session.execute(update(traffic_minutes).where(key).values(requests=seen + 1))
        db.session.commit()

    _race_two_writers(app, naive)
    assert stored_requests() == 2  # 1 + 1 + 1 was meant: one flush was lost


def test_the_same_race_with_the_additive_upsert_keeps_both_flushes(app, backend):
    record_traffic(tally_of(1).take())
    _race_two_writers(app, lambda seen, key: record_traffic(tally_of(1).take()))
    assert stored_requests() == 3


# -- reading the window -----------------------------------------------------------------------
def test_p95_interpolates_inside_the_bucket_holding_it_and_error_rate_counts_each_request_once(app):
    tally = TrafficTally()

    def add(n, *, status=200, seconds=0.003, error=(None, None), route="/courses"):
        for _ in range(n):
            tally.record(at=NINE + timedelta(minutes=1), method="GET", route=route,
                         status=status, seconds=seconds, category=error[0], severity=error[1])

    add(85)                                                  # le_5ms
    add(3, status=500, error=("internal", "error"))          # 5xx and classified: once each
    add(2, status=500)                                       # 5xx, never classified
    add(2, status=404, error=("not_found", "info"))          # classified, not an error
    add(1, status=409, error=("conflict", "error"))          # an error below 500
    add(7, seconds=0.3)                                      # le_500ms: (0.25, 0.5]
    add(4, route="/sessions", seconds=20.0)                  # slower than every bound
    record_traffic(tally.take())

    summary = traffic_summary(**WINDOW)
    assert summary.requests == 104
    assert summary.errors == 6 and summary.server_errors == 5
    assert summary.error_rate == pytest.approx(6 / 104)
    assert summary.errors_by_category == {"internal": 3, "not_found": 2, "conflict": 1}
    assert summary.errors_by_severity == {"error": 4, "info": 2}
    courses, sessions = summary.routes
    assert (courses.route, courses.requests, courses.errors) == ("/courses", 100, 6)
    # 100 requests: the 95th is the 2nd of 7 in (0.25, 0.5]: 0.25 + 0.25 * 2/7.
    assert courses.p95_seconds == pytest.approx(0.25 + 0.25 * 2 / 7)
    assert courses.requests_per_minute == pytest.approx(100 / 5)
    assert sessions.p95_seconds == 10.0  # the last finite bound, as Prometheus says
    assert courses.error_rate == pytest.approx(0.06)


def test_the_window_holds_only_the_minutes_from_since_to_until(app):
    for minute, n in ((-1, 1), (0, 2), (4, 4), (5, 8)):
        record_traffic(tally_of(n, at=NINE + timedelta(minutes=minute, seconds=30)).take())
    # since mid-minute: that minute counts; until is exclusive.
    summary = traffic_summary(NINE + timedelta(seconds=40), NINE + timedelta(minutes=5))
    assert summary.requests == 6 and summary.since == NINE


def test_an_empty_window_has_no_rate_and_no_p95(app):
    summary = traffic_summary(**WINDOW)
    assert (summary.requests, summary.error_rate, summary.routes, summary.p95_seconds,
            summary.errors_by_category) == (0, 0.0, [], None, {})
    with pytest.raises(ValueError):
        traffic_summary(NINE, NINE - timedelta(minutes=1))


def test_histogram_quantile_matches_prometheus_rules():
    bounds = (0.1, 0.5, 1.0)
    assert histogram_quantile(0.5, [0, 0, 0, 0], bounds) is None
    assert histogram_quantile(0.5, [10, 0, 0, 0], bounds) == pytest.approx(0.05)  # from 0
    assert histogram_quantile(0.95, [0, 10, 10, 0], bounds) == pytest.approx(0.5 + 0.5 * 0.9)
    assert histogram_quantile(0.95, [1, 0, 0, 99], bounds) == 1.0


# -- requests through the app -----------------------------------------------------------------
def test_a_request_whose_error_was_classified_is_counted_in_its_category(app, client):
    def classified(n):
        g.error = Classified("payment", "error")
        return "declined", 402

    app.add_url_rule("/_test/classified/<int:n>", "test_classified", classified)
    assert client.get("/_test/classified/1").status_code == 402
    for path in ("/metrics", "/health/live", "/health/ready", "/no/such/page"):
        client.get(path)

    assert flush_traffic(app) == 2
    summary = traffic_summary(minute_of(utcnow()) - timedelta(minutes=1))
    assert summary.errors_by_category.get("payment") == 1 and summary.errors == 1
    assert {(r.method, r.route, r.requests) for r in summary.routes} == {
        ("GET", "/_test/classified/<int:n>", 1), ("GET", "unmatched", 1)}


def test_the_error_handler_classifies_a_404_and_an_internal_error_into_the_figures(app, client):
    pytest.importorskip("app.monitoring.errors")

    def boom():
        raise RuntimeError("kaput")

    app.add_url_rule("/_test/boom", "test_boom", boom)
    assert client.get("/courses/no-such-course").status_code == 404
    assert client.get("/_test/boom").status_code == 500
    flush_traffic(app)

    summary = traffic_summary(minute_of(utcnow()) - timedelta(minutes=1))
    assert summary.errors_by_category == {"not_found": 1, "internal": 1}
    assert summary.errors == 1  # the 404 is not an error


def test_a_failed_flush_keeps_the_figures_for_the_next(app, client, monkeypatch):
    client.get("/courses")
    recorder = recorder_of(app)

    def database_down(_taken):
        raise OSError("database unreachable")

    monkeypatch.setattr("app.monitoring.traffic.record_traffic", database_down)
    assert recorder.flush() == 0 and len(recorder.tally) == 1
    client.get("/courses")
    monkeypatch.undo()
    assert recorder.flush() == 2
    assert stored_requests("/courses") == 2


def test_a_tally_that_cannot_be_stored_keeps_only_the_newest_minutes():
    tally = TrafficTally(max_keys=3)
    for minute in range(5):
        tally.record(at=NINE + timedelta(minutes=minute), method="GET", route="/", status=200,
                     seconds=0.01)
    tally.give_back(tally.take())
    kept = tally.take()
    assert sorted(key[0] for key in kept) == [NINE + timedelta(minutes=m) for m in (2, 3, 4)]
    assert tally.dropped_requests == 2


def test_odd_methods_are_stored_as_other():
    tally = TrafficTally()
    tally.record(at=NINE, method="PROPFIND", route="unmatched", status=405, seconds=0.01)
    assert list(tally.take()) == [(NINE, "OTHER", "unmatched")]


@pytest.mark.parametrize("app_config", [{"TRAFFIC_FLUSH_SECONDS": 0.05}])
def test_the_flush_thread_starts_with_the_first_request_and_stores_it(app, client):
    recorder = recorder_of(app)
    assert recorder._pid is None  # nothing started at create_app
    try:
        client.get("/courses")
        for _ in range(400):  # waits for the thread's write, whatever the machine's speed
            if stored_requests("/courses") == 1:
                break
            threading.Event().wait(0.05)
        assert stored_requests("/courses") == 1
    finally:
        recorder.stop()


# -- retention --------------------------------------------------------------------------------
def test_the_retention_job_purges_traffic_older_than_the_retention_days(app):
    now = utcnow()
    old = tally_of(3, at=now - timedelta(days=7, minutes=1), error=("internal", "error"))
    recent = tally_of(5, at=now - timedelta(days=6, hours=23), error=("internal", "error"))
    record_traffic(old.take())
    record_traffic(recent.take())

    result = retention.purge_personal_data(now=now)

    assert result.traffic_minutes_deleted == 1
    assert stored_requests() == 5
    assert db.session.scalar(select(func.sum(traffic_minute_errors.c.count))) == 5
    assert retention.purge_personal_data(now=now).traffic_minutes_deleted == 0


# -- a real gunicorn with two worker processes --------------------------------------------------
def test_gunicorn_workers_store_every_request_when_they_exit(app, database_url):
    """Flushes only at exit (interval of an hour): what each worker tallied in memory
    reaches the shared table when gunicorn stops, and the probes are left out."""
    server = GunicornServer(database_url, workers=2, threads=8,
                            env={"TRAFFIC_FLUSH_SECONDS": "3600"}).start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(
                lambda i: http.get(f"{server.http_url}/courses", timeout=30).status_code,
                range(40)))
        http.get(f"{server.http_url}/metrics", timeout=30)
    finally:
        server.stop()
    assert statuses == [200] * 40
    assert stored_requests("/courses") == 40, server.read_log()
    assert stored_requests() == 40  # /health/ready (start-up probe) and /metrics not counted
