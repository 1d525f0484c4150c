"""The logs of a real gunicorn run (two workers) hold no secret and are JSON lines.

The customer's journey puts secrets in URLs and headers: the manage and payment
links carry the booking's token, the password-reset page has its token in the
path, Stripe signs webhooks in a header, Prometheus sends a bearer token. All of
them are sent here; then the server's stdout and stderr are searched for each.
SQLite only: what gets logged does not depend on the database.
"""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from app_setup import make_test_config, migrate_database
from websockets.sync.client import connect

from app import create_app
from app.extensions import db
from app.services.payments.fake_gateway import sign_payload
from app.services.staff.auth import make_reset_token

from factories import SessionFactory, UserFactory
from gunicorn_server import GunicornServer

SECRET_KEY = "gunicorn-log-test-secret-key"
WEBHOOK_SECRET = "whsec_logtest_9f8e7d6c5b4a39281706"
METRICS_TOKEN = "m3trics-T0ken-for-logs-7731"
TRACED_ID = "trace-me.1_a"


@pytest.fixture(scope="module")
def database_file(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('gunicorn-logs') / 'logs.sqlite3'}"
    migrate_database(url)
    return url


@pytest.fixture(scope="module")
def seeded(database_file):
    """A bookable session and a staff account (for a genuine reset token)."""
    app = create_app(make_test_config(database_file, SECRET_KEY=SECRET_KEY))
    with app.app_context():
        session_id = SessionFactory(capacity=10).id
        reset_token = make_reset_token(UserFactory(), secret_key=SECRET_KEY)
        db.session.remove()
        db.engine.dispose()
    return {"session_id": session_id, "reset_token": reset_token}


@pytest.fixture(scope="module")
def run_log(database_file, seeded):
    """Everything the server wrote while the journey below ran, and the secrets sent."""
    server = GunicornServer(database_file, workers=2, threads=8, env={
        "SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN, "GUNICORN_ACCESS_LOG": "-", "LOG_FORMAT": "json",
    }).start()
    secrets: dict[str, str] = {"webhook secret": WEBHOOK_SECRET, "metrics token": METRICS_TOKEN,
                               "reset token": seeded["reset_token"]}
    try:
        http = requests.Session()
        base = server.http_url
        booked = http.post(f"{base}/api/v1/bookings", headers={"X-Request-ID": TRACED_ID}, json={
            "session_id": seeded["session_id"],
            "contact": {"name": "Priya Shah", "email": "priya@example.com",
                        "phone": "07700 900123", "postcode": "LS1 4AP", "company": ""},
            "attendees": [{"name": "Learner A", "email": ""}], "accept_terms": True}, timeout=10)
        assert booked.status_code == 201, booked.text
        booking = booked.json()
        token = parse_qs(urlparse(booking["manage_url"]).query)["token"][0]
        secrets["manage token"] = token
        secrets["payment token"] = parse_qs(urlparse(booking["payment_url"]).query)["token"][0]
        for url in (booking["manage_url"], booking["payment_url"],
                    f"{base}/api/v1/bookings/{booking['reference']}?token={token}",
                    f"{base}/bookings/{booking['reference']}/payment-status?token={token}"):
            http.get(url.replace(urlparse(url).netloc, urlparse(base).netloc),
                     allow_redirects=False, timeout=10)
        reset = http.get(f"{base}/password/reset/{seeded['reset_token']}", timeout=10)
        assert reset.status_code == 200  # a genuine token: the new-password form

        payload = json.dumps({"id": "evt_logtest", "type": "customer.created",
                              "data": {"object": {}}})
        good_signature = sign_payload(payload, WEBHOOK_SECRET)
        bad_signature = f"t={int(time.time())},v1={'ab' * 32}"
        secrets["good Stripe signature"] = good_signature.split("v1=")[1]
        secrets["bad Stripe signature"] = bad_signature.split("v1=")[1]
        for signature in (good_signature, bad_signature):
            http.post(f"{base}/webhooks/stripe", data=payload, timeout=10,
                      headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
        metrics = http.get(f"{base}/metrics", timeout=10,
                           headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200

        with connect(f"{server.ws_url}/ws/availability?session={seeded['session_id']}",
                     open_timeout=10, close_timeout=1):
            pass
        _wait_for(lambda: '"route": "/ws/availability"' in server.read_log(tail=10**8))
    finally:
        server.stop()
    return server.read_log(tail=10**8), secrets


def test_no_secret_sent_during_a_real_run_reaches_the_logs(run_log):
    log, secrets = run_log
    leaked = [name for name, value in secrets.items() if value in log]
    assert not leaked, f"{leaked} found in the server's output"
    assert "[redacted]" in log  # the reset page's path was logged, without its token


def test_every_line_the_server_wrote_is_a_json_object(run_log):
    log, _ = run_log
    lines = [line for line in log.splitlines() if line.strip()]
    not_json = [line for line in lines if not _json_object(line)]
    assert lines and not not_json, not_json[:5]


def test_each_request_has_exactly_one_access_line_with_its_request_id(run_log):
    log, _ = run_log
    records = [json.loads(line) for line in log.splitlines() if _json_object(line)]
    access = [r for r in records if r.get("logger") == "app.access"]
    assert access and all(r.get("request_id") for r in access)
    assert all({"time", "level", "method", "route", "status", "duration_ms"} <= set(r)
               for r in access)
    traced = [r for r in access if r["request_id"] == TRACED_ID]
    assert len(traced) == 1
    assert traced[0]["route"] == "/api/v1/bookings" and traced[0]["status"] == 201
    assert not [r for r in records if r.get("logger") == "gunicorn.access"]
    reset = [r for r in access if r["route"] == "/password/reset/<token>"]
    assert reset and reset[0]["path"] == "/password/reset/[redacted]"


def test_a_websocket_gets_its_access_line_when_it_closes(run_log):
    log, _ = run_log
    records = [json.loads(line) for line in log.splitlines() if _json_object(line)]
    (ws,) = [r for r in records if r.get("logger") == "app.access"
             and r.get("route") == "/ws/availability"]
    assert ws["status"] == 101 and ws["request_id"]


def _wait_for(condition, timeout: float = 10.0) -> None:
    """Until `condition()` holds (an upper bound: only a failure waits this long)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
