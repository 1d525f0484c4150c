"""Shared fixtures. Every test that uses `app` (or anything built on it) runs
once on SQLite and once on a real PostgreSQL 15 that the suite starts itself.

Choose backends with TEST_DATABASES=sqlite,postgresql (default: both). Outside
CI a machine without PostgreSQL binaries skips the PostgreSQL runs; in CI
(CI=true) that is an error.
"""
from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from pg_server import PostgresServer, PostgresUnavailable  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")
            if b.strip()]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# -- database servers and migrated databases ------------------------------------
@pytest.fixture(scope="session")
def postgres_server():
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:  # an existing server the developer points us at
        yield url
        return
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    server.destroy()


def migrate_database(url: str) -> None:
    """Build the schema the way production does: Alembic migrations, never create_all."""
    from flask_migrate import upgrade

    app = create_app({"APP_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database on one backend, shared by the tests of a session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database("booking_test") if isinstance(server, PostgresServer) \
            else server
    migrate_database(url)
    return url


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def make_test_config(database_url: str, **overrides) -> dict:
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PAYMENT_PROVIDER": "fake",
        "SEED_DEMO": False,
    }
    config.update(overrides)
    return config


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
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


# -- a line in the summary that shows which backends ran ------------------------
_BACKEND_IN_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql)(?:-[^\]]*)?\]")
_backend_counts: Counter = Counter()


def pytest_runtest_logreport(report):
    if report.when == "call":
        match = _BACKEND_IN_ID.search(report.nodeid)
        if match:
            _backend_counts[(match.group(1), report.outcome)] += 1


def pytest_terminal_summary(terminalreporter):
    if not _backend_counts:
        return
    terminalreporter.section("database backends")
    for name in ("sqlite", "postgresql"):
        counts = {o: n for (b, o), n in _backend_counts.items() if b == name}
        if counts:
            terminalreporter.write_line(
                f"{name}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
