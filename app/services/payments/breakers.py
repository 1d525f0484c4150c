"""Circuit breakers around the payment integration points.

Three breakers, each with its own `fail_max` and `reset_timeout` from config:

* ``payments``: creating and retrieving Checkout Sessions (Stripe),
* ``refunds``: creating refunds (Stripe),
* ``webhooks``: applying verified webhook events (our database).

What trips them is an *outage*, never a business answer: for Stripe,
connection errors and timeouts (``APIConnectionError``), 5xx answers
(``APIError``), rate limits (``RateLimitError``) and a rejected key
(``AuthenticationError``/``PermissionError``, which fail every call alike);
a declined card (``CardError``), an invalid request or an idempotency clash
counts as a *success* (Stripe answered). For webhooks only database
operational errors trip the breaker.

Why a subclass, and why calls run outside the breaker's lock
-------------------------------------------------------------
pybreaker's ``CircuitBreaker.call()`` runs the wrapped function while holding
the breaker's ``RLock`` (``with self._lock: return self.state.call(...)``), so
one slow Stripe request would make every other payment in the process wait
behind it: ten customers paying at once would take ten round trips.
``ConcurrentCircuitBreaker.call()`` keeps pybreaker's state machine, storage
and listeners but takes the lock only around the two state steps:

1. *admit* (under the lock): read the state (from Redis when shared); open
   and not yet timed out -> ``CircuitBreakerError`` at once; open and timed
   out -> ``half_open()``; half-open -> let exactly one trial call through
   per process and fail the rest fast, as pybreaker's lock did;
2. *call the function* with no lock held;
3. *record* (under the lock): hand the outcome to the current state object's
   own ``_handle_success`` / ``_handle_error``, so counting, tripping at
   ``fail_max``, closing after a good trial and re-opening after a bad one are
   pybreaker's code, not a copy of it.

A call that was admitted while closed and finishes after another call has
opened the breaker is recorded against the open state (a failure is counted,
a success resets the counter, neither changes the state), which is what
pybreaker itself does for a state change between calls.

Listeners run inside pybreaker's lock, so ours only queue their side effects
(an admin alert is a database write that may wait on SQLite's writer lock);
the breaker runs them once the lock is released.

State is per process (``CircuitMemoryStorage``) unless ``REDIS_URL`` is set,
then shared through ``CircuitRedisStorage`` with one namespace per breaker,
so all web and worker processes open and close together.
"""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import pybreaker
from sqlalchemy.exc import DBAPIError, IntegrityError

log = logging.getLogger(__name__)

T = TypeVar("T")

PAYMENTS = "payments"
REFUNDS = "refunds"
WEBHOOKS = "webhooks"
BREAKER_NAMES = (PAYMENTS, REFUNDS, WEBHOOKS)
REDIS_NAMESPACE_PREFIX = "rft:breaker"

CircuitBreakerError = pybreaker.CircuitBreakerError
STATE_OPEN = pybreaker.STATE_OPEN
STATE_CLOSED = pybreaker.STATE_CLOSED
STATE_HALF_OPEN = pybreaker.STATE_HALF_OPEN

# Stripe's errors that mean "Stripe (or the way to it) is not working".
STRIPE_OUTAGES = ("APIConnectionError", "APIError", "RateLimitError", "AuthenticationError",
                  "PermissionError")


class GatewayOutage(Exception):
    """Raised by a gateway for an outage it detects itself (e.g. the fake provider
    told to fail); trips the breaker like a Stripe connection error."""

    category, severity = "external_service", "error"  # app.monitoring.errors


def is_payment_outage(exc: BaseException) -> bool:
    if isinstance(exc, GatewayOutage):
        return True
    # Only the Stripe SDK raises its errors, so if it is not loaded (the fake
    # provider) there is nothing to check, and nothing to import.
    stripe = sys.modules.get("stripe")
    return stripe is not None and isinstance(
        exc, tuple(getattr(stripe, name) for name in STRIPE_OUTAGES))


def is_database_outage(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError)


