"""Prometheus metrics at GET /metrics: what moves them, who may read them, and that one
gunicorn process or several give the same totals."""
import glob
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests as http
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from app.config import ConfigError, load_config
from app.extensions import db
from app.monitoring import metrics
from app.monitoring.access import bearer_token_ok
from app.repositories import unit_of_work
from app.services.bookings.holds import BookingPolicy, hold_seats
from app.services.core import events
from app.services.payments import runtime as payments_runtime
from app.services.realtime.hub import Rooms, Subscription, format_changed, parse_changed

from factories import SessionFactory, booking_request
from gunicorn_server import GunicornServer
from production_settings import PRODUCTION_SECRET_KEY


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in a scrape (0 when absent, like a counter never incremented)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client, **headers) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def api_booking(session_id: int, seats: int) -> dict:
    return {
        "session_id": session_id,
        "contact": {"name": "Priya Shah", "email": "priya@example.com", "phone": "07700 900123",
                    "postcode": "LS1 4AP", "company": ""},
        "attendees": [{"name": f"Learner {chr(65 + i)}", "email": ""} for i in range(seats)],
        "accept_terms": True,
    }


# -- what moves the figures ---------------------------------------------------------------------
def test_a_booking_counts_one_held_booking_and_its_seats(client):
    session = SessionFactory(capacity=5)
    before = scrape(client)
    assert client.post("/api/v1/bookings", json=api_booking(session.id, 2)).status_code == 201
    after = scrape(client)
    assert sample(after, "bookings_total", event="held") == \
        sample(before, "bookings_total", event="held") + 1
    assert sample(after, "seats_total", event="held") == \
        sample(before, "seats_total", event="held") + 2
    assert sample(after, "http_requests_total", method="POST", route="/api/v1/bookings",
                  status="201") == sample(before, "http_requests_total", method="POST",
                                          route="/api/v1/bookings", status="201") + 1


