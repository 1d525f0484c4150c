"""Request ids, JSON log lines, one access line per request, and secret redaction.

Every request gets an id (`g.request_id`, the `X-Request-ID` response header):
the caller's, when it is a sane token, so a proxy's id follows the request
through, otherwise a new one. Every log line is one JSON object (python-json-
logger) and passes through `RedactingFilter`, so no manage-link, payment-link,
invoice pay-link or password-reset token, Stripe signature or key, or bearer token reaches a
log, whoever wrote the line (our code, a library, gunicorn).

The access line is the application's own (logger `app.access`, written when
the request ends, WebSockets when they close): only the application knows the
route rule, the signed-in user and the error id. Under gunicorn,
`GunicornLogger` sends it where GUNICORN_ACCESS_LOG says and drops gunicorn's
own access line, so each request is logged once and no raw URL is written.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable

from flask import Flask, g, has_request_context, request
from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from app.monitoring.http_metrics import route_label
from app.monitoring.tracing import current_trace_ids

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "app.access"
REDACTED = "[redacted]"

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is a sane token (it is echoed in a header and logs),
    otherwise a new one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


# -- redaction ------------------------------------------------------------------------------
# Routes whose path carries a secret: the password-reset token, the fake
# provider's checkout id (it opens a page that pays for or abandons a booking),
# and a private session's token (the only way in to its page).
# tests/unit/test_redaction.py checks every URL rule with a secret-looking
# variable is covered here.
SECRET_PATH_PREFIXES = ("/password/reset/", "/checkout/fake/", "/sessions/private/")

_B64 = r"[A-Za-z0-9_-]"
# A base64url run of random bytes: mixed case and a digit (identifiers and words are not).
_RANDOM = rf"(?=(?:{_B64})*[0-9])(?=(?:{_B64})*[A-Z])(?=(?:{_B64})*[a-z])"
_SECRET_NAME = (r"[\w.-]*?(?:token|signature|sig|key|password|passwd|pwd|secret|code|otp|auth)"
                r"[\w.-]*")

_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Stripe-Signature: t=...,v1=...,v0=...  (header dumps, reprs, JSON)
    (re.compile(r"(?i)(stripe[-_]signature[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]*"),
     rf"\1{REDACTED}"),
    (re.compile(r"\b(v[01]=)[0-9a-fA-F]{16,}"), rf"\1{REDACTED}"),
    # Authorization: Bearer/Basic credentials.
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\1\2{REDACTED}"),
    # Stripe keys, webhook secrets and client secrets.
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9_+/=]+"), REDACTED),
    (re.compile(r"\b\w+?_secret_[A-Za-z0-9]+"), REDACTED),
    # Query (and form) parameters with secret-looking names, plain or URL-encoded.
    (re.compile(rf"(?i)([?&;]{_SECRET_NAME}=)[^&;\s#\"'<>]*"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)((?:%3F|%26){_SECRET_NAME}%3D)[^&;\s#\"'<>%]*"), rf"\1{REDACTED}"),
    # Path segments of routes that carry a secret.
    (re.compile("(" + "|".join(re.escape(p) for p in SECRET_PATH_PREFIXES) + r")[^/?#\s\"'<>]+"),
     rf"\1{REDACTED}"),
    # key: value / key=value pairs in text, reprs and JSON.
    (re.compile(r"(?i)(\b[\w-]*(?:token|password|passwd|secret|signature|api[_-]?key)"
                r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s\"'&,;}\]\[)]+)"),
     lambda m: m.group(1) + (m.group(2)[0] + REDACTED + m.group(2)[0]
                             if m.group(2)[0] in "\"'" else REDACTED)),
    # itsdangerous tokens: payload.timestamp.signature, payload.signature, JWT-like,
    # and bare signatures (a manage-booking token is one: 43 characters, SHA-256).
    (re.compile(rf"\beyJ{_B64}{{5,}}(?:\.{_B64}+){{1,2}}"), REDACTED),
    (re.compile(rf"(?<![\w.-])\.?{_B64}+\.{_B64}{{4,8}}\.{_RANDOM}{_B64}{{27,}}"), REDACTED),
    (re.compile(rf"(?<![\w.-]){_B64}+\.{_RANDOM}{_B64}{{27,}}(?![\w-])"), REDACTED),
    (re.compile(rf"(?<![\w.-]){_RANDOM}(?:{_B64}{{43}}|{_B64}{{27}})(?![\w-])"), REDACTED),
]


def redact(text: str) -> str:
    """`text` with every secret we know the shape of replaced by [redacted]."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """On a handler: redacts the message (arguments merged in), string extras and
    pre-rendered tracebacks of every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) or record.args:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string; keep what there is
                message = str(record.msg)
            record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    """Adds the request's id, method and route rule to lines written while it is served,
    and the trace and span ids to any line written inside a recorded span (tracing on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_trace_ids()
        if ids is not None and getattr(record, "trace_id", None) is None:
            record.trace_id, record.span_id = ids
        if has_request_context():
            if getattr(record, "request_id", None) is None:
                record.request_id = g.get("request_id")
            if getattr(record, "method", None) is None:
                record.method = request.method
            if getattr(record, "route", None) is None:
                record.route = route_label()
        return True


# -- formatting -----------------------------------------------------------------------------
class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, pid, then the record's
    extras (request_id, method, route, status, duration_ms, user_id, error_id...);
    tracebacks under exc_info. Every string value is redacted once more."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(process)s",
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger", "process": "pid"},
                         datefmt="%Y-%m-%dT%H:%M:%S%z")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))

    def process_log_record(self, log_data: dict) -> dict:
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in log_data.items()}


class TextFormatter(logging.Formatter):
    """LOG_FORMAT=text, for a developer's terminal: one readable, redacted line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return redact(super().format(record))


