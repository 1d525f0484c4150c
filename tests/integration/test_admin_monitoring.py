"""The admin monitoring page (/admin/monitoring) and the performance views behind it."""
from __future__ import annotations

import html
import os
import re
from datetime import timedelta

import psycopg
import pytest
from conftest import make_test_config, migrate_database
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from app.models import Alert, Role, Severity, utcnow
from app.monitoring.metrics import WEBSOCKET_CONNECTIONS
from app.repositories import unit_of_work
from app.repositories.performance import PERFORMANCE_VIEWS
from app.services.core import events
from app.services.oversight.traffic import TrafficTally, record_traffic

from factories import UserFactory
from pg_server import PostgresServer
from staff_helpers import sign_in_without_password

ROUTE = "/sessions/<int:session_id>"


def cell(page: str, label: str) -> str:
    """The text of the first table cell with this data-label."""
    match = re.search(rf'data-label="{re.escape(label)}">(.*?)</t[dh]>', page, re.S)
    assert match, f"no cell labelled {label!r}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def some_traffic() -> None:
    """Ten requests to one route a minute ago, one of them a 500 (as every process's
    flushes would have stored them)."""
    tally = TrafficTally()
    at = utcnow() - timedelta(minutes=1)
    for status in [200] * 9 + [500]:
        tally.record(at=at, method="GET", route=ROUTE, status=status, seconds=0.04,
                     category="internal" if status == 500 else None,
                     severity="error" if status == 500 else None)
    record_traffic(tally.take())


def an_open_alert(message: str) -> None:
    with unit_of_work() as session:
        session.add(Alert(kind="test.monitoring", message=message, severity=Severity.CRITICAL))


def a_pending_delivery() -> None:
    events.registry.register([events.Handler("test.monitoring.probe",
                                             frozenset({"MonitoringProbe"}), lambda event: None)])
    try:
        with unit_of_work():
            events.record_event("MonitoringProbe", "x")
    finally:
        events.registry.unregister("test.monitoring.probe")


def test_admin_sees_health_traffic_alerts_backlog_and_connections(admin_client):
    some_traffic()
    an_open_alert("Card payments are failing: the payments circuit breaker opened.")
    a_pending_delivery()
    WEBSOCKET_CONNECTIONS.inc(3)
    try:
        response = admin_client.get("/admin/monitoring")
    finally:
        WEBSOCKET_CONNECTIONS.dec(3)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Health: " in page and cell(page, "State") == "OK"
    assert cell(page, "Breaker") == "Payments" and "Closed" in page
    # traffic: both windows, the route with its rate and error rate, errors by category
    assert cell(page, "Requests") == "10" and cell(page, "Error rate") == "10.0%"
    assert html.escape(ROUTE) in page
    assert cell(page, "Category") == "internal"
    assert "Card payments are failing" in page
    assert cell(page, "Waiting") == "1"
    assert int(cell(page, "WebSockets")) >= 3
    assert '<a href="/admin/monitoring" aria-current="page">Monitoring</a>' in page


def test_the_page_shows_what_each_database_can_say(admin_client, backend):
    page = admin_client.get("/admin/monitoring").get_data(as_text=True)
    if backend == "sqlite":
        assert "Database (SQLite)" in page
        assert cell(page, "Journal mode") == "wal"
        assert re.search(r'data-label="Table">bookings</th><td data-label="Rows">0<', page)
    else:
        assert "Database (PostgreSQL)" in page
        assert cell(page, "Connections").isdigit()
        assert re.search(r'data-label="Table">bookings</th>', page)
        assert "ix_bookings_session_id_status" in page
        # The suite's server does not load pg_stat_statements: say how to enable it.
        assert "shared_preload_libraries" in page and "CREATE EXTENSION" in page


def test_the_monitoring_page_is_linked_from_the_admin_navigation(admin_client):
    assert 'href="/admin/monitoring"' in admin_client.get("/admin/").get_data(as_text=True)


def test_trainers_are_refused_the_monitoring_page(trainer_client):
    assert trainer_client.get("/admin/monitoring").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/monitoring")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- the performance views (migration 0011) --------------------------------------------------
def test_performance_views_exist_after_migrating_on_postgresql_only(app, backend):
    views = set(inspect(db.engine).get_view_names())
    if backend == "sqlite":
        assert not views & set(PERFORMANCE_VIEWS)
        return
    assert set(PERFORMANCE_VIEWS) <= views
    # Without pg_stat_statements the statements view is empty rather than an error.
    assert db.session.execute(text("SELECT count(*) FROM perf_slow_statements")).scalar() == 0
    tables = {row.table_name for row in db.session.execute(text("SELECT * FROM perf_table_usage"))}
    assert {"bookings", "outbox_deliveries"} <= tables


@pytest.fixture(scope="module")
def pg_with_statements(private_postgres_server):
    """This worker's private server with pg_stat_statements loaded, and a migrated
    database that has the extension (created after the migration: the views still
    find it). The server's setting is put back afterwards."""
    if "postgresql" not in os.environ.get("TEST_DATABASES", "sqlite,postgresql"):
        pytest.skip("PostgreSQL runs are switched off")
    if not isinstance(private_postgres_server, PostgresServer):
        pytest.skip("needs a server the tests started (its settings change)")
    server = private_postgres_server

    def admin_sql(sql: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user={server.user} "
                             "dbname=postgres", autocommit=True) as conn:
            conn.execute(sql)

    admin_sql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    server.restart()
    try:
        url = server.create_database("booking_monitoring")
        migrate_database(url)
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user={server.user} "
                             "dbname=booking_monitoring", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        yield url
    finally:
        admin_sql("ALTER SYSTEM RESET shared_preload_libraries")
        server.restart()


def test_slowest_statements_appear_once_pg_stat_statements_is_enabled(pg_with_statements):
    app = create_app(make_test_config(pg_with_statements))
    try:
        with app.app_context():
            # the slowest statement by far, so it heads the table
            db.session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": 0.2})
            db.session.rollback()
            admin = UserFactory(role=Role.ADMIN, email="monitor@example.co.uk")
            client = sign_in_without_password(app.test_client(), admin)
            page = client.get("/admin/monitoring").get_data(as_text=True)
        assert "Slowest statements" in page
        assert "Statement timings need" not in page  # no how-to-enable notice
        assert "SELECT pg_sleep($1)" in page
        assert cell(page, "Calls").isdigit()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
