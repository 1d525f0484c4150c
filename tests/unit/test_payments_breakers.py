"""The payments circuit breaker: pybreaker's state machine, without its lock
around the call, tripping only on outages, state shared through Redis."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import fakeredis
import pybreaker
import pytest
import stripe
from sqlalchemy.exc import IntegrityError, OperationalError

from app.services.payments.breakers import (
    BREAKER_NAMES, STATE_CLOSED, STATE_HALF_OPEN, STATE_OPEN, Breakers, CircuitBreakerError,
    is_database_outage, is_payment_outage,
)

CONFIG = {
    "PAYMENTS_BREAKER_FAIL_MAX": 3, "PAYMENTS_BREAKER_RESET_TIMEOUT": 30.0,
    "REFUNDS_BREAKER_FAIL_MAX": 4, "REFUNDS_BREAKER_RESET_TIMEOUT": 60.0,
    "WEBHOOKS_BREAKER_FAIL_MAX": 5, "WEBHOOKS_BREAKER_RESET_TIMEOUT": 10.0,
    "REDIS_URL": "",
}


def outage():
    raise stripe.APIConnectionError("connection refused")


def declined():
    raise stripe.CardError("Your card was declined.", "card", "card_declined")


def fail(breaker, func=outage, times=1):
    for _ in range(times):
        with pytest.raises(Exception):
            breaker.call(func)


@pytest.fixture
def breakers():
    return Breakers(CONFIG)


def test_each_breaker_takes_its_own_settings_from_config(breakers):
    assert (breakers.payments.fail_max, breakers.payments.reset_timeout) == (3, 30.0)
    assert (breakers.refunds.fail_max, breakers.refunds.reset_timeout) == (4, 60.0)
    assert (breakers.webhooks.fail_max, breakers.webhooks.reset_timeout) == (5, 10.0)
    assert breakers.states() == {name: STATE_CLOSED for name in BREAKER_NAMES}


def test_opens_after_fail_max_outages_in_a_row_and_then_fails_fast(breakers):
    breaker = breakers.payments
    fail(breaker, times=2)
    assert breaker.current_state == STATE_CLOSED
    fail(breaker)
    assert breaker.current_state == STATE_OPEN
    calls = []
    with pytest.raises(CircuitBreakerError):
        breaker.call(lambda: calls.append(1))
    assert calls == []  # the function never ran


def test_the_tripping_call_still_raises_its_own_error(breakers):
    fail(breakers.payments, times=2)
    with pytest.raises(stripe.APIConnectionError):
        breakers.payments.call(outage)


@pytest.mark.parametrize("error", [
    stripe.CardError("declined", "card", "card_declined"),
    stripe.InvalidRequestError("No such price", "price"),
    stripe.IdempotencyError("key reused"),
    ValueError("a bug of ours is not an outage"),
])
def test_declines_invalid_requests_and_our_bugs_do_not_trip_it(breakers, error):
    def call():
        raise error
    fail(breakers.payments, call, times=10)
    assert breakers.payments.current_state == STATE_CLOSED


@pytest.mark.parametrize("error", [
    stripe.APIConnectionError("timed out"),
    stripe.APIError("500", http_status=500),
    stripe.RateLimitError("slow down", http_status=429),
    stripe.AuthenticationError("bad key", http_status=401),
])
def test_connection_errors_timeouts_5xx_and_rate_limits_trip_it(error):
    assert is_payment_outage(error)


def test_a_decline_between_outages_resets_the_count(breakers):
    fail(breakers.payments, times=2)
    fail(breakers.payments, declined)
    fail(breakers.payments, times=2)
    assert breakers.payments.current_state == STATE_CLOSED


def test_half_opens_after_reset_timeout_and_closes_on_a_good_trial(breakers):
    breaker = breakers.payments
    fail(breaker, times=3)
    breaker.force_open_since(datetime.now(timezone.utc) - timedelta(seconds=31))
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.current_state == STATE_CLOSED


def test_a_failed_trial_opens_it_again(breakers):
    breaker = breakers.payments
    fail(breaker, times=3)
    breaker.force_open_since(datetime.now(timezone.utc) - timedelta(seconds=31))
    fail(breaker)
    assert breaker.current_state == STATE_OPEN
    with pytest.raises(CircuitBreakerError):
        breaker.call(lambda: "not yet")


def test_half_open_lets_one_trial_through_and_fails_the_rest_fast(breakers):
    breaker = breakers.payments
    fail(breaker, times=3)
    breaker.force_open_since(datetime.now(timezone.utc) - timedelta(seconds=31))
    trial_started, release = threading.Event(), threading.Event()

    def slow_trial():
        trial_started.set()
        release.wait(5)
        return "trial"

    with ThreadPoolExecutor(1) as pool:
        trial = pool.submit(breaker.call, slow_trial)
        assert trial_started.wait(5)
        assert breaker.current_state == STATE_HALF_OPEN
        with pytest.raises(CircuitBreakerError):
            breaker.call(lambda: "second")
        release.set()
        assert trial.result(5) == "trial"
    assert breaker.current_state == STATE_CLOSED


def test_ten_concurrent_slow_calls_take_about_one_calls_time(breakers):
    """pybreaker's own call() would hold its lock for each 0.5 s call: 5 s in all."""
    breaker = breakers.payments
    pause = 0.5

    def slow():
        time.sleep(pause)
        return threading.get_ident()

    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: breaker.call(slow), range(10)))
    elapsed = time.monotonic() - started
    assert len(set(results)) == 10
    assert elapsed < 3 * pause, f"10 calls took {elapsed:.2f}s: they ran one after another"


