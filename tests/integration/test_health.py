"""Health probes for load balancers: /health/live and /health/ready."""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from conftest import make_test_config, migrate_database
from flask_migrate import upgrade
from sqlalchemy import update

from app import create_app
from app.extensions import db
from app.models import OutboxEvent, utcnow
from app.monitoring.health import HealthProbe, HealthSettings
from app.repositories import unit_of_work
from app.services.core import events
from app.services.payments.runtime import runtime

from pg_server import PostgresServer

TOKEN = "health-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CHECK_NAMES = {"database", "migrations", "outbox", "broadcaster", "breakers"}


@contextmanager
def pending_delivery(age: timedelta = timedelta(0)):
    """One outbox event with one pending delivery, recorded `age` ago."""
    events.registry.register([events.Handler("test.health.probe", frozenset({"HealthProbe"}),
                                             lambda event: None)])
    try:
        with unit_of_work():
            event = events.record_event("HealthProbe", "x")
        with unit_of_work() as session:
            session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id)
                            .values(created_at=utcnow() - age))
        yield
    finally:
        events.registry.unregister("test.health.probe")


# -- liveness and the public answer ------------------------------------------------------------
def test_live_answers_ok_and_is_never_cached(client):
    response = client.get("/health/live")
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_tells_the_public_only_its_status(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN}


def test_ready_shows_every_check_to_the_metrics_token(client):
    body = client.get("/health/ready", headers=BEARER).get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECK_NAMES
    assert all(check["status"] == "ok" for check in body["checks"].values())
    migrations = body["checks"]["migrations"]
    assert migrations["current"] == migrations["head"] and migrations["head"]
    assert set(body["checks"]["breakers"]["states"]) == {"payments", "refunds", "webhooks"}
    assert body["required"] == ["database", "migrations"]


@pytest.mark.parametrize("header", ["Bearer wrong-token", TOKEN, "Basic " + TOKEN, ""])
def test_ready_hides_the_checks_without_the_right_token(client, header):
    assert client.get("/health/ready", headers={"Authorization": header}).get_json() == \
        {"status": "ok"}


def test_a_signed_in_admin_sees_the_checks_but_a_trainer_does_not(admin_client, trainer_client):
    assert set(admin_client.get("/health/ready").get_json()["checks"]) == CHECK_NAMES
    assert trainer_client.get("/health/ready").get_json() == {"status": "ok"}


# -- what degrades and what takes the instance out ---------------------------------------------
def test_an_open_payment_breaker_degrades_but_keeps_the_instance_in(client):
    runtime().breakers.get("payments").open()
    response = client.get("/health/ready", headers=BEARER)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["breakers"] == {
        "status": "fail", "states": {"payments": "open", "refunds": "closed", "webhooks": "closed"}}


class TestOutboxLag:
    @pytest.fixture
    def app_config(self):
        return {"METRICS_TOKEN": TOKEN, "READY_OUTBOX_LAG_SECONDS": 60}

    def test_outbox_lag_over_the_threshold_degrades(self, client):
        with pending_delivery(age=timedelta(minutes=5)):
            response = client.get("/health/ready", headers=BEARER)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "degraded"
        outbox = body["checks"]["outbox"]
        assert outbox["status"] == "fail" and outbox["pending"] == 1
        assert outbox["oldest_pending_seconds"] >= 300

    def test_a_fresh_pending_delivery_is_not_lag(self, client):
        with pending_delivery():
            body = client.get("/health/ready", headers=BEARER).get_json()
        assert body["status"] == "ok"
        outbox = body["checks"]["outbox"]
        assert (outbox["status"], outbox["pending"], outbox["threshold_seconds"]) == ("ok", 1, 60)


class TestRequiredChecks:
    @pytest.fixture
    def app_config(self):
        return {"METRICS_TOKEN": TOKEN, "READY_OUTBOX_LAG_SECONDS": 60,
                "READY_REQUIRED_CHECKS": "database,migrations,outbox"}

    def test_outbox_lag_takes_the_instance_out_when_it_is_required(self, client):
        with pending_delivery(age=timedelta(minutes=5)):
            response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable"}


