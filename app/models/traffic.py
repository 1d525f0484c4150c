"""Request figures per minute and route, shared by every process (the traffic window).

Each web process tallies its finished requests in memory and adds them here
every few seconds (app.monitoring.traffic). Writers only ever *add* to a row,
with one ``INSERT .. ON CONFLICT DO UPDATE SET n = n + excluded.n`` per key, so
flushes from any number of processes commute and none can overwrite another's
figures (a read-modify-write would). Readers sum rows over a window.

Latency is kept as a histogram: one integer column per bucket of
``LATENCY_BUCKETS`` (the same bounds as ``http_request_duration_seconds``),
each counting the requests that fell in that bucket only (not cumulative), plus
``le_inf`` for the slower ones. Fixed columns keep a minute's figures in one
row, added by one statement.

Errors by category live in a second table, one row per (minute, method, route,
category, severity): sparse (most minutes have none), open to a new category
without a migration, and keeping severity so critical patterns can be told
apart. The categories and severities are those of app.monitoring.errors.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, text

from app.extensions import db
from app.monitoring.metrics import LATENCY_BUCKETS
from app.models.types import UTCDateTime


def bucket_column_name(upper_bound: float) -> str:
    """``le_5ms``, ``le_250ms``, ``le_1s``, ``le_2_5s``: the column counting requests
    slower than the previous bound and no slower than this one."""
    if upper_bound < 1:
        return f"le_{round(upper_bound * 1000, 3):g}ms".replace(".", "_")
    return f"le_{upper_bound:g}s".replace(".", "_")


# One column per finite bound, then the overflow bucket.
BUCKET_COLUMNS: tuple[str, ...] = (*(bucket_column_name(b) for b in LATENCY_BUCKETS), "le_inf")
# Counter columns, added on conflict.
FIGURE_COLUMNS: tuple[str, ...] = ("requests", "server_errors", "errors", "duration_micros",
                                   *BUCKET_COLUMNS)


def _count(name: str, type_=Integer) -> Column:
    return Column(name, type_, nullable=False, default=0, server_default=text("0"))


traffic_minutes = Table(
    "traffic_minutes", db.metadata,
    # The minute's start, UTC (seconds and microseconds zero).
    Column("minute", UTCDateTime, primary_key=True),
    Column("method", String(16), primary_key=True),
    # The URL rule ("/sessions/<int:session_id>") or "unmatched", never a raw path.
    Column("route", String(255), primary_key=True),
    _count("requests"),
    # Responses with status >= 500.
    _count("server_errors"),
    # Requests that failed: status >= 500, or an error classified error/critical.
    _count("errors"),
    # Sum of durations, whole microseconds (integers add exactly).
    _count("duration_micros", BigInteger),
    *(_count(name) for name in BUCKET_COLUMNS),
)

traffic_minute_errors = Table(
    "traffic_minute_errors", db.metadata,
    Column("minute", UTCDateTime, primary_key=True),
    Column("method", String(16), primary_key=True),
    Column("route", String(255), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("severity", String(16), primary_key=True),
    _count("count"),
)


class TrafficMinute(db.Model):
    """One minute of one route's requests, summed over every process."""

    __table__ = traffic_minutes


class TrafficMinuteError(db.Model):
    """Classified errors of one minute and route, by category and severity."""

    __table__ = traffic_minute_errors
