"""Every Flask-Limiter limit of the site, in one table: which routes, counted how.

Each limit's value comes from the setting it names (an environment variable of
the same name, app.config.RATE_LIMIT_DEFAULTS), read per request. Counts live
in Flask-Limiter's storage: Redis when REDIS_URL (or RATELIMIT_STORAGE_URI) is
set, so every process and machine shares them; production refuses memory
storage with more than one process, and refuses RATELIMIT_ENABLED=false.

A refused request is answered 429 by the one error handler (app.web.errors):
the JSON error object under /api and /webhooks, the error page (or fragment)
elsewhere, the sign-in pages' own page for those; Flask-Limiter adds
``Retry-After`` (seconds until the oldest counted request leaves the window).

Limits are checked by endpoint name first thing in every request (`init_app`),
before CSRF, body limits or a WebSocket's handshake checks, so the routes
themselves stay free of limit declarations and this table is the whole list.
Holds per client and per email, which count seats rather than requests, are a
booking rule: BookingPolicy in app.services.bookings.holds.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request

from app.extensions import limiter

MAX_EMAIL_LENGTH = 254
TOO_MANY_REQUESTS = "Too many requests from your connection. Please wait a minute and try again."
TOO_MANY_SIGN_INS = "Too many sign-in attempts. Try again in a minute."
TOO_MANY_RESETS = "Too many password reset requests. Try again later."
TOO_MANY_BOOKINGS = "Too many booking attempts from your connection. Please try again later."


def client_ip() -> str:
    """The client's address: the real one behind TRUSTED_PROXY_COUNT proxies
    (werkzeug's ProxyFix, installed by the app factory), else the socket's peer."""
    return request.remote_addr or "unknown"


def posted_email_key() -> str:
    """The posted email, hashed: no addresses in the rate limit store."""
    email = (request.form.get("email") or "").strip().lower()[:MAX_EMAIL_LENGTH]
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def account_and_ip_key() -> str:
    return f"{posted_email_key()}|{client_ip()}"


def _is_resize() -> bool:
    """The booking form re-rendered for another number of seats (no hold made)."""
    return request.form.get("action") == "resize"


# The booking form, of a public session and of a private one (through its private link).
BOOKING_FORMS = ("booking.start", "booking.private_start")


def _is_booking_post() -> bool:
    """A post of the booking form that holds seats (counted as a booking, not a form post)."""
    return request.endpoint in BOOKING_FORMS and not _is_resize()


@dataclass(frozen=True)
class RouteLimit:
    """One limit: the setting holding its value, the endpoints that share its count,
    whose requests are counted together (`key`), and which methods count."""

    setting: str
    endpoints: tuple[str, ...]
    scope: str
    key: Callable[[], str] = client_ip
    methods: tuple[str, ...] = ("POST",)
    message: str = TOO_MANY_REQUESTS
    exempt_when: Callable[[], bool] | None = None


LIMITS: tuple[RouteLimit, ...] = (
    # Staff sign-in: guesses per account (from one address) and per address.
    RouteLimit("LOGIN_RATE_LIMIT_PER_ACCOUNT", ("auth.login",), "login-account",
               key=account_and_ip_key, message=TOO_MANY_SIGN_INS),
    RouteLimit("LOGIN_RATE_LIMIT_PER_IP", ("auth.login",), "login-ip",
               message=TOO_MANY_SIGN_INS),
    # Password reset emails: per address asked for, and per client address.
    RouteLimit("PASSWORD_RESET_RATE_LIMIT_PER_ACCOUNT", ("auth.forgot_password",),
               "reset-account", key=posted_email_key, message=TOO_MANY_RESETS),
    RouteLimit("PASSWORD_RESET_RATE_LIMIT_PER_IP", ("auth.forgot_password",), "reset-ip",
               message=TOO_MANY_RESETS),
    # Holding seats, through the API and the booking form alike (one count).
    RouteLimit("BOOKING_RATE_LIMIT", ("api.create_booking", *BOOKING_FORMS), "booking-create",
               message=TOO_MANY_BOOKINGS, exempt_when=_is_resize),
    # The booking form's other posts: as-you-type checks and seat-count changes.
    RouteLimit("BOOKING_FORM_RATE_LIMIT", ("booking.validate_field", *BOOKING_FORMS),
               "booking-form", exempt_when=_is_booking_post),
    # What a manage link (or a payment link) lets its holder do.
    RouteLimit("MANAGE_RATE_LIMIT", ("booking.cancel", "booking.rename", "booking.pay",
                                     "api.cancel"), "manage"),
    # Joining a waiting list, on the session page and through the API (one count); the
    # offer and leave links' posts (booking on held seats, declining, leaving).
    RouteLimit("WAITLIST_RATE_LIMIT", ("waitlist.join", "api.join_waitlist"), "waitlist-join"),
    RouteLimit("MANAGE_RATE_LIMIT", ("waitlist.offer", "waitlist.leave"), "waitlist-links"),
    # "Find my booking" (a link emailed to a booking's address): per address asked with
    # and per client address, like password resets.
    RouteLimit("FIND_BOOKING_RATE_LIMIT_PER_EMAIL", ("booking.find",), "find-booking-email",
               key=posted_email_key),
    RouteLimit("FIND_BOOKING_RATE_LIMIT_PER_IP", ("booking.find",), "find-booking-ip"),
    # Stripe's webhooks: a 429 is retried by Stripe later, so nothing is lost.
    RouteLimit("WEBHOOK_RATE_LIMIT", ("webhooks.stripe_webhook",), "webhooks"),
    # On-site training enquiries: each sends a confirmation email and notifies the office.
    RouteLimit("ENQUIRY_RATE_LIMIT", ("enquiries.new",), "enquiries",
               message="Too many enquiries from your connection. Please try again later, "
                       "or phone us."),
    # Opening a live-availability WebSocket (refused before the handshake).
    RouteLimit("WS_CONNECT_RATE_LIMIT", ("realtime.availability",), "ws-connect",
               methods=("GET",)),
)


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _gate(rule: RouteLimit) -> Callable[[], None]:
    """A callable that counts the current request against `rule` (raising
    RateLimitExceeded, a 429, when over). Flask-Limiter keeps a decorated callable's
    limits by its qualified name for the life of the process, so each gate is built
    once, with a name of its own, and serves every app the process makes."""
    def gate() -> None:
        return None

    gate.__name__ = gate.__qualname__ = "gate_" + rule.scope.replace("-", "_")
    return limiter.shared_limit(_setting(rule.setting), scope=rule.scope, key_func=rule.key,
                                methods=list(rule.methods), error_message=rule.message,
                                exempt_when=rule.exempt_when)(gate)


_GATES: tuple[tuple[RouteLimit, Callable[[], None]], ...] = tuple(
    (rule, _gate(rule)) for rule in LIMITS)


def _check_limits() -> None:
    """Count the request against every limit on its endpoint, before any other
    check of the request (CSRF, body size, a WebSocket's handshake): refused
    requests count too, and nothing is read or opened for one over the limit."""
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return
    endpoint = request.endpoint
    for rule, gate in _GATES:
        if endpoint in rule.endpoints:
            gate()


def init_app(app: Flask) -> None:
    """Check every listed limit first thing in each request (call after the
    blueprints are registered). An endpoint this app does not have is a mistake
    in the table."""
    for rule in LIMITS:
        for endpoint in rule.endpoints:
            if endpoint not in app.view_functions:
                raise RuntimeError(f"rate limit {rule.setting}: no endpoint {endpoint!r}")
    # After the request's id and clock start (the 429 is logged and counted like any
    # answer), before CSRF and every later check.
    hooks = app.before_request_funcs.setdefault(None, [])
    csrf = next((i for i, hook in enumerate(hooks)
                 if getattr(hook, "__module__", "") == "flask_wtf.csrf"), len(hooks))
    hooks.insert(csrf, _check_limits)


def limited_endpoints() -> dict[str, list[str]]:
    """Endpoint -> the settings limiting it (for the docs and the tests)."""
    table: dict[str, list[str]] = {}
    for rule in LIMITS:
        for endpoint in rule.endpoints:
            table.setdefault(endpoint, []).append(rule.setting)
    return table
