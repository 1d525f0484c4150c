"""Configuration read from environment variables, with safe embedded defaults.

`APP_ENV` picks the mode: ``development`` (default: SQLite under instance/,
fake payments, emails written to files), ``production`` (refuses to start
without an explicit SECRET_KEY and refuses the fake payment provider) or
``testing`` (used by the test suite).
"""
from __future__ import annotations

import os
from pathlib import Path


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

    return {
        "APP_ENV": app_env,
        "IS_PRODUCTION": is_production,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PORT": _int(env, "PORT", 5000),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", ""),
        "PAYMENT_PROVIDER": payment_provider,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        "HOLD_MINUTES": _int(env, "HOLD_MINUTES", 30),
        "MAX_SEATS_PER_BOOKING": _int(env, "MAX_SEATS_PER_BOOKING", 12),
        "FULL_REFUND_DAYS": _int(env, "FULL_REFUND_DAYS", 14),
        "NO_REFUND_HOURS": _int(env, "NO_REFUND_HOURS", 72),
        "NAME_CHANGE_CUTOFF_HOURS": _int(env, "NAME_CHANGE_CUTOFF_HOURS", 24),
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int(env, "MAIL_PORT", 25),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", False),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "bookings@reactfasttraining.co.uk"),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "SEED_DEMO": _bool(env, "SEED_DEMO", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "WTF_CSRF_TIME_LIMIT": None,
    }
