"""Configuration read from environment variables, with safe embedded defaults.

`APP_ENV` picks the mode: ``development`` (default: SQLite under instance/,
fake payments, emails written to files, a random secret key kept in
instance/secret_key), ``production`` (refuses to start without a random-looking
SECRET_KEY of 32+ characters, PUBLIC_BASE_URL and TRUSTED_HOSTS, and refuses
the fake payment provider) or ``testing`` (used by the test suite).
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.sansio.utils import host_is_trusted


class ConfigError(RuntimeError):
    """The environment does not describe a configuration we can run with."""


def _day_list(env: dict, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated whole numbers of days ("90,30"), largest first, no repeats."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        days = {int(part) for part in str(raw).split(",") if part.strip()}
    except ValueError as exc:
        raise ConfigError(f"{name} must be whole numbers of days separated by commas, "
                          f"got {raw!r}") from exc
    if not days or min(days) < 1:
        raise ConfigError(f"{name} must list at least one number of days, each 1 or more")
    return tuple(sorted(days, reverse=True))


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(env: dict, instance_path: str) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'booking.sqlite3'}"
    # Heroku-style and bare postgres URLs get the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _pool_options(env: dict) -> dict:
    """The connection pool of each process (README, "Server set-up").

    A fixed pool with no overflow: requests beyond DATABASE_POOL_SIZE queue for a
    connection (up to DATABASE_POOL_TIMEOUT seconds, then 503) instead of opening
    and closing connections by the hundred under load. Each checkout pings the
    server (DATABASE_POOL_PRE_PING), so a database restart costs no request its
    answer."""
    size = _int(env, "DATABASE_POOL_SIZE", 10)
    overflow = _int(env, "DATABASE_POOL_OVERFLOW", 0)
    timeout = _float(env, "DATABASE_POOL_TIMEOUT", 10.0)
    if size < 1 or overflow < 0 or timeout <= 0:
        raise ConfigError("DATABASE_POOL_SIZE must be at least 1, DATABASE_POOL_OVERFLOW at "
                          "least 0 and DATABASE_POOL_TIMEOUT more than 0 seconds")
    return {"pool_size": size, "max_overflow": overflow, "pool_timeout": timeout,
            "pool_recycle": _int(env, "DATABASE_POOL_RECYCLE", 3600),
            "pool_pre_ping": _bool(env, "DATABASE_POOL_PRE_PING", True)}


_POOL_SIZING = ("pool_size", "max_overflow", "pool_timeout")


def engine_options(database_url: str, options: dict) -> dict:
    """`options` as the database can take them: an in-memory SQLite database is one
    connection, with no pool to size."""
    if database_url.startswith("sqlite") and (":memory:" in database_url
                                              or database_url.rstrip("/") == "sqlite:"):
        return {k: v for k, v in options.items() if k not in _POOL_SIZING}
    return options


def _public_base_url(env: dict, is_production: bool, port: int) -> str:
    """The address customers reach the site at: every absolute link (emails, API
    answers, the card provider's return URLs) is built on it, never on a request's
    Host header, so production must say what it is."""
    raw = (env.get("PUBLIC_BASE_URL") or "").strip()
    if not raw:
        if is_production:
            raise ConfigError("PUBLIC_BASE_URL must be set when APP_ENV=production "
                              "(e.g. https://book.example.co.uk): links in emails and API "
                              "answers are built on it")
        return f"http://127.0.0.1:{port}"
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query \
            or parts.fragment:
        raise ConfigError("PUBLIC_BASE_URL must be an http:// or https:// address such as "
                          f"https://book.example.co.uk, got {raw!r}")
    return raw.rstrip("/")


# -- secrets and the hosts we answer for -------------------------------------------------
# Keys that are public (this code, its docs, common examples): never good in production.
KNOWN_SECRET_KEYS = frozenset({
    "dev-only-insecure-secret-key", "changeme", "change-me", "secret", "secret-key",
    "your-secret-key", "development", "dev", "test", "testing",
})
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 10
DEV_SECRET_KEY_FILE = "secret_key"
GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def check_production_secret_key(secret_key: str) -> None:
    """Raise ConfigError unless `secret_key` looks like one a generator made: long,
    varied and not a published value. The key signs sessions, CSRF tokens and every
    manage link, so a guessable one opens every booking."""
    if not secret_key:
        raise ConfigError(f"SECRET_KEY must be set when APP_ENV=production ({GENERATE_HINT})")
    if secret_key.strip().lower() in KNOWN_SECRET_KEYS:
        raise ConfigError("SECRET_KEY is a published default and is refused when "
                          f"APP_ENV=production ({GENERATE_HINT})")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters when "
                          f"APP_ENV=production, got {len(secret_key)} ({GENERATE_HINT})")
    if len(set(secret_key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        raise ConfigError("SECRET_KEY does not look random (too few different characters); "
                          f"refused when APP_ENV=production ({GENERATE_HINT})")


def _secret_key(env: dict, is_production: bool) -> str | None:
    """SECRET_KEY; outside production None when unset, and create_app then uses
    this installation's own key (`instance_secret_key`)."""
    secret_key = env.get("SECRET_KEY") or ""
    if is_production:
        check_production_secret_key(secret_key)
    return secret_key or None


def instance_secret_key(instance_path: str) -> str:
    """This installation's own random key, made once and kept in instance/secret_key
    (readable by its owner only), so development sessions and links survive restarts
    without the key being a constant anyone can read in the source."""
    path = Path(instance_path) / DEV_SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, perhaps a moment ago by another process
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)  # another process created the file and is writing it
    raise ConfigError(f"{path} is empty: delete it and start again, or set SECRET_KEY")


