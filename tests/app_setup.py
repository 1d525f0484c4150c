"""How the tests build an app and a database: the config every test app starts
from, and migrations the way production runs them. Test modules import these from
here, never from conftest: with several conftest.py files (tests/e2e, tests/fuzz)
`from conftest import ...` gets whichever conftest was imported last."""
from __future__ import annotations

import os

from app import create_app
from app.extensions import db

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def migrate_database(url: str) -> None:
    """Build the schema the way production does: Alembic migrations, never create_all."""
    from flask_migrate import upgrade

    app = create_app({"APP_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "TRAFFIC_FLUSH_SECONDS": 0})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def make_test_config(database_url: str, **overrides) -> dict:
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PAYMENT_PROVIDER": "fake",
        "SEED_DEMO": False,
        # Emails stay in memory (mail.outbox); no background worker in tests.
        "MAIL_BACKEND": "locmem",
        "RUN_WORKER_IN_PROCESS": False,
        # Traffic figures are flushed when a test asks (flush_traffic), by no thread.
        "TRAFFIC_FLUSH_SECONDS": 0,
        # Sign-in rate limits off; the throttling tests switch them on.
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config
