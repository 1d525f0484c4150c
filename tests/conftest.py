"""Shared fixtures. Every test that uses `app` (or anything built on it) runs
once on SQLite and once on a real PostgreSQL 15 that the suite starts itself.

Choose backends with TEST_DATABASES=sqlite,postgresql (default: both). Outside
CI a machine without PostgreSQL binaries skips the PostgreSQL runs; in CI
(CI=true) that is an error.

Under pytest-xdist (`make test` runs `-n auto`) each worker has databases of its
own: SQLite files under its own tmp_path, and its own database on the one
PostgreSQL server the run shares. The process that owns the run (the xdist
controller, or pytest itself when serial) stops every server at the end.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).parent))

from pg_server import PostgresServer, PostgresUnavailable, RunServers  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app_setup import IN_CI, make_test_config, migrate_database  # noqa: E402,F401

BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")
            if b.strip()]


# -- database servers and migrated databases ------------------------------------
# The run's directory: made by the process that owns the run, inherited by the
# xdist workers through the environment.
RUN_DIR_ENV = "BOOKING_TESTS_RUN_DIR"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...; "" when serial


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        os.environ[RUN_DIR_ENV] = tempfile.mkdtemp(prefix="booking-tests-")


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(RUN_DIR_ENV):
        run_dir = os.environ.pop(RUN_DIR_ENV)
        RunServers(run_dir).destroy_all()
        shutil.rmtree(run_dir, ignore_errors=True)


def _run_servers() -> RunServers:
    return RunServers(os.environ[RUN_DIR_ENV])


def _postgres_or_skip(start):
    try:
        return start()
    except PostgresUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not available: {exc}")


@pytest.fixture(scope="session")
def postgres_server():
    """The run's PostgreSQL server, shared by every worker (or TEST_POSTGRES_URL)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:  # an existing server the developer points us at
        return url
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return _postgres_or_skip(
        lambda: _run_servers().shared(max_connections=200 + 100 * workers))


@pytest.fixture(scope="session")
def private_postgres_server():
    """A PostgreSQL server of this worker's own, for tests that restart it under
    their connections (the shared one serves the other workers meanwhile)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        yield url
        return
    name = f"private-{WORKER or 'main'}"
    server = _postgres_or_skip(lambda: _run_servers().private(name))
    yield server
    _run_servers().destroy(name, server)


def worker_database(url: str) -> str:
    """Under xdist, a database of this worker's own next to the one `url` names."""
    if not WORKER:
        return url
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{WORKER}"
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database on one backend, shared by the tests of a session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        if isinstance(server, PostgresServer):
            url = server.create_database(f"booking_test_{WORKER}" if WORKER else "booking_test")
        else:
            url = worker_database(server)
    migrate_database(url)
    return url


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            # The analytics facts are materialized views there: emptied by a refresh.
            views = [t.name for t in db.metadata.sorted_tables if t.info.get("materialized_view")]
            tables = [name for name in tables if name not in views]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            for view in views:
                conn.execute(text(f"REFRESH MATERIALIZED VIEW {view}"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app_config() -> dict:
    """Per-test config overrides; override this fixture in a module to change settings."""
    return {}


@pytest.fixture
def app(database_url, app_config, tmp_path):
    app = create_app(make_test_config(database_url,
                                      **app_config))
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_session(app):
    return db.session


@pytest.fixture
def count_statements(app):
    """`with count_statements() as sent: client.get(...)`; then `sent.count` is the
    number of SQL statements the request sent (see tests/query_count.py)."""
    from query_count import statements_sent

    return lambda: statements_sent(db.engine)


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch):
    """Staff accounts are hashed and signed in with argon2's cheapest parameters: the
    real ones (tests/unit/test_passwords.py, marked real_password_hashing) cost 0.14 s
    a hash or a check, several times per test that signs someone in."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        from argon2 import PasswordHasher, profiles

        from app.services.staff import passwords

        monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


# -- staff accounts and signed-in clients ------------------------------------------
# Helpers in tests/staff_helpers.py (import them from there, not from conftest).
from staff_helpers import (  # noqa: E402
    STAFF_PASSWORD, make_staff_user, sign_in,
)


@pytest.fixture
def login(fast_password_hashing):
    """`login(client, user)`: sign a test client in as a user made by make_staff_user
    (or the staff_user fixture), through the real sign-in form."""
    return sign_in


@pytest.fixture
def staff_user(app, fast_password_hashing):
    """`staff_user(Role.TRAINER, full_name=...)`: more accounts with working passwords."""
    return make_staff_user


@pytest.fixture
def admin_user(app, fast_password_hashing):
    from app.models import Role

    return make_staff_user(Role.ADMIN, full_name="Alex Admin")


@pytest.fixture
def trainer_user(app, fast_password_hashing):
    from app.models import Role

    return make_staff_user(Role.TRAINER, full_name="Tess Trainer")


@pytest.fixture
def admin_client(app, admin_user):
    return sign_in(app.test_client(), admin_user)


@pytest.fixture
def trainer_client(app, trainer_user):
    return sign_in(app.test_client(), trainer_user)


# -- parallel runs: tests that share an expensive fixture stay on one worker -----
@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (--dist loadgroup)
def pytest_collection_modifyitems(items):
    """A module-scoped fixture (a gunicorn, a private PostgreSQL) or the browser is
    built once per worker that runs a test needing it; keep those tests together."""
    for item in items:
        fixturedefs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for name, defs in fixturedefs.items():
            if name == "browser":
                item.add_marker(pytest.mark.xdist_group("browser"))
            elif defs and defs[-1].scope == "module":
                item.add_marker(pytest.mark.xdist_group(item.module.__name__))


# -- lines in the summary: which backends ran, what the hostile-input corpus sent ----
# Here, not in a subdirectory's conftest: the xdist controller, which writes the
# summary from the workers' reports, loads only this one.
_BACKEND_IN_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql)(?:-[^\]]*)?\]")
_backend_counts: Counter = Counter()
_corpus_totals: Counter = Counter()  # recorded by tests/fuzz/corpus.py


def pytest_runtest_logreport(report):
    if report.when == "call":
        match = _BACKEND_IN_ID.search(report.nodeid)
        if match:
            _backend_counts[(match.group(1), report.outcome)] += 1
        for name, value in report.user_properties:
            if name in ("hostile_requests", "hostile_5xx"):
                _corpus_totals[name] += value


def pytest_terminal_summary(terminalreporter):
    if _backend_counts:
        terminalreporter.section("database backends")
        for name in ("sqlite", "postgresql"):
            counts = {o: n for (b, o), n in _backend_counts.items() if b == name}
            if counts:
                terminalreporter.write_line(
                    f"{name}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
    if _corpus_totals:
        terminalreporter.section("hostile-input corpus")
        terminalreporter.write_line(f"{_corpus_totals['hostile_requests']} hostile requests "
                                    f"sent, {_corpus_totals['hostile_5xx']} answered 5xx")


# -- browser tests: Debian's Chromium driven by Playwright against a live server ----
# Playwright's own browser download cannot work on these machines, so the tests
# launch the system binary (CHROMIUM_PATH, default /usr/bin/chromium) and skip
# when it is missing outside CI.
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]


@pytest.fixture
def live_server(app, backend):
    """The app served over real HTTP on a free loopback port (SQLite only: one run is enough)."""
    if backend != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    app.config["WTF_CSRF_ENABLED"] = True  # the browser carries real CSRF tokens
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
