"""Production refuses unsafe settings; development gets its own random secret key."""
import os
import stat

import pytest

from app import create_app
from app.config import ConfigError, load_config
from production_settings import PRODUCTION_HOST, PRODUCTION_SECRET_KEY

GOOD = {"APP_ENV": "production", "SECRET_KEY": PRODUCTION_SECRET_KEY,
        "PAYMENT_PROVIDER": "stripe", "METRICS_TOKEN": "m" * 32,
        "PUBLIC_BASE_URL": f"https://{PRODUCTION_HOST}", "TRUSTED_HOSTS": PRODUCTION_HOST}


def test_good_production_settings_are_accepted():
    config = load_config("/srv/instance", GOOD)
    assert config["SECRET_KEY"] == PRODUCTION_SECRET_KEY
    assert config["TRUSTED_HOSTS"] == [PRODUCTION_HOST]


@pytest.mark.parametrize("key, message", [
    ("", "SECRET_KEY must be set"),
    ("x", "at least 32 characters"),
    ("k3y-" * 4, "at least 32 characters"),
    ("dev-only-insecure-secret-key", "published default"),
    ("s" * 40, "does not look random"),
    ("abcabcabcabcabcabcabcabcabcabcabcabc", "does not look random"),
])
def test_production_refuses_a_weak_or_public_secret_key(key, message):
    with pytest.raises(ConfigError, match=message) as refused:
        load_config("/srv/instance", {**GOOD, "SECRET_KEY": key})
    assert "secrets.token_urlsafe" in str(refused.value)  # says how to make a good one


def test_production_refuses_to_start_without_a_public_base_url():
    env = {k: v for k, v in GOOD.items() if k != "PUBLIC_BASE_URL"}
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        load_config("/srv/instance", env)


def test_production_refuses_to_start_without_trusted_hosts():
    env = {k: v for k, v in GOOD.items() if k != "TRUSTED_HOSTS"}
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS must be set"):
        load_config("/srv/instance", env)


def test_trusted_hosts_must_include_the_public_base_urls_host():
    with pytest.raises(ConfigError, match="must include PUBLIC_BASE_URL's host"):
        load_config("/srv/instance", {**GOOD, "TRUSTED_HOSTS": "other.example.com"})
    subdomains = load_config("/srv/instance", {**GOOD, "TRUSTED_HOSTS": ".example.co.uk"})
    assert subdomains["TRUSTED_HOSTS"] == [".example.co.uk"]


def test_a_request_for_another_host_is_refused_with_400(tmp_path):
    app = create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": PRODUCTION_SECRET_KEY,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "TRUSTED_HOSTS": [PRODUCTION_HOST]})
    client = app.test_client()
    assert client.get("/health/live", base_url=f"https://{PRODUCTION_HOST}").status_code == 200
    refused = client.get("/health/live", base_url="https://evil.example.com")
    assert refused.status_code == 400
    assert refused.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def development(monkeypatch, tmp_path):
    """The environment of `make run` with no settings at all, on a fresh instance folder."""
    for name in ("APP_ENV", "SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("RUN_WORKER_IN_PROCESS", "false")
    return tmp_path / "instance"


def test_development_uses_a_random_key_kept_under_instance_and_reused(development):
    first = create_app()
    key = first.config["SECRET_KEY"]
    assert key != "dev-only-insecure-secret-key" and len(key) >= 32
    kept = development / "secret_key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == key  # sessions and links survive a restart


def test_each_installation_gets_its_own_key(development, tmp_path, monkeypatch):
    one = create_app().config["SECRET_KEY"]
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "another"))
    assert create_app().config["SECRET_KEY"] != one


def test_an_explicit_secret_key_wins_and_writes_nothing(development, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "my-own-development-key")
    assert create_app().config["SECRET_KEY"] == "my-own-development-key"
    assert not (development / "secret_key").exists()