def make_formatter() -> logging.Formatter:
    return TextFormatter() if os.environ.get("LOG_FORMAT", "json").strip().lower() == "text" \
        else JsonFormatter()


def log_level() -> int:
    name = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def _prepare(handler: logging.Handler, formatter: logging.Formatter) -> logging.Handler:
    handler.setFormatter(formatter)
    for flt in (RequestContextFilter(), RedactingFilter()):
        if not any(type(f) is type(flt) for f in handler.filters):
            handler.addFilter(flt)
    return handler


def configure_logging() -> None:
    """Root handler: JSON (LOG_FORMAT) lines on stderr at LOG_LEVEL, redacted.
    Idempotent: creating a second app in the process replaces our handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_booking_root", False):
            root.removeHandler(handler)
    handler = _prepare(logging.StreamHandler(sys.stderr), make_formatter())
    handler._booking_root = True
    root.addHandler(handler)
    root.setLevel(log_level())
    # Flask's own handler on the "app" logger would print our lines a second time, unredacted.
    from flask.logging import default_handler

    logging.getLogger("app").removeHandler(default_handler)


# -- request hooks --------------------------------------------------------------------------
access_log = logging.getLogger(ACCESS_LOGGER)


def init_app(app: Flask) -> None:
    """The request id is set before every other hook and the header added after
    every other one; the access line is written when the request ends."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_response)
    app.teardown_request(_write_access_line)


def _start_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_response(response):
    if "request_id" not in g:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    response.headers[REQUEST_ID_HEADER] = g.request_id
    websocket = request.url_rule is not None and getattr(request.url_rule, "websocket", False)
    g.access = {"status": 101 if websocket else response.status_code,
                "duration_ms": _elapsed_ms(), "user_id": _user_id()}
    return response


def _write_access_line(exc: BaseException | None) -> None:
    if "request_id" not in g:
        return  # a request context that served nothing (test_request_context, url building)
    seen = g.pop("access", None) or {"status": 500, "duration_ms": _elapsed_ms(),
                                     "user_id": None}
    route = route_label()
    fields = {"request_id": g.get("request_id"), "method": request.method, "route": route,
              "path": request.path, "remote_addr": request.remote_addr, **seen}
    error = g.get("error")
    if error is not None:
        fields.update(error_id=error.id, category=error.category, severity=error.severity)
    access_log.info("%s %s %s", request.method, route, seen["status"], extra=fields)


def _elapsed_ms() -> float | None:
    started = g.get("request_started")
    return None if started is None else round((time.perf_counter() - started) * 1000, 1)


def _user_id() -> int | None:
    """The signed-in user Flask-Login loaded for this request (every page does). Nothing
    is loaded just to log: touching the session would add `Vary: Cookie` to every
    response, static files included."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


# -- gunicorn -------------------------------------------------------------------------------
class GunicornLogger(glogging.Logger):
    """gunicorn's logger (`logger_class` in gunicorn.conf.py): its own lines as
    redacted JSON; the access line is the application's (`app.access`), written
    where GUNICORN_ACCESS_LOG says ("-" stdout, a path, empty for none)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = make_formatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    _prepare(handler, formatter)
        app_access = logging.getLogger(ACCESS_LOGGER)
        for handler in list(app_access.handlers):
            if getattr(handler, "_gunicorn", False):
                app_access.removeHandler(handler)
        app_access.propagate = False
        app_access.setLevel(logging.INFO)  # GUNICORN_ACCESS_LOG decides, not LOG_LEVEL
        if cfg.accesslog is not None:
            self._set_handler(app_access, cfg.accesslog, formatter, stream=sys.stdout)
            for handler in app_access.handlers:
                _prepare(handler, formatter)
        else:
            handler = logging.NullHandler()
            handler._gunicorn = True
            app_access.addHandler(handler)

    def access(self, resp, req, environ, request_time) -> None:
        """Not written: the application's access line replaces gunicorn's."""
