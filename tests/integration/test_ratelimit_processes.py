"""Rate limits hold across processes: two gunicorn workers sharing Redis let five
password guesses a minute through, not five per process; and production with more
than one process will not start with limits kept in each process's memory.
SQLite only: where limits are counted does not depend on the database."""
from __future__ import annotations

import re

import pytest
import requests
from app_setup import IN_CI, migrate_database

from gunicorn_server import GunicornServer
from production_settings import PRODUCTION_SECRET_KEY
from redis_server import RedisServer, RedisUnavailable

GUESSES = 10
PER_MINUTE = 5


@pytest.fixture(scope="module")
def database_file(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('ratelimits') / 'limits.sqlite3'}"
    migrate_database(url)
    return url


@pytest.fixture(scope="module")
def redis_url():
    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(str(exc))
    yield server.url
    server.stop()


def guess_passwords(base_url: str, count: int) -> list[int]:
    """`count` wrong passwords for one account, each on a new connection (so the
    kernel hands them to either worker), with a genuine CSRF token."""
    with requests.Session() as browser:
        page = browser.get(f"{base_url}/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        cookies = browser.cookies.get_dict()
    statuses = []
    for _ in range(count):
        response = requests.post(f"{base_url}/login", cookies=cookies, timeout=10,
                                 headers={"Connection": "close"},
                                 data={"csrf_token": token, "email": "admin@example.com",
                                       "password": "not-the-password"})
        statuses.append(response.status_code)
    return statuses


def test_five_password_guesses_a_minute_are_five_across_two_processes(database_file, redis_url):
    server = GunicornServer(database_file, workers=2, threads=4, env={
        "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "true",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": f"{PER_MINUTE}/minute",
        "LOGIN_RATE_LIMIT_PER_IP": "100/minute",
        "SECRET_KEY": PRODUCTION_SECRET_KEY}).start()
    try:
        assert len(server.worker_pids()) == 2
        statuses = guess_passwords(server.http_url, GUESSES)
    finally:
        server.stop()
    assert statuses.count(401) == PER_MINUTE, statuses
    assert statuses.count(429) == GUESSES - PER_MINUTE, statuses


def test_production_with_two_processes_starts_only_with_shared_limit_storage(database_file,
                                                                             redis_url):
    environment = {
        "APP_ENV": "production", "SECRET_KEY": PRODUCTION_SECRET_KEY,
        "PAYMENT_PROVIDER": "stripe", "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x", "METRICS_TOKEN": "m" * 32,
        "PUBLIC_BASE_URL": "https://book.example.co.uk",
        "TRUSTED_HOSTS": "book.example.co.uk,127.0.0.1",
        "REDIS_URL": "", "RATELIMIT_STORAGE_URI": ""}
    in_memory = GunicornServer(database_file, workers=2, threads=2, env=environment)
    with pytest.raises(RuntimeError) as refused:
        in_memory.start(timeout=60)
    in_memory.stop()
    assert "WEB_CONCURRENCY=2 with rate limits kept in memory" in str(refused.value)

    shared = GunicornServer(database_file, workers=2, threads=2,
                            env={**environment, "REDIS_URL": redis_url}).start(timeout=60)
    shared.stop()
