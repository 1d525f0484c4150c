"""The booking system's Flask application factory."""
from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import event

from app import models  # noqa: F401  (registers every table with the metadata)
from app.config import engine_options, instance_secret_key, load_config
from app.extensions import csrf, db, limiter, login_manager, mail, migrate, sock
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
    if not app.config.get("SECRET_KEY"):
        # Development without SECRET_KEY: this installation's own random key.
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)

    register_extensions(app)
    register_monitoring(app)
    register_event_handlers(app)
    register_url_converters(app)
    register_blueprints(app)
    register_body_limits(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    install_service_settings(app)
    register_commands(app)
    configure_logging(app)
    return app


def register_extensions(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    db.init_app(app)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it.
    app.teardown_appcontext(_end_read_only_transaction)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"),
                     render_as_batch=True, compare_type=True,
                     render_item=render_migration_item)
    csrf.init_app(app)
    sock.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    if app.config.get("TRUSTED_PROXY_COUNT"):
        # The client's real address and scheme from the proxies we trust (rate limits per IP).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    mail.init_app(app)
    from app.services import payments

    payments.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _configure_sqlite_connection)


def _end_read_only_transaction(exc: BaseException | None) -> None:
    if exc is None:
        from app.repositories.base import end_read_only_transaction

        end_read_only_transaction()


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_monitoring(app: Flask) -> None:
    from app import monitoring

    monitoring.init_app(app)


def register_event_handlers(app: Flask) -> None:
    """Subscribe every outbox handler. The registry is the process's (record_event and
    the dispatcher read it, in the web and worker processes alike); registering the
    same handlers for a second app changes nothing."""
    from app.services.core import events
    from app.services.messaging import notifications, session_messages, staff_emails
    from app.services.messaging import enquiry_emails
    from app.services.bookings import waitlist_offers
    from app.services.payments import invoices, refunds

    for handlers in (notifications.handlers, session_messages.handlers, staff_emails.handlers,
                     refunds.handlers, invoices.handlers, waitlist_offers.handlers,
                     enquiry_emails.handlers):
        events.registry.register(handlers)


def register_url_converters(app: Flask) -> None:
    """`<id:name>` for every row id in a URL (app.web.converters); before any route."""
    from app.web.converters import IdConverter

    app.url_map.converters["id"] = IdConverter


def register_body_limits(app: Flask) -> None:
    """Request body limits per route class, enforced while reading (app.web.limits),
    then what no request may carry (app.web.request_guards)."""
    from app.web import limits, request_guards

    limits.init_app(app)
    request_guards.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.web import api, booking, health, public
    from app.web import enquiries as enquiries_web
    from app.web import waitlist as waitlist_web
    from app.web import metrics as metrics_web
    from app.web import realtime as realtime_web
    from app.web import verify

    app.register_blueprint(public.bp)
    app.register_blueprint(booking.bp)
    app.register_blueprint(enquiries_web.bp)
    app.register_blueprint(waitlist_web.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_web.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(realtime_web.bp)
    realtime_web.init_app(app)
    csrf.exempt(api.bp)
    register_staff_blueprints(app)
    register_payment_blueprints(app)
    register_admin_blueprint(app)
    register_rate_limits(app)


def register_rate_limits(app: Flask) -> None:
    """Every Flask-Limiter limit, attached to its routes from one table."""
    from app.web import ratelimits

    ratelimits.init_app(app)


def register_payment_blueprints(app: Flask) -> None:
    from app.web import checkout, webhooks

    app.register_blueprint(checkout.bp)
    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)  # Stripe signs its requests instead


def register_admin_blueprint(app: Flask) -> None:
    from app.web import admin

    app.register_blueprint(admin.bp)


def register_staff_blueprints(app: Flask) -> None:
    from app.web import auth, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(trainer.bp)


def install_service_settings(app: Flask) -> None:
    """Build, once, what services read instead of Flask: the site's links (absolute
    URLs on PUBLIC_BASE_URL, also app.extensions["links"] for pages and the API) and
    the provider (who we are, on documents and emails) and the messaging settings
    with a renderer over this app's Jinja environment.
    See app.services.core.installed."""
    from app.services.core import alerts, brand, links, provider, switches
    from app.services.messaging import settings as messaging
    from app.services.payments import invoices

    site_links = links.Links.from_config(app.config, app.url_map)
    app.extensions[links.EXTENSION_KEY] = links.install(site_links)
    who_we_are = provider.install(provider.Provider.from_config(app.config))
    app.jinja_env.globals.update(brand=brand, provider=who_we_are)
    messaging.install(messaging.MessagingSettings.from_config(
        app.config, renderer=messaging.JinjaTemplates(app.jinja_env), provider=who_we_are))
    alerts.install(alerts.AlertSettings.from_config(app.config))
    switches.install(switches.SwitchDefaults.from_config(app.config))
    from app.services.bookings import waitlist_offers

    waitlist_offers.install(waitlist_offers.OfferPolicy.from_config(app.config))
    invoices.install(invoices.InvoiceSettings.from_config(app.config))


def register_error_handlers(app: Flask) -> None:
    from app.web.errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    from app.web import security_headers

    security_headers.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from app.web.formatting import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr, secrets redacted (app.monitoring.logs). Tests leave the
    root logger to pytest, whose caplog handler sees every record."""
    if not app.testing:
        from app.monitoring.logs import configure_logging as configure_json_logging

        configure_json_logging()
