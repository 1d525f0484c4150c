"""Configuration read from environment variables, with safe embedded defaults.

`APP_ENV` picks the mode: ``development`` (default: SQLite under instance/,
fake payments, emails written to files), ``production`` (refuses to start
without an explicit SECRET_KEY or PUBLIC_BASE_URL and refuses the fake
payment provider) or ``testing`` (used by the test suite).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """The environment does not describe a configuration we can run with."""


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


def load_config(instance_path: str, env: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment."""
    env = dict(os.environ if env is None else env)
    app_env = env.get("APP_ENV", "development").strip().lower()
    if app_env not in {"development", "production", "testing"}:
        raise ConfigError(f"APP_ENV must be development, production or testing, got {app_env!r}")
    is_production = app_env == "production"

    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if is_production:
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = "dev-only-insecure-secret-key"

    payment_provider = env.get("PAYMENT_PROVIDER", "fake").strip().lower()
    if payment_provider not in {"fake", "stripe"}:
        raise ConfigError(f"PAYMENT_PROVIDER must be fake or stripe, got {payment_provider!r}")
    if is_production and payment_provider == "fake":
        raise ConfigError("PAYMENT_PROVIDER=fake is refused when APP_ENV=production")
    port = _int(env, "PORT", 5000)
    public_base_url = _public_base_url(env, is_production, port)
    metrics = _metrics_config(env, is_production)

    return {
        "APP_ENV": app_env,
        "IS_PRODUCTION": is_production,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PORT": port,
        "PUBLIC_BASE_URL": public_base_url,
        "PAYMENT_PROVIDER": payment_provider,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        # Stripe timeouts and the circuit breakers around payments (issue 4).
        **_payment_config(env),
        "HOLD_MINUTES": _int(env, "HOLD_MINUTES", 30),
        "MAX_SEATS_PER_BOOKING": _int(env, "MAX_SEATS_PER_BOOKING", 12),
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
        **_realtime_config(env),
        "SEED_DEMO": _bool(env, "SEED_DEMO", not is_production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "WTF_CSRF_TIME_LIMIT": None,
        # Staff accounts: sign-in, sessions, rate limits, password reset (issue 7).
        **_auth_config(env, is_production),
        # Alert rules, their thresholds and the alert email rate limit.
        **_alert_config(env),
        **metrics,
        **_readiness_config(env),
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
        "CERTIFICATE_REMINDER_DAYS": _int(env, "CERTIFICATE_REMINDER_DAYS", 60),
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
def _realtime_config(env: dict) -> dict:
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
    }


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
        # Flask-Limiter: shared through Redis when REDIS_URL is set, else per process.
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": (env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL")
                                  or "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: limit per process in memory rather than refuse every sign-in.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": env.get("LOGIN_RATE_LIMIT_PER_ACCOUNT", "5/minute"),
        "LOGIN_RATE_LIMIT_PER_IP": env.get("LOGIN_RATE_LIMIT_PER_IP", "20/minute"),
        "PASSWORD_RESET_RATE_LIMIT_PER_ACCOUNT": env.get(
            "PASSWORD_RESET_RATE_LIMIT_PER_ACCOUNT", "3/hour"),
        "PASSWORD_RESET_RATE_LIMIT_PER_IP": env.get("PASSWORD_RESET_RATE_LIMIT_PER_IP",
                                                    "10/hour"),
        # Proxies in front of the app (load balancer, ...) whose X-Forwarded-For and
        # X-Forwarded-Proto to trust; 0 = none. Per-IP limits need the real client IP.
        "TRUSTED_PROXY_COUNT": _int(env, "TRUSTED_PROXY_COUNT", 0),
    }