def value_of(name: str, **labels) -> float:
    """A sample of this process's registry (0 for a series not yet created)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def held_count() -> float:
    return value_of("bookings_total", event="held")


def test_a_hold_whose_transaction_rolls_back_is_not_counted(app):
    session = SessionFactory(capacity=5)
    policy = BookingPolicy()
    before = held_count()
    with pytest.raises(RuntimeError):
        with unit_of_work() as db_session:
            hold_seats(booking_request(session.id, 1), policy=policy)
            db_session.begin_nested().commit()  # releasing a savepoint is not the commit
            raise RuntimeError("the caller's transaction fails after the hold")
    assert held_count() == before
    hold_seats(booking_request(session.id, 1), policy=policy)  # the same hold, committed
    assert held_count() == before + 1


def test_a_rolled_back_savepoint_forgets_only_what_was_counted_inside_it(app):
    """As when a raced alert's savepoint rolls back inside a booking's transaction."""
    session = SessionFactory(capacity=5)
    before = held_count()
    with unit_of_work() as db_session:
        hold_seats(booking_request(session.id, 1), policy=BookingPolicy())  # kept
        savepoint = db_session.begin_nested()
        hold_seats(booking_request(session.id, 1), policy=BookingPolicy())  # rolled back
        savepoint.rollback()
    assert held_count() == before + 1


def test_the_route_label_is_the_url_rule_never_the_path(client):
    session = SessionFactory(capacity=5)
    assert client.get(f"/sessions/{session.id}").status_code == 200
    assert client.get("/no-such-page/secret-token-123").status_code == 404
    text = scrape(client)
    assert sample(text, "http_requests_total", method="GET", route="/sessions/<id:session_id>",
                  status="200") >= 1
    assert sample(text, "http_request_duration_seconds_count", method="GET",
                  route="/sessions/<id:session_id>") >= 1
    assert sample(text, "http_requests_total", method="GET", route="unmatched",
                  status="404") >= 1
    assert f"/sessions/{session.id}\"" not in text
    assert "secret-token-123" not in text


def test_an_invented_http_method_is_labelled_other_so_clients_cannot_grow_the_labels(client):
    client.open("/sessions", method="BREW")
    text = scrape(client)
    labelled = [s for family in text_string_to_metric_families(text) for s in family.samples
                if s.name == "http_requests_total" and s.labels.get("method") == "OTHER"]
    assert labelled and 'method="BREW"' not in text


def test_every_booking_payment_and_refund_series_is_shown_from_the_start_at_zero(app, client):
    families = {f.name: f for f in text_string_to_metric_families(scrape(client))}
    shown = {(f.name, tuple(sorted(s.labels.items())))
             for f in families.values() for s in f.samples if s.name.endswith("_total")}
    provider = app.config["PAYMENT_PROVIDER"]
    for event_name in metrics.BOOKING_EVENTS:
        assert ("bookings", (("event", event_name),)) in shown
        assert ("seats", (("event", event_name),)) in shown
    for outcome in metrics.PAYMENT_OUTCOMES:
        assert ("payments", (("outcome", outcome), ("provider", provider))) in shown
    for outcome in metrics.REFUND_OUTCOMES:
        assert ("refunds", (("outcome", outcome),)) in shown


def test_outbox_and_breaker_figures_are_read_when_scraped(app, client, monkeypatch):
    events.registry.register([events.Handler("test.metrics.probe", frozenset({"MetricsProbe"}),
                                             lambda event: None)])
    try:
        with unit_of_work():
            events.record_event("MetricsProbe", "x")
    finally:
        events.registry.unregister("test.metrics.probe")
    monkeypatch.setattr(payments_runtime().breakers, "states",
                        lambda: {"payments": "half-open", "refunds": "open", "webhooks": "closed"})
    text = scrape(client)
    assert [sample(text, "breaker_state", breaker=name)
            for name in ("webhooks", "payments", "refunds")] == [0, 1, 2]
    assert (sample(text, "outbox_pending"), sample(text, "outbox_dead")) == (1, 0)
    assert 0 <= sample(text, "outbox_oldest_pending_seconds") < 3600


def test_the_pool_gauge_follows_checkouts_and_checkins(app):
    def value(state):
        return value_of("db_pool_connections", state=state)

    db.session.remove()
    out_before = value("checked_out")
    connection = db.engine.connect()
    assert value("checked_out") == out_before + 1
    idle_while_out = value("idle")
    connection.close()
    assert (value("checked_out"), value("idle")) == (out_before, idle_while_out + 1)


def test_a_subscriber_dropped_for_a_full_queue_is_counted_by_reason():
    def dropped():
        return value_of("realtime_dropped_total", reason="queue_overflow")

    before = dropped()
    subscription = Subscription(rooms=None, limit=1)
    assert subscription.offer(1, "<span>1</span>")
    assert not subscription.offer(2, "<span>2</span>")
    subscription.drop("queue overflow")  # dropping again counts nothing
    assert dropped() == before + 1


def wait_for(condition, timeout: float = 10.0) -> bool:
    """Poll until `condition()` holds; only a failure waits the whole timeout."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_each_committed_seat_change_is_timed_from_commit_to_fragment_queued(app):
    live = app.extensions["realtime"]
    session = SessionFactory(capacity=12)
    subscription = live.subscribe(Rooms(session_ids=frozenset({session.id})))
    if live.transport.in_transaction:  # PostgreSQL: wait until LISTEN is in place
        assert live.transport.listener.connected.wait(10)

    def timed() -> float:
        return value_of("realtime_broadcast_seconds_count")

    try:
        before = timed()
        hold_seats(booking_request(session.id, 2), policy=BookingPolicy())
        assert wait_for(lambda: timed() == before + 1)
        assert subscription.take()  # the fragment it timed was queued for the subscriber
    finally:
        live.stop()


def test_seat_change_messages_carry_their_commit_time():
    changed = parse_changed(format_changed({5, 3}, 1712345678.25))
    assert changed == {3, 5} and changed.committed_at == 1712345678.25
    assert parse_changed("7").committed_at is None and parse_changed("7@nan").committed_at is None


# -- who may read them ----------------------------------------------------------------------------
class TestWithAToken:
    @pytest.fixture
    def app_config(self):
        return {"METRICS_TOKEN": "scrape-me-0123456789"}

    def test_metrics_need_the_bearer_token(self, client):
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Basic scrape-me-0123456789"}):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.get_json()["error"]["code"] == "unauthorized"
        response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        assert "http_requests_total" in response.get_data(as_text=True)