def _trusted_hosts(env: dict, is_production: bool, public_base_url: str) -> list[str] | None:
    """TRUSTED_HOSTS, comma-separated host names (".example.co.uk" allows its
    subdomains). Required in production, and must include PUBLIC_BASE_URL's host."""
    hosts = [h.strip().lower() for h in (env.get("TRUSTED_HOSTS") or "").split(",") if h.strip()]
    if not hosts:
        if is_production:
            raise ConfigError("TRUSTED_HOSTS must be set when APP_ENV=production: the host "
                              "names the site answers to, comma-separated (e.g. "
                              "book.example.co.uk); other Host headers get 400")
        return None
    public_host = (urlsplit(public_base_url).hostname or "").lower()
    if is_production and not host_is_trusted(public_host, hosts):
        raise ConfigError(f"TRUSTED_HOSTS must include PUBLIC_BASE_URL's host {public_host!r}, "
                          f"got {', '.join(hosts)}")
    return hosts


def load_config(instance_path: str, env: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment."""
    env = dict(os.environ if env is None else env)
    app_env = env.get("APP_ENV", "development").strip().lower()
    if app_env not in {"development", "production", "testing"}:
        raise ConfigError(f"APP_ENV must be development, production or testing, got {app_env!r}")
    is_production = app_env == "production"

    secret_key = _secret_key(env, is_production)

    payment_provider = env.get("PAYMENT_PROVIDER", "fake").strip().lower()
    if payment_provider not in {"fake", "stripe"}:
        raise ConfigError(f"PAYMENT_PROVIDER must be fake or stripe, got {payment_provider!r}")
    if is_production and payment_provider == "fake":
        raise ConfigError("PAYMENT_PROVIDER=fake is refused when APP_ENV=production")
    port = _int(env, "PORT", 5000)
    public_base_url = _public_base_url(env, is_production, port)
    trusted_hosts = _trusted_hosts(env, is_production, public_base_url)
    metrics = _metrics_config(env, is_production)

    return {
        "APP_ENV": app_env,
        "IS_PRODUCTION": is_production,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": _pool_options(env),
        "PORT": port,
        "PUBLIC_BASE_URL": public_base_url,
        # Flask answers 400 to a request whose Host is not one of these (None: any).
        "TRUSTED_HOSTS": trusted_hosts,
        "MANAGE_LINK_DAYS_AFTER_COURSE": _int(env, "MANAGE_LINK_DAYS_AFTER_COURSE", 42),
        "PAYMENT_PROVIDER": payment_provider,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        # Stripe timeouts and the circuit breakers around payments (issue 4).
        **_payment_config(env),
        # Defaults of the features an administrator switches on the settings page.
        "INVOICE_PAYMENTS_ENABLED": _bool(env, "INVOICE_PAYMENTS_ENABLED", True),
        "DISCOUNTS_ENABLED": _bool(env, "DISCOUNTS_ENABLED", True),
        "WAITLIST_ENABLED": _bool(env, "WAITLIST_ENABLED", True),
        # How long a waiting-list offer holds its seats (shorter close to the course).
        "WAITLIST_OFFER_HOURS": _int(env, "WAITLIST_OFFER_HOURS", 12),
        # Paying by invoice: who may, when it is due, where to pay, when we chase.
        **_invoice_config(env),
        "HOLD_MINUTES": _int(env, "HOLD_MINUTES", 30),
        "MAX_SEATS_PER_BOOKING": _int(env, "MAX_SEATS_PER_BOOKING", 12),
        # A requalification course takes attendees whose certificate expired at most
        # this many days before the course starts (UK dates); later, the full course.
        "REQUAL_GRACE_DAYS": _int(env, "REQUAL_GRACE_DAYS", 28),
        # A percentage off bookings of GROUP_DISCOUNT_MIN_SEATS or more; 0 = none.
        "GROUP_DISCOUNT_PERCENT": _int(env, "GROUP_DISCOUNT_PERCENT", 0),
        "GROUP_DISCOUNT_MIN_SEATS": _int(env, "GROUP_DISCOUNT_MIN_SEATS", 5),
        "FULL_REFUND_DAYS": _int(env, "FULL_REFUND_DAYS", 14),
        "NO_REFUND_HOURS": _int(env, "NO_REFUND_HOURS", 72),
        "NAME_CHANGE_CUTOFF_HOURS": _int(env, "NAME_CHANGE_CUTOFF_HOURS", 24),
        # The dashboard's "sessions at risk": fewer seats sold than this a week before.
        "ANALYTICS_AT_RISK_MIN_SEATS": _int(env, "ANALYTICS_AT_RISK_MIN_SEATS", 4),
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int(env, "MAIL_PORT", 25),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", False),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "bookings@reactfasttraining.co.uk"),
        # Notifications, outbox worker, scheduled jobs and documents (issue 6).
        **_notification_config(env, instance_path, app_env),
        "REDIS_URL": env.get("REDIS_URL", ""),
        # Live availability over WebSocket (issue 5).
        **_realtime_config(env, public_base_url),
        "SEED_DEMO": _bool(env, "SEED_DEMO", not is_production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "WTF_CSRF_TIME_LIMIT": None,
        # Staff accounts: sign-in, sessions, rate limits, password reset (issue 7).
        **_auth_config(env, is_production),
        # Rate limits, hold limits and the email cap (README "Security").
        **_abuse_config(env, is_production),
        # Alert rules, their thresholds and the alert email rate limit.
        **_alert_config(env),
        **metrics,
        **_readiness_config(env),
        # Request body limits per route class, enforced while reading (app.web.limits).
        **_body_limit_config(env),
    }


# -- operations: who may read /metrics ------------------------------------------------
def _metrics_config(env: dict, is_production: bool) -> dict:
    """METRICS_TOKEN: `/metrics` (and health detail) need `Authorization: Bearer <token>`.
    Production must choose: a token, or METRICS_PUBLIC=true for a network where only
    the scraper can reach the app."""
    token = (env.get("METRICS_TOKEN") or "").strip()
    public = _bool(env, "METRICS_PUBLIC", False)
    if is_production and not token and not public:
        raise ConfigError("METRICS_TOKEN must be set when APP_ENV=production (Prometheus then "
                          "sends Authorization: Bearer <token>), or METRICS_PUBLIC=true if "
                          "only your scraper can reach /metrics")
    return {"METRICS_TOKEN": token, "METRICS_PUBLIC": public}


# -- operations: readiness (/health/ready) ----------------------------------------------
READY_CHECKS = ("database", "migrations", "outbox", "broadcaster", "breakers")


def parse_ready_checks(value) -> frozenset[str]:
    """`"database,migrations"` (or an iterable of names) as a set of readiness check names."""
    names = value.split(",") if isinstance(value, str) else list(value)
    checks = frozenset(n.strip().lower() for n in names if n.strip())
    unknown = checks - set(READY_CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {', '.join(READY_CHECKS)}")
    return checks


def _readiness_config(env: dict) -> dict:
    """Which failing checks take an instance out of the load balancer (the others only
    report "degraded"), the outbox lag allowed, and how long a check may take."""
    try:
        required = parse_ready_checks(env.get("READY_REQUIRED_CHECKS") or "database,migrations")
    except ValueError as exc:
        raise ConfigError(f"READY_REQUIRED_CHECKS: {exc}") from None
    return {
        "READY_REQUIRED_CHECKS": required,
        "READY_OUTBOX_LAG_SECONDS": _float(env, "READY_OUTBOX_LAG_SECONDS", 600.0),
        "READY_TIMEOUT_SECONDS": _float(env, "READY_TIMEOUT_SECONDS", 2.0),
    }


# -- alerts: rules evaluated by the worker, and the email rate limit ----------------
def _alert_config(env: dict) -> dict:
    return {
        # Critical alerts are emailed at once, but at most once per rule and subject in
        # this many minutes, and at most ALERT_EMAILS_PER_HOUR in any hour overall.
        "ALERT_EMAIL_INTERVAL_MINUTES": _int(env, "ALERT_EMAIL_INTERVAL_MINUTES", 30),
        "ALERT_EMAILS_PER_HOUR": _int(env, "ALERT_EMAILS_PER_HOUR", 10),
        # The sliding window the rate rules look at.
        "ALERT_WINDOW_MINUTES": _int(env, "ALERT_WINDOW_MINUTES", 5),
        "ALERT_ERROR_RATE": _float(env, "ALERT_ERROR_RATE", 0.05),
        "ALERT_MIN_REQUESTS": _int(env, "ALERT_MIN_REQUESTS", 20),
        "ALERT_PAYMENT_FAILURE_RATE": _float(env, "ALERT_PAYMENT_FAILURE_RATE", 0.25),
        "ALERT_MIN_PAYMENTS": _int(env, "ALERT_MIN_PAYMENTS", 4),
        "ALERT_DATABASE_ERRORS": _int(env, "ALERT_DATABASE_ERRORS", 1),
        "OUTBOX_ALERT_AGE_SECONDS": _int(env, "OUTBOX_ALERT_AGE_SECONDS", 600),
    }


# -- notifications, outbox worker, jobs and documents ------------------------------
MAIL_BACKENDS = {
    # "file" is ours: one .eml per message (Flask-Mailman's own writes .log batches).
    "file": "app.services.messaging.mail_backend",
    "smtp": "smtp",
    "locmem": "locmem",
    "console": "console",
    "dummy": "dummy",
}


def _notification_config(env: dict, instance_path: str, app_env: str) -> dict:
    backend = (env.get("MAIL_BACKEND") or ("smtp" if env.get("MAIL_SERVER") else "file")).strip()
    if backend.lower() not in MAIL_BACKENDS and "." not in backend:
        raise ConfigError(f"MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}, got {backend!r}")
    return {
        "MAIL_BACKEND": MAIL_BACKENDS.get(backend.lower(), backend),
        "MAIL_FILE_PATH": env.get("MAIL_FILE_PATH") or str(Path(instance_path) / "mail"),
        "MAIL_USE_SSL": _bool(env, "MAIL_USE_SSL", False),
        "MAIL_TIMEOUT": _int(env, "MAIL_TIMEOUT", 30),
        # Comma-separated; empty means every active admin account.
        "ADMIN_ALERT_EMAILS": env.get("ADMIN_ALERT_EMAILS", ""),
        # The dispatcher thread inside each web process (embedded mode); in
        # production run `flask --app wsgi worker` processes instead.
        "RUN_WORKER_IN_PROCESS": _bool(env, "RUN_WORKER_IN_PROCESS", app_env == "development"),
        "WORKER_POLL_SECONDS": _int(env, "WORKER_POLL_SECONDS", 2),
        "SCHEDULER_TICK_SECONDS": _int(env, "SCHEDULER_TICK_SECONDS", 30),
        "OUTBOX_MAX_ATTEMPTS": _int(env, "OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_BACKOFF_BASE_SECONDS": _int(env, "OUTBOX_BACKOFF_BASE_SECONDS", 30),
        "OUTBOX_BACKOFF_MAX_SECONDS": _int(env, "OUTBOX_BACKOFF_MAX_SECONDS", 6 * 3600),
        "OUTBOX_LEASE_SECONDS": _int(env, "OUTBOX_LEASE_SECONDS", 300),
        "OUTBOX_BATCH_SIZE": _int(env, "OUTBOX_BATCH_SIZE", 20),
        "REMINDER_DAYS_BEFORE": _int(env, "REMINDER_DAYS_BEFORE", 2),
        # Days before a certificate expires that its reminders go out: "90,30" sends two.
        "CERTIFICATE_REMINDER_DAYS": _day_list(env, "CERTIFICATE_REMINDER_DAYS", (90, 30)),
        # Retention (see README "Personal data retention").
        "PERSONAL_DATA_RETENTION_YEARS": _int(env, "PERSONAL_DATA_RETENTION_YEARS", 7),
        "UNPAID_BOOKING_RETENTION_DAYS": _int(env, "UNPAID_BOOKING_RETENTION_DAYS", 90),
        "ACCESS_NEEDS_RETENTION_DAYS": _int(env, "ACCESS_NEEDS_RETENTION_DAYS", 30),
        # The traffic window (request/error figures per minute, shared by all processes):
        # seconds between a process's writes (0 = only when asked, the tests' default)
        # and days the per-minute rows are kept.
        "TRAFFIC_FLUSH_SECONDS": _float(env, "TRAFFIC_FLUSH_SECONDS",
                                        0 if app_env == "testing" else 10),
        "TRAFFIC_RETENTION_DAYS": _int(env, "TRAFFIC_RETENTION_DAYS", 7),
        # The provider as shown on emails, receipts and certificates.
        "PROVIDER_NAME": env.get("PROVIDER_NAME", "React Fast Training"),
        "PROVIDER_ADDRESS": env.get("PROVIDER_ADDRESS", "Yorkshire, United Kingdom"),
        "PROVIDER_EMAIL": env.get("PROVIDER_EMAIL", "bookings@reactfasttraining.co.uk"),
        "PROVIDER_PHONE": env.get("PROVIDER_PHONE", "01904 000000"),
        "PROVIDER_VAT_NUMBER": env.get("PROVIDER_VAT_NUMBER",
                                       "" if app_env == "production" else "GB 123 4567 89"),
        "VAT_RATE_PERCENT": _int(env, "VAT_RATE_PERCENT", 20),
        "ARRIVE_MINUTES_BEFORE": _int(env, "ARRIVE_MINUTES_BEFORE", 15),
    }


# -- paying by invoice -------------------------------------------------------------
def _invoice_config(env: dict) -> dict:
    raw_days = env.get("INVOICE_REMINDER_DAYS", "0,7,14")
    try:
        reminder_days = tuple(sorted({int(part) for part in raw_days.split(",") if part.strip()}))
    except ValueError as exc:
        raise ConfigError("INVOICE_REMINDER_DAYS must be whole numbers of days after the due "
                          f"date separated by commas, got {raw_days!r}") from exc
    if any(day < 0 for day in reminder_days):
        raise ConfigError(f"INVOICE_REMINDER_DAYS cannot be negative, got {raw_days!r}")
    return {
        "MIN_SEATS_FOR_INVOICE": _int(env, "MIN_SEATS_FOR_INVOICE", 1),
        "INVOICE_DUE_DAYS": _int(env, "INVOICE_DUE_DAYS", 30),
        "INVOICE_REMINDER_DAYS": reminder_days,
        "INVOICE_NUMBER_PREFIX": env.get("INVOICE_NUMBER_PREFIX", "INV-"),
        "CREDIT_NOTE_NUMBER_PREFIX": env.get("CREDIT_NOTE_NUMBER_PREFIX", "CN-"),
        "INVOICE_BANK_NAME": env.get("INVOICE_BANK_NAME", ""),
        "INVOICE_BANK_ACCOUNT_NAME": env.get("INVOICE_BANK_ACCOUNT_NAME", ""),
        "INVOICE_BANK_SORT_CODE": env.get("INVOICE_BANK_SORT_CODE", ""),
        "INVOICE_BANK_ACCOUNT": env.get("INVOICE_BANK_ACCOUNT", ""),
    }


# -- payments: Stripe timeouts and circuit breakers ----------------------------------
def _payment_config(env: dict) -> dict:
    return {
        # Short, explicit timeouts: a slow Stripe must fail fast and count against
        # the breaker rather than hold a web worker (the SDK's default is 80 s).
        "STRIPE_CONNECT_TIMEOUT_SECONDS": _float(env, "STRIPE_CONNECT_TIMEOUT_SECONDS", 3.0),
        "STRIPE_TIMEOUT_SECONDS": _float(env, "STRIPE_TIMEOUT_SECONDS", 10.0),
        # One breaker per integration point: creating checkouts, refunds, and
        # applying webhooks (our database). Failures in a row before it opens,
        # and seconds it stays open before one trial call is let through.
        "PAYMENTS_BREAKER_FAIL_MAX": _int(env, "PAYMENTS_BREAKER_FAIL_MAX", 5),
        "PAYMENTS_BREAKER_RESET_TIMEOUT": _float(env, "PAYMENTS_BREAKER_RESET_TIMEOUT", 60.0),
        "REFUNDS_BREAKER_FAIL_MAX": _int(env, "REFUNDS_BREAKER_FAIL_MAX", 5),
        "REFUNDS_BREAKER_RESET_TIMEOUT": _float(env, "REFUNDS_BREAKER_RESET_TIMEOUT", 120.0),
        "WEBHOOKS_BREAKER_FAIL_MAX": _int(env, "WEBHOOKS_BREAKER_FAIL_MAX", 10),
        "WEBHOOKS_BREAKER_RESET_TIMEOUT": _float(env, "WEBHOOKS_BREAKER_RESET_TIMEOUT", 30.0),
    }


# -- live availability (WebSocket) --------------------------------------------------
def _realtime_config(env: dict, public_base_url: str) -> dict:
    transport = env.get("REALTIME_TRANSPORT", "auto").strip().lower()
    if transport not in {"auto", "local", "postgres", "redis"}:
        raise ConfigError(f"REALTIME_TRANSPORT must be auto, local, postgres or redis, got {transport!r}")
    return {
        "REALTIME_TRANSPORT": transport,
        "LOW_AVAILABILITY_THRESHOLD": _int(env, "LOW_AVAILABILITY_THRESHOLD", 3),
        "WS_PING_SECONDS": _float(env, "WS_PING_SECONDS", 25.0),
        "WS_QUEUE_LIMIT": _int(env, "WS_QUEUE_LIMIT", 100),
        "WS_SEND_TIMEOUT_SECONDS": _float(env, "WS_SEND_TIMEOUT_SECONDS", 10.0),
        "WS_SNAPSHOT_LIMIT": _int(env, "WS_SNAPSHOT_LIMIT", 500),
        # flask-sock: clients send nothing, so refuse big messages outright.
        "SOCK_SERVER_OPTIONS": {"max_message_size": 4096},
        **_websocket_limits(env),
        "ALLOWED_ORIGINS": _allowed_origins(env, public_base_url),
    }


def _websocket_limits(env: dict) -> dict:
    """Each open WebSocket holds a gunicorn thread: admit at most
    WS_MAX_PER_PROCESS (default GUNICORN_THREADS less a quarter, at least 4, kept
    for plain requests) and WS_MAX_PER_CLIENT from one address."""
    threads = _int(env, "GUNICORN_THREADS", 1000)
    reserve = max(4, threads // 4)
    per_process = _int(env, "WS_MAX_PER_PROCESS", max(0, threads - reserve))
    if env.get("GUNICORN_THREADS") and per_process >= threads:
        raise ConfigError(f"WS_MAX_PER_PROCESS ({per_process}) must be below GUNICORN_THREADS "
                          f"({threads}): each WebSocket holds a thread, and plain requests "
                          "need some")
    per_client = _int(env, "WS_MAX_PER_CLIENT", 8)
    if per_process < 0 or per_client < 0:
        raise ConfigError("WS_MAX_PER_PROCESS and WS_MAX_PER_CLIENT must be 0 or more")
    return {"WS_MAX_PER_PROCESS": per_process, "WS_MAX_PER_CLIENT": per_client}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s)/ws(s) URL, lower-cased and
    without a default port; None for anything else ("null", paths, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _allowed_origins(env: dict, public_base_url: str) -> tuple[str, ...]:
    """ALLOWED_ORIGINS, comma-separated (default: PUBLIC_BASE_URL's origin): the
    pages allowed to open the live-availability WebSocket."""
    raw = [o for o in (env.get("ALLOWED_ORIGINS") or "").split(",") if o.strip()]
    origins = []
    for item in raw or [public_base_url]:
        origin = origin_of(item)
        if origin is None or urlsplit(item.strip()).path not in {"", "/"}:
            raise ConfigError(f"ALLOWED_ORIGINS must list origins such as "
                              f"https://book.example.co.uk, got {item.strip()!r}")
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


# -- staff accounts: sign-in, sessions, rate limits, password reset ----------------------
def _auth_config(env: dict, is_production: bool) -> dict:
    return {
        # The remember-me cookie is never set (staff sign in per browser session),
        # but if it ever is, it gets the same protection as the session cookie.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": is_production,
        # A signed-in session stops working this long after sign-in.
        "STAFF_SESSION_MAX_AGE_HOURS": _int(env, "STAFF_SESSION_MAX_AGE_HOURS", 12),
        # Seconds a password reset link works (it also dies once used).
        "PASSWORD_RESET_MAX_AGE": _int(env, "PASSWORD_RESET_MAX_AGE", 3600),
        # Proxies in front of the app (load balancer, ...) whose X-Forwarded-For and
        # X-Forwarded-Proto to trust; 0 = none. Per-IP limits need the real client IP.
        "TRUSTED_PROXY_COUNT": _int(env, "TRUSTED_PROXY_COUNT", 0),
    }


# -- abuse limits: Flask-Limiter, seat holds, emails per recipient -------------------------
# Every Flask-Limiter limit, by the variable that sets it (limits' notation: "5/minute",
# "10/minute;100/hour"); app.web.ratelimits says which routes each one guards.
RATE_LIMIT_DEFAULTS = {
    "LOGIN_RATE_LIMIT_PER_ACCOUNT": "5/minute",
    "LOGIN_RATE_LIMIT_PER_IP": "20/minute",
    "PASSWORD_RESET_RATE_LIMIT_PER_ACCOUNT": "3/hour",
    "PASSWORD_RESET_RATE_LIMIT_PER_IP": "10/hour",
    "BOOKING_RATE_LIMIT": "10/minute;60/hour",
    "BOOKING_FORM_RATE_LIMIT": "120/minute",
    "MANAGE_RATE_LIMIT": "20/minute",
    "WAITLIST_RATE_LIMIT": "10/minute;60/hour",
    "WEBHOOK_RATE_LIMIT": "600/minute",
    "WS_CONNECT_RATE_LIMIT": "30/minute",
    "ENQUIRY_RATE_LIMIT": "5/hour",
    # "Find my booking": link requests per client address and per email address asked with.
    "FIND_BOOKING_RATE_LIMIT_PER_IP": "10/hour",
    "FIND_BOOKING_RATE_LIMIT_PER_EMAIL": "5/hour",
}


def _rate_limit(env: dict, name: str) -> str:
    from limits import parse_many

    value = (env.get(name) or RATE_LIMIT_DEFAULTS[name]).strip()
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate limit such as 10/minute or "
                          f"5/minute;50/hour, got {value!r}") from exc
    return value


def _abuse_config(env: dict, is_production: bool) -> dict:
    """Flask-Limiter's storage and switch, every limit, the seat-hold limits and the
    per-recipient email cap. Production refuses RATELIMIT_ENABLED=false, and refuses
    per-process (memory) storage when it runs more than one process (WEB_CONCURRENCY),
    where each process would count on its own and multiply every limit."""
    enabled = _bool(env, "RATELIMIT_ENABLED", True)
    storage = (env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://").strip()
    processes = _int(env, "WEB_CONCURRENCY", 1)
    if is_production and not enabled:
        raise ConfigError("RATELIMIT_ENABLED=false is refused when APP_ENV=production "
                          "(it is for load tests outside production)")
    if is_production and processes > 1 and storage.startswith("memory://"):
        raise ConfigError(f"WEB_CONCURRENCY={processes} with rate limits kept in memory would "
                          "let every process count on its own: set REDIS_URL (or "
                          "RATELIMIT_STORAGE_URI) when APP_ENV=production")
    hold_limits = {name: _int(env, name, default) for name, default in (
        # One customer has one checkout open at a time, a company booker a few; an office
        # behind one address several colleagues. Far above that is someone squatting seats.
        ("HOLD_LIMIT_PER_CLIENT", 5), ("HOLD_SEATS_LIMIT_PER_CLIENT", 24),
        ("HOLD_LIMIT_PER_EMAIL", 3), ("HOLD_SEATS_LIMIT_PER_EMAIL", 24),
        # Emails an anonymous visitor can cause (not those a paid booking needs).
        ("EMAILS_PER_RECIPIENT_PER_HOUR", 10))}
    for name, value in hold_limits.items():
        if value < 0:
            raise ConfigError(f"{name} must be 0 (no limit) or more, got {value}")
    return {
        "RATELIMIT_ENABLED": enabled,
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: limit per process in memory rather than refuse every request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "WEB_CONCURRENCY": processes,
        **{name: _rate_limit(env, name) for name in RATE_LIMIT_DEFAULTS},
        **hold_limits,
    }


# -- request body limits (app.web.limits) ------------------------------------------------
BODY_LIMIT_DEFAULTS = {
    # Public pages and sign-in: the largest valid booking form (12 attendees, every
    # field at its maximum, every character a 4-byte one percent-encoded) is ~130 KB.
    "FORM_MAX_BODY_BYTES": 256 * 1024,
    # Admin and trainer pages: a course description may be 100,000 characters of HTML.
    "STAFF_FORM_MAX_BODY_BYTES": 1024 * 1024,
    # /api/v1: the largest valid booking as JSON, every character \u-escaped, is ~130 KB.
    "API_MAX_BODY_BYTES": 256 * 1024,
    # /webhooks/stripe: Stripe events are a few KB, a charge with its refunds and full
    # metadata (50 keys of 500 characters) some tens of KB; read no more before the
    # signature is checked.
    "WEBHOOK_MAX_BODY_BYTES": 512 * 1024,
}


def _body_limit_config(env: dict) -> dict:
    limits = {}
    for name, default in BODY_LIMIT_DEFAULTS.items():
        limits[name] = _int(env, name, default)
        if limits[name] < 1024:
            raise ConfigError(f"{name} must be at least 1024 (bytes), got {limits[name]}")
    # The fallback Flask and werkzeug apply wherever app.web.limits sets nothing.
    limits["MAX_CONTENT_LENGTH"] = limits["FORM_MAX_BODY_BYTES"]
    return limits
