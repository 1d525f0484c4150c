"""The hostile-input corpus: values and raw bodies an attacker sends, and the checks
every answer to them must pass.

Values go into every field of a form (or JSON key, or query parameter) at once; raw
bodies replace the whole body. What must hold for each answer (`problems`):
no 5xx, no payload reflected as live markup, JSON errors as the error object; and
for a refused request (4xx) no row changed (`Snapshot`).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text

from app.extensions import db

MARK = "31337"  # in every script payload, so a reflection is unmistakable

XSS = [
    f"<script>alert({MARK})</script>",
    f'"><script>alert({MARK})</script>',
    f"'><img src=x onerror=alert({MARK})>",
    f"<svg/onload=alert({MARK})>",
    f"javascript:alert({MARK})",
    f"<a href=\"javascript:alert({MARK})\">x</a>",
    "{{7*7}}{% raw %}${7*7}",
]
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE bookings;--",
    "1 UNION SELECT password_hash FROM users--",
    "Robert'); DELETE FROM course_sessions;--",
]
PATHS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/app.py",
         "C:\\Windows\\win.ini"]
NUMBERS = ["99999999999999999999", "-1", "-5", "0", "1e309", "NaN", "-0", "2147483648",
           "9" * 400, "0x10", "1.5"]
UNICODE = [
    "\u202egnp.exe\u202c",              # right-to-left override
    "a\u200bb\u200dc\ufeff",            # zero-width characters
    "nul\x00byte",                      # a NUL byte
    "\x1b[31mred\x07\x08",              # terminal controls
    "line\r\nSet-Cookie: pwned=1",      # header injection
    "Zoë 🚑 \U0010ffff",                 # emoji and the last code point
    "\ud800",                           # a lone surrogate (not encodable as UTF-8)
]
LONG = ["A" * 10_000, "<" * 5_000]

VALUES: list[str] = XSS + SQL + PATHS + NUMBERS + UNICODE + LONG

# Path segments put where a route expects an id, a reference or a token.
PATH_SEGMENTS = ["99999999999999999999", "-1", "0", "..%2f..%2fetc%2fpasswd",
                 "%3Cscript%3Ealert(31337)%3C%2Fscript%3E", "%00", "A" * 300, "%E2%80%AE"]

# JSON values (not only strings) for the API's fields.
JSON_VALUES: list[object] = [*VALUES, None, True, -1, -5, 0, 10**30, -(10**30), 1e308, 1.5,
                             [], {}, [1] * 50, {"$ne": None}, "1"]


@dataclass(frozen=True)
class RawBody:
    name: str
    data: bytes
    content_type: str


def deep_json(depth: int = 1000) -> bytes:
    return b"[" * depth + b"]" * depth


RAW_BODIES = [
    RawBody("deep JSON", deep_json(), "application/json"),
    RawBody("deep JSON objects", b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json"),
    RawBody("truncated JSON", b'{"session_id": 1, "contact": {', "application/json"),
    RawBody("invalid UTF-8 JSON", b'{"name": "\xff\xfe\xfa"}', "application/json"),
    RawBody("invalid UTF-8 form", b"name=\xff\xfe&email=\xc3\x28", "application/x-www-form-urlencoded"),
    RawBody("JSON NaN and Infinity", b'{"session_id": NaN, "seats": Infinity}', "application/json"),
    RawBody("huge JSON number", b'{"session_id": 1' + b"0" * 5000 + b"}", "application/json"),
    RawBody("oversized JSON", json.dumps({"x": ["y" * 100] * 30_000}).encode(), "application/json"),
    RawBody("oversized form", b"name=" + b"A" * 3_000_000, "application/x-www-form-urlencoded"),
    RawBody("XML", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
                   b"<x>&e;</x>", "application/xml"),
    RawBody("text", b"session_id=1", "text/plain"),
    RawBody("bad multipart", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
            "multipart/form-data; boundary=x"),
    RawBody("multipart without boundary", b"whatever", "multipart/form-data"),
    RawBody("unknown charset", b"name=a", "application/x-www-form-urlencoded; charset=x-bogus"),
    RawBody("JSON as form", b'{"session_id": 1}', "application/x-www-form-urlencoded"),
    RawBody("form as JSON", b"session_id=1&name=x", "application/json"),
    RawBody("empty JSON", b"", "application/json"),
]


def encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_LIVE_MARKUP = [re.compile(p, re.I) for p in (
    rf"<script>alert\({MARK}\)",
    rf"<img src=x onerror=alert\({MARK}\)",
    rf"<svg/onload=alert\({MARK}\)",
    rf"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:alert\({MARK}\)""",
)]


def reflected_markup(body: str) -> str | None:
    """The payload that came back as live markup, if any."""
    for pattern in _LIVE_MARKUP:
        match = pattern.search(body)
        if match:
            return match.group(0)
    return None


def problems(response, *, json_api: bool) -> list[str]:
    """What is wrong with one answer to a hostile request (empty when nothing is)."""
    found = []
    if response.status_code >= 500:
        found.append(f"answered {response.status_code}")
    body = response.get_data().decode("utf-8", "replace")  # a PDF or CSV is bytes
    if response.mimetype in {"text/html", "text/plain", "image/svg+xml"} or not json_api:
        if (markup := reflected_markup(body)) is not None and response.mimetype != "application/json":
            found.append(f"reflected {markup!r} in {response.mimetype}")
    if json_api and response.status_code >= 400 and response.status_code != 405:
        try:
            error = json.loads(body)["error"]
            assert {"code", "message", "fields"} <= set(error)
        except Exception:
            found.append(f"{response.status_code} without the JSON error object: {body[:120]!r}")
    return found


# Rows any request may write: traffic figures, materialized analytics, job bookkeeping,
# and the abuse counters that count refused requests too.
_BOOKKEEPING = re.compile(r"^(traffic_|analytics_|job_runs$)|limit|attempt")


class Snapshot:
    """Row counts and the latest update time of every table, in one query."""

    def __init__(self) -> None:
        tables = [t for t in db.metadata.sorted_tables
                  if not _BOOKKEEPING.search(t.name) and not t.info.get("materialized_view")]
        parts = []
        for table in tables:
            parts.append(f"(SELECT count(*) FROM {table.name})")
            if "updated_at" in table.c:
                parts.append(f"(SELECT max(updated_at) FROM {table.name})")
        self.labels = [label for table in tables for label in
                       ([f"{table.name} rows"] + ([f"{table.name} updated"]
                                                   if "updated_at" in table.c else []))]
        self.query = text("SELECT " + ", ".join(parts))

    def take(self) -> tuple:
        db.session.remove()
        with db.engine.connect() as conn:
            return tuple(conn.execute(self.query).one())

    def changes(self, before: tuple, after: tuple) -> list[str]:
        return [label for label, a, b in zip(self.labels, before, after) if a != b]


@dataclass
class Tally:
    """How many hostile requests were sent and what went wrong, request by request."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def record(self, request: str, response, found: list[str]) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        self.failures.extend(f"{request}: {problem}" for problem in found)

    def report(self, record_property, surface: str) -> None:
        record_property("hostile_requests", self.requests)
        record_property("hostile_5xx", self.server_errors)
        print(f"\n[corpus] {surface}: {self.requests} hostile requests, "
              f"{self.server_errors} answered 5xx, statuses {dict(sorted(self.statuses.items()))}")