def test_unknown_required_check_names_are_refused_at_start_up(tmp_path):
    from app.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="READY_REQUIRED_CHECKS"):
        load_config(str(tmp_path), {"READY_REQUIRED_CHECKS": "database,disk"})


# -- not migrated (SQLite) ---------------------------------------------------------------------
@pytest.fixture
def sqlite_app_at(tmp_path):
    """`sqlite_app_at(revision)`: an app on a new SQLite file migrated up to `revision`
    (None: an empty file, never migrated)."""
    made = []

    def make(revision: str | None):
        path = tmp_path / f"ready-{revision or 'none'}.sqlite3"
        sqlite3.connect(path).close()
        app = create_app(make_test_config(f"sqlite:///{path}", METRICS_TOKEN=TOKEN))
        if revision:
            with app.app_context():
                upgrade(revision=revision)
                db.engine.dispose()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("revision", [None, "0010"])
def test_a_database_not_migrated_to_head_is_not_ready(sqlite_app_at, revision):
    client = sqlite_app_at(revision).test_client()
    response = client.get("/health/ready", headers=BEARER)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "fail"
    assert body["checks"]["migrations"]["current"] == ([revision] if revision else [])


def test_a_missing_sqlite_file_is_not_ready_and_is_not_created(tmp_path):
    path = tmp_path / "gone.sqlite3"
    app = create_app(make_test_config(f"sqlite:///{path}"))
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    assert not path.exists()


# -- a PostgreSQL server that stops and comes back ---------------------------------------------
@pytest.fixture(scope="module")
def restartable_pg(private_postgres_server):
    """A migrated database on this worker's private server (never the shared one)."""
    if "postgresql" not in os.environ.get("TEST_DATABASES", "sqlite,postgresql"):
        pytest.skip("PostgreSQL runs are switched off")
    if not isinstance(private_postgres_server, PostgresServer):
        pytest.skip("needs a server the tests started (TEST_POSTGRES_URL cannot be stopped)")
    url = private_postgres_server.create_database("booking_health")
    migrate_database(url)
    return private_postgres_server, url


def test_readiness_is_503_while_postgresql_is_down_and_200_once_it_is_back(restartable_pg):
    server, url = restartable_pg
    app = create_app(make_test_config(url, METRICS_TOKEN=TOKEN))
    client = app.test_client()
    try:
        assert client.get("/health/ready").status_code == 200
        server.stop()
        try:
            down = client.get("/health/ready")
            assert down.status_code == 503
            assert down.get_json() == {"status": "unavailable"}
            detail = client.get("/health/ready", headers=BEARER).get_json()
            assert detail["checks"]["database"]["status"] == "fail"
            assert detail["checks"]["migrations"]["status"] == "unknown"
            assert client.get("/health/live").status_code == 200  # the process is still up
        finally:
            server.start()
        back = client.get("/health/ready")
        assert back.status_code == 200 and back.get_json() == {"status": "ok"}
    finally:
        with app.app_context():
            db.engine.dispose()


# -- a database that never answers -------------------------------------------------------------
class HungEngine:
    """Stands in for an engine whose server accepted the connection and went silent."""

    def __init__(self):
        self.release = threading.Event()

    def connect(self):
        self.release.wait(30)
        raise ConnectionError("released")


def test_a_database_that_never_answers_fails_the_check_instead_of_holding_the_probe():
    settings = HealthSettings(timeout_seconds=0.2)
    probe = HealthProbe(settings, "sqlite:///unused.sqlite3", "migrations",
                        breakers=lambda: {"status": "ok", "states": {}},
                        broadcaster=lambda: {"status": "ok"})
    probe._engine = hung = HungEngine()
    try:
        result = probe.readiness()
    finally:
        hung.release.set()
    assert result.http_status == 503
    assert result.checks["database"] == {"status": "fail", "error": "no answer within 0.2s"}
    assert result.checks["migrations"]["status"] == "unknown"