def test_without_a_token_metrics_are_open(client):
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("header, token, expected", [
    ("Bearer abc", "abc", True), ("bearer abc", "abc", True), ("Bearer  abc ", "abc", True),
    ("Bearer abd", "abc", False), ("Bearer ", "abc", False), ("abc", "abc", False),
    (None, "abc", False), ("Bearer abc", None, False), ("Bearer ", "", False),
])
def test_bearer_token_ok(header, token, expected):
    assert bearer_token_ok(header, token) is expected


PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": PRODUCTION_SECRET_KEY,
              "PAYMENT_PROVIDER": "stripe",
              "PUBLIC_BASE_URL": "https://book.example.co.uk", "TRUSTED_HOSTS": "book.example.co.uk"}


def test_production_refuses_to_start_with_open_metrics_unless_told_they_are_public():
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be set"):
        load_config("/srv/instance", PRODUCTION)
    assert load_config("/srv/instance", {**PRODUCTION, "METRICS_TOKEN": "t" * 32})[
        "METRICS_TOKEN"] == "t" * 32
    assert load_config("/srv/instance", {**PRODUCTION, "METRICS_PUBLIC": "true"})[
        "METRICS_PUBLIC"] is True


# -- several gunicorn processes --------------------------------------------------------------
LIVE = {"method": "GET", "route": "/health/live", "status": "200"}


def per_process_requests(directory: str) -> dict[int, float]:
    """http_requests_total for GET /health/live in each process's own file."""
    found = {}
    for path in glob.glob(os.path.join(directory, "counter_*.db")):
        pid = int(os.path.basename(path)[len("counter_"):-len(".db")])
        for family in MultiProcessCollector.merge([path]):
            for s in family.samples:
                if s.name == "http_requests_total" and s.labels == LIVE:
                    found[pid] = s.value
    return found


def plant_stale_counter(directory: str, value: float) -> None:
    """A file an earlier run could have left: it must not be summed in."""
    stale = MmapedDict(os.path.join(directory, "counter_999999.db"))
    key = mmap_key("http_requests", "http_requests_total", ("method", "route", "status"),
                   tuple(LIVE.values()), "HTTP requests answered.")
    stale.write_value(key, value, 0.0)
    stale.close()


@pytest.fixture
def two_process_server(database_url, app, tmp_path):
    directory = str(tmp_path / "prometheus")
    os.makedirs(directory)
    plant_stale_counter(directory, 1000)
    server = GunicornServer(database_url, workers=2, threads=8,
                            env={"PROMETHEUS_MULTIPROC_DIR": directory}).start()
    try:
        yield server, directory
    finally:
        server.stop()


def test_two_gunicorn_processes_sum_into_one_scrape(two_process_server):
    server, directory = two_process_server
    workers = set(server.worker_pids())
    assert len(workers) == 2
    assert not os.path.exists(os.path.join(directory, "counter_999999.db"))  # cleaned at start

    sent = 0
    with http.Session() as web, ThreadPoolExecutor(8) as pool:
        def get(_):
            # A fresh connection each time: a kept-alive one stays with one process.
            return http.get(f"{server.http_url}/health/live", timeout=10).status_code

        while sent < 2000 and set(per_process_requests(directory)) != workers:
            assert list(pool.map(get, range(40))) == [200] * 40
            sent += 40
        answered = per_process_requests(directory)
        assert set(answered) == workers, f"one process answered all {sent} requests"
        assert sum(answered.values()) == sent

        session = SessionFactory(capacity=5)
        db.session.commit()
        response = web.post(f"{server.http_url}/api/v1/bookings",
                            json=api_booking(session.id, 3), timeout=10)
        assert response.status_code == 201
        with connect(f"{server.ws_url}/ws/availability?session={session.id}", open_timeout=10):
            assert wait_for(lambda: sample(web.get(f"{server.http_url}/metrics").text,
                                           "websocket_connections") == 1)
        assert wait_for(lambda: sample(web.get(f"{server.http_url}/metrics").text,
                                       "websocket_connections") == 0)
        text = web.get(f"{server.http_url}/metrics", timeout=10).text

    assert sample(text, "http_requests_total", **LIVE) == sent
    assert sample(text, "http_request_duration_seconds_count", method="GET",
                  route="/health/live") == sent
    assert sample(text, "bookings_total", event="held") == 1
    assert sample(text, "seats_total", event="held") == 3
    assert sample(text, "breaker_state", breaker="payments") == 0
    assert sample(text, "http_requests_total", method="GET", route="/ws/availability",
                  status="200") == 1  # counted when the connection ended