class ConcurrentCircuitBreaker(pybreaker.CircuitBreaker):
    """A pybreaker CircuitBreaker whose calls do not serialise (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("throw_new_error_on_trip", False)
        super().__init__(*args, **kwargs)
        self._trial_in_flight = False
        self._deferred: list[Callable[[], None]] = []

    # -- the call --------------------------------------------------------------------------
    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            is_trial = self._admit(func, args, kwargs)
        finally:
            self.run_deferred()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            self._record(exc, is_trial)
            raise
        self._record(None, is_trial)
        return result

    def calling(self):  # pragma: no cover - the generator form is not used here
        raise NotImplementedError("use call()")

    def _admit(self, func, args, kwargs) -> bool:
        with self._lock:
            state = self.state  # re-reads shared storage; notifies listeners of a change
            if state.name == STATE_OPEN:
                opened_at = self._state_storage.opened_at
                timeout = timedelta(seconds=self.reset_timeout)
                if opened_at and datetime.now(timezone.utc) < opened_at + timeout:
                    raise CircuitBreakerError("circuit breaker open")
                self.half_open()
                state = self.state
            is_trial = state.name == STATE_HALF_OPEN
            if is_trial:
                if self._trial_in_flight:
                    raise CircuitBreakerError("circuit breaker half-open: trial call in flight")
                self._trial_in_flight = True
            for listener in self.listeners:
                listener.before_call(self, func, *args, **kwargs)
            return is_trial

    def _record(self, exc: BaseException | None, is_trial: bool) -> None:
        try:
            with self._lock:
                if is_trial:
                    self._trial_in_flight = False
                state = self.state
                if exc is None:
                    state._handle_success()
                else:
                    try:
                        state._handle_error(exc, reraise=False)
                    except BaseException as raised:  # pybreaker re-raises on trip
                        if raised is not exc and not isinstance(raised, CircuitBreakerError):
                            raise
        finally:
            self.run_deferred()

    # -- side effects queued by listeners ----------------------------------------------------
    def defer(self, action: Callable[[], None]) -> None:
        """Run `action` after the breaker's lock is released (call from a listener)."""
        with self._lock:
            self._deferred.append(action)

    def run_deferred(self) -> None:
        with self._lock:
            actions, self._deferred = self._deferred, []
        for action in actions:
            try:
                action()
            except Exception:  # a failing alert must never break a payment
                log.exception("circuit breaker %s: deferred action failed", self.name)

    # -- for tests and admin tools -----------------------------------------------------------
    def force_open_since(self, opened_at: datetime) -> None:
        """Open the breaker as if it had opened at `opened_at` (tests move time this way)."""
        self.open()
        self._state_storage.opened_at = opened_at


class BreakerListener(pybreaker.CircuitBreakerListener):
    """Logs every state change and, after the lock is released, tells `on_change`."""

    def __init__(self, on_change: Callable[[str, str, str, datetime | None], None] | None = None):
        self._on_change = on_change

    def state_change(self, cb, old_state, new_state) -> None:
        old = old_state.name if old_state is not None else None
        if old == new_state.name:
            return
        level = logging.WARNING if new_state.name == STATE_OPEN else logging.INFO
        log.log(level, "circuit breaker %s: %s -> %s", cb.name, old, new_state.name)
        if self._on_change is not None and isinstance(cb, ConcurrentCircuitBreaker):
            opened_at = cb._state_storage.opened_at
            on_change = self._on_change
            cb.defer(lambda: on_change(cb.name, old or "", new_state.name, opened_at))

    def failure(self, cb, exc) -> None:
        log.info("circuit breaker %s: failure %d/%d (%s)", cb.name, cb.fail_counter, cb.fail_max,
                 type(exc).__name__)


@dataclass(frozen=True)
class BreakerSettings:
    fail_max: int
    reset_timeout: float

    @classmethod
    def from_config(cls, config: Mapping, name: str) -> "BreakerSettings":
        prefix = name.upper()
        return cls(fail_max=int(config[f"{prefix}_BREAKER_FAIL_MAX"]),
                   reset_timeout=float(config[f"{prefix}_BREAKER_RESET_TIMEOUT"]))


class Breakers:
    """The three breakers of one application, built from its config."""

    def __init__(self, config: Mapping, *, redis_client=None,
                 on_change: Callable[[str, str, str, datetime | None], None] | None = None):
        self._config = config
        self._redis_client = redis_client
        self._on_change = on_change
        self._lock = threading.Lock()
        self._breakers: dict[str, ConcurrentCircuitBreaker] = {}

    def get(self, name: str) -> ConcurrentCircuitBreaker:
        with self._lock:
            if name not in self._breakers:
                self._breakers[name] = self._build(name)
            return self._breakers[name]

    @property
    def payments(self) -> ConcurrentCircuitBreaker:
        return self.get(PAYMENTS)

    @property
    def refunds(self) -> ConcurrentCircuitBreaker:
        return self.get(REFUNDS)

    @property
    def webhooks(self) -> ConcurrentCircuitBreaker:
        return self.get(WEBHOOKS)

    def states(self) -> dict[str, str]:
        return {name: self.get(name).current_state for name in BREAKER_NAMES}

    def _build(self, name: str) -> ConcurrentCircuitBreaker:
        settings = BreakerSettings.from_config(self._config, name)
        outage = is_database_outage if name == WEBHOOKS else is_payment_outage
        return ConcurrentCircuitBreaker(
            fail_max=settings.fail_max,
            reset_timeout=settings.reset_timeout,
            exclude=[lambda exc: not outage(exc)],
            listeners=[BreakerListener(self._on_change)],
            state_storage=self._storage(name),
            name=name,
        )

    def _storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        client = self._redis_client
        if client is None and self._config.get("REDIS_URL"):
            import redis

            client = self._redis_client = redis.Redis.from_url(
                self._config["REDIS_URL"], socket_timeout=1.0, socket_connect_timeout=1.0)
        if client is None:
            return pybreaker.CircuitMemoryStorage(STATE_CLOSED)
        try:
            return pybreaker.CircuitRedisStorage(
                STATE_CLOSED, client, namespace=f"{REDIS_NAMESPACE_PREFIX}:{name}")
        except Exception:  # Redis down at start-up: run per process rather than not at all
            log.exception("circuit breaker %s: Redis unavailable, keeping state per process", name)
            return pybreaker.CircuitMemoryStorage(STATE_CLOSED)
