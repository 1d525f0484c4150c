"""The booking system's Flask application factory."""
from __future__ import annotations

import logging
import os

from flask import Flask
from sqlalchemy import event

from app.config import load_config
from app import models  # noqa: F401  (registers every table with the metadata)
from app.extensions import csrf, db, migrate, sock
from app.models.types import render_migration_item


def create_app(config: dict | None = None) -> Flask:
    """Create the application; `config` overrides what the environment says."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    configure_logging(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"),
                     render_as_batch=True, compare_type=True,
                     render_item=render_migration_item)
    csrf.init_app(app)
    sock.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _configure_sqlite_connection)


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    from app.web import api, booking, health, public

    app.register_blueprint(public.bp)
    app.register_blueprint(booking.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(health.bp)
    csrf.exempt(api.bp)


def register_error_handlers(app: Flask) -> None:
    from app.web.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.web.formatting import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