def test_pybreakers_own_call_would_serialise_them():
    """Why the subclass exists (documents the library's behaviour we work around)."""
    breaker = pybreaker.CircuitBreaker()
    inside, peak, lock = [0], [0], threading.Lock()

    def tracked():
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1

    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: breaker.call(tracked), range(5)))
    assert peak[0] == 1


def test_state_changes_are_reported_once_each_outside_the_lock():
    seen = []

    def on_change(name, old, new, opened_at):
        # The breaker's lock is free here: another thread can read the breaker.
        got = []
        reader = threading.Thread(target=lambda: got.append(breakers.refunds.current_state))
        reader.start()
        reader.join(2)
        seen.append((name, old, new, got, opened_at is not None))

    breakers = Breakers(CONFIG, on_change=on_change)
    fail(breakers.refunds, times=4)
    assert seen == [("refunds", STATE_CLOSED, STATE_OPEN, [STATE_OPEN], True)]


def test_webhook_breaker_trips_on_database_outages_only():
    assert is_database_outage(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert not is_database_outage(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_database_outage(KeyError("data"))


def test_state_is_shared_between_processes_through_redis():
    server = fakeredis.FakeServer()
    web = Breakers(CONFIG, redis_client=fakeredis.FakeStrictRedis(server=server))
    worker = Breakers(CONFIG, redis_client=fakeredis.FakeStrictRedis(server=server))
    fail(web.payments, times=3)
    assert worker.payments.current_state == STATE_OPEN
    with pytest.raises(CircuitBreakerError):
        worker.payments.call(lambda: "fails fast in the other process too")
    assert worker.refunds.current_state == STATE_CLOSED  # one namespace per breaker
    keys = {k.decode() for k in fakeredis.FakeStrictRedis(server=server).keys("*")}
    assert "rft:breaker:payments:pybreaker:state" in keys
    assert "rft:breaker:refunds:pybreaker:state" in keys


def test_failures_from_several_processes_add_up_in_redis():
    server = fakeredis.FakeServer()
    one = Breakers(CONFIG, redis_client=fakeredis.FakeStrictRedis(server=server))
    two = Breakers(CONFIG, redis_client=fakeredis.FakeStrictRedis(server=server))
    fail(one.payments)
    fail(two.payments)
    fail(one.payments)
    assert two.payments.current_state == STATE_OPEN
