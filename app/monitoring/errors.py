"""One error taxonomy: every exception that reaches the edge gets a category and a severity.

    classify(exc) -> ErrorInfo(id, category, severity)

Our own errors carry their category and severity as class attributes (see
app.services.core.errors); library errors are classified here by type, HTTP
errors by status. `error` and `critical` errors get a short id that the user
sees as "Reference: ..." and that the log line holding the traceback carries
(`error_id`), so a support call leads to the traceback.

| category         | severity | what                                                      |
|------------------|----------|-----------------------------------------------------------|
| validation       | info     | bad input: 400, 405, 413, 415, 422, InvalidInput          |
| not_found        | info     | 404, 410, NotFound                                        |
| auth             | info     | 401; a webhook with a bad signature (warning)             |
| permission       | warning  | 403, a wrong manage-link token, an expired form (CSRF)    |
| conflict         | info     | 409, sold out, hold expired, booking in the wrong state   |
| rate_limited     | warning  | 429                                                       |
| payment          | warning+ | card payments paused (warning), gateway/Stripe errors     |
| external_service | error    | a provider unreachable: 502/503/504, timeouts, SMTP       |
| database         | critical | OperationalError, DBAPIError, pool TimeoutError           |
| internal         | error    | anything else: a bug                                      |
"""
from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass

CATEGORIES = ("validation", "not_found", "auth", "permission", "conflict", "rate_limited",
              "payment", "external_service", "database", "internal")
SEVERITIES = ("info", "warning", "error", "critical")
REFERENCED = frozenset({"error", "critical"})

log = logging.getLogger("app.errors")


@dataclass(frozen=True)
class ErrorInfo:
    """`id` is None for info and warning: nothing to look up."""

    id: str | None
    category: str
    severity: str


def new_error_id() -> str:
    """Ten characters of base32 (A-Z, 2-7: no 0/O or 1/I to misread on the phone)."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


# HTTP status -> (category, severity) for HTTPExceptions (and a status on a class).
STATUS_CLASSES: dict[int, tuple[str, str]] = {
    400: ("validation", "info"), 405: ("validation", "info"), 413: ("validation", "info"),
    414: ("validation", "info"), 415: ("validation", "info"), 422: ("validation", "info"),
    431: ("validation", "info"),
    401: ("auth", "info"),
    403: ("permission", "warning"),
    404: ("not_found", "info"), 410: ("not_found", "info"),
    409: ("conflict", "info"), 412: ("conflict", "info"),
    429: ("rate_limited", "warning"),
    500: ("internal", "error"), 501: ("internal", "error"),
    502: ("external_service", "error"), 503: ("external_service", "error"),
    504: ("external_service", "error"),
}

# Stripe SDK errors by class name (matched on the MRO, so the SDK is never imported here).
STRIPE_CLASSES: dict[str, tuple[str, str]] = {
    "CardError": ("payment", "info"),
    "SignatureVerificationError": ("auth", "warning"),
    "AuthenticationError": ("payment", "critical"),  # our key is wrong: every payment fails
    "PermissionError": ("payment", "critical"),
    "APIConnectionError": ("external_service", "error"),
    "RateLimitError": ("external_service", "error"),
    "APIError": ("external_service", "error"),
    "StripeError": ("payment", "error"),
}

# Other libraries' errors by (module prefix, class name) on the MRO.
LIBRARY_CLASSES: dict[tuple[str, str], tuple[str, str]] = {
    ("sqlalchemy", "IntegrityError"): ("database", "error"),  # the database is up: a bug or race
    ("sqlalchemy", "OperationalError"): ("database", "critical"),
    ("sqlalchemy", "TimeoutError"): ("database", "critical"),  # pool exhausted
    ("sqlalchemy", "DBAPIError"): ("database", "critical"),
    ("pybreaker", "CircuitBreakerError"): ("payment", "error"),
    ("flask_wtf", "CSRFError"): ("permission", "warning"),
    ("requests", "RequestException"): ("external_service", "error"),
    ("smtplib", "SMTPException"): ("external_service", "error"),
}


def classify(exc: BaseException) -> ErrorInfo:
    """The category and severity of `exc`, and a new id when someone should look."""
    category, severity = _category_and_severity(exc)
    return ErrorInfo(new_error_id() if severity in REFERENCED else None, category, severity)


def _category_and_severity(exc: BaseException) -> tuple[str, str]:
    for cls in type(exc).__mro__:
        category, severity = vars(cls).get("category"), vars(cls).get("severity")
        if category in CATEGORIES and severity in SEVERITIES:
            return category, severity
        module = cls.__module__.split(".")[0]
        if module == "stripe" and cls.__name__ in STRIPE_CLASSES:
            return STRIPE_CLASSES[cls.__name__]
        if (module, cls.__name__) in LIBRARY_CLASSES:
            return LIBRARY_CLASSES[(module, cls.__name__)]
        if module == "werkzeug" and cls.__name__ == "HTTPException":
            return _by_status(getattr(exc, "code", None) or 500)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "external_service", "error"
    return "internal", "error"


def _by_status(status: int) -> tuple[str, str]:
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if 400 <= status < 500:
        return "validation", "info"
    return "internal", "error"


# -- at the edge -----------------------------------------------------------------------------
def report(exc: BaseException) -> ErrorInfo:
    """Classify an exception the web layer is about to answer: set `g.error`,
    count it in errors_total, and log it (error/critical with the traceback
    under the same id the user is shown)."""
    from flask import g

    from app.monitoring.metrics import ERRORS

    existing = g.get("error")
    if existing is not None and g.get("error_exception") is exc:
        return existing  # already reported (an error handler running twice)
    info = classify(exc)
    g.error, g.error_exception = info, exc
    ERRORS.labels(info.category, info.severity).inc()
    fields = {"error_id": info.id, "category": info.category, "severity": info.severity,
              "request_id": g.get("request_id")}
    if info.severity in REFERENCED:
        level = logging.CRITICAL if info.severity == "critical" else logging.ERROR
        log.log(level, "%s error %s: %s", info.category, info.id, type(exc).__name__,
                exc_info=exc, extra=fields)
    elif info.severity == "warning":
        log.warning("%s: %s", info.category, type(exc).__name__, extra=fields)
    return info
