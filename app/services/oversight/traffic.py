"""The traffic window: request rate, error rate and latency over the last minutes,
summed over every web process (read by the alert rules and the monitoring page).

Each web process tallies its finished requests per minute and route in memory
(`TrafficTally`, fed by app.monitoring.traffic) and adds the tally to the
``traffic_minutes`` tables every few seconds with `record_traffic`. The figures
are therefore the same whichever process, or the background worker, reads them,
and lag the requests by at most one flush interval.

What counts as an error
-----------------------
A request is an *error* when its response status is 5xx, or when the error
handler classified an exception on it with severity ``error`` or ``critical``
(whatever the status). Each request counts once, even if both hold. Classified
errors of severity ``info``/``warning`` (a 404, a failed validation) are not
errors for the error rate, but every classified error, of any severity, is
counted in ``errors_by_category``; a 5xx that no handler classified is an error
with no category.

p95
---
Latency percentiles come from the histogram buckets of
``app.monitoring.metrics.LATENCY_BUCKETS`` merged over the window and
interpolated linearly inside the bucket holding the percentile, as Prometheus'
``histogram_quantile`` does: the lowest bucket starts at 0, and a percentile in
the overflow bucket (slower than the last bound) is reported as the last bound.
"""
from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.models.traffic import BUCKET_COLUMNS
from app.models.types import utcnow
from app.monitoring.metrics import LATENCY_BUCKETS, method_label
from app.repositories import unit_of_work
from app.repositories.traffic import TrafficRepository

SERIOUS_SEVERITIES = frozenset({"error", "critical"})


# -- reading the window --------------------------------------------------------------------
@dataclass(frozen=True)
class RouteTraffic:
    method: str
    route: str
    requests: int
    errors: int
    requests_per_minute: float
    p95_seconds: float | None  # None when the route had no requests

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class TrafficSummary:
    """Figures of every process for the minutes in a window (see the module docstring
    for what counts as an error and how p95 is estimated)."""

    since: datetime | None = None
    until: datetime | None = None
    requests: int = 0
    # Requests answered 5xx or whose error was classified error/critical, each once.
    errors: int = 0
    # Responses with status >= 500 (a subset of `errors`).
    server_errors: int = 0
    # Every classified error, any severity, by category; categories with none are absent.
    errors_by_category: dict[str, int] = field(default_factory=dict)
    errors_by_severity: dict[str, int] = field(default_factory=dict)
    # Busiest first.
    routes: list[RouteTraffic] = field(default_factory=list)
    p95_seconds: float | None = None

    @property
    def error_rate(self) -> float:
        """errors / requests, 0.0 when there were no requests."""
        return self.errors / self.requests if self.requests else 0.0


def minute_of(moment: datetime) -> datetime:
    """The start of the minute holding `moment`."""
    return moment.replace(second=0, microsecond=0)


def histogram_quantile(q: float, counts: Sequence[int],
                       bounds: Sequence[float] = LATENCY_BUCKETS) -> float | None:
    """The q-quantile (0 < q <= 1) of per-bucket counts (not cumulative; one more count
    than bounds, the last for values above the last bound), interpolated linearly in
    its bucket like Prometheus' histogram_quantile. None when there are no counts."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(bounds):
                return float(bounds[-1])
            lower = bounds[index - 1] if index else 0.0
            return lower + (bounds[index] - lower) * (rank - seen) / count
        seen += count
    return float(bounds[-1])


def traffic_summary(since: datetime, until: datetime | None = None) -> TrafficSummary:
    """Requests, errors, error rate, errors by category and per-route rate and p95 for
    the minutes starting from `since`'s minute up to `until` (default now).

    Rows are per minute, so the window starts at the beginning of `since`'s minute;
    rates are per minute of that span (``until - minute_of(since)``). Requests of the
    last few seconds may not be flushed yet (TRAFFIC_FLUSH_SECONDS).
    """
    until = until or utcnow()
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("traffic_summary needs aware (UTC) datetimes")
    first = minute_of(since)
    if until <= first:
        raise ValueError("until must be after since")
    minutes = (until - first).total_seconds() / 60
    repo = TrafficRepository()
    routes = []
    requests = errors = server_errors = 0
    buckets_total = [0] * len(BUCKET_COLUMNS)
    for row in repo.figures_by_route(first, until):
        counts = [int(getattr(row, name) or 0) for name in BUCKET_COLUMNS]
        route_requests, route_errors = int(row.requests or 0), int(row.errors or 0)
        routes.append(RouteTraffic(
            method=row.method, route=row.route, requests=route_requests, errors=route_errors,
            requests_per_minute=route_requests / minutes,
            p95_seconds=histogram_quantile(0.95, counts)))
        requests += route_requests
        errors += route_errors
        server_errors += int(row.server_errors or 0)
        buckets_total = [a + b for a, b in zip(buckets_total, counts)]
    routes.sort(key=lambda r: (-r.requests, r.route, r.method))
    return TrafficSummary(
        since=first, until=until, requests=requests, errors=errors,
        server_errors=server_errors,
        errors_by_category=repo.errors_by("category", first, until),
        errors_by_severity=repo.errors_by("severity", first, until),
        routes=routes, p95_seconds=histogram_quantile(0.95, buckets_total))


# -- recording ------------------------------------------------------------------------------
@dataclass
class MinuteFigures:
    """One process's not-yet-stored figures for one minute and (method, route)."""

    requests: int = 0
    server_errors: int = 0
    errors: int = 0
    duration_micros: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKET_COLUMNS))
    # (category, severity) -> classified errors.
    classified: Counter = field(default_factory=Counter)

    def add_request(self, status: int, seconds: float, category: str | None,
                    severity: str | None) -> None:
        self.requests += 1
        server_error = status >= 500
        self.server_errors += int(server_error)
        self.errors += int(server_error or severity in SERIOUS_SEVERITIES)
        self.duration_micros += max(0, round(seconds * 1_000_000))
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if category:
            self.classified[(category, severity or "error")] += 1

    def merge(self, other: "MinuteFigures") -> None:
        self.requests += other.requests
        self.server_errors += other.server_errors
        self.errors += other.errors
        self.duration_micros += other.duration_micros
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets)]
        self.classified.update(other.classified)


Key = tuple[datetime, str, str]  # (minute, method, route)


class TrafficTally:
    """A process's figures waiting to be stored, per minute and (method, route).

    Thread-safe. `take` hands the whole tally over (and starts a new one); a failed
    write gives it back with `give_back`, which keeps at most `max_keys` keys,
    dropping the oldest minutes first, so a database that stays down costs bounded
    memory (`dropped_requests` counts what was lost that way).
    """

    def __init__(self, max_keys: int = 20_000):
        self.max_keys = max_keys
        self.dropped_requests = 0
        self._lock = threading.Lock()
        self._figures: dict[Key, MinuteFigures] = {}

    def record(self, *, at: datetime, method: str, route: str, status: int, seconds: float,
               category: str | None = None, severity: str | None = None) -> None:
        method = method_label(method)
        key = (minute_of(at), method, route[:255])
        with self._lock:
            figures = self._figures.get(key)
            if figures is None:
                figures = self._figures[key] = MinuteFigures()
                self._trim()
            figures.add_request(status, seconds, category, severity)

    def take(self) -> dict[Key, MinuteFigures]:
        with self._lock:
            taken, self._figures = self._figures, {}
        return taken

    def give_back(self, taken: dict[Key, MinuteFigures]) -> None:
        with self._lock:
            for key, figures in taken.items():
                mine = self._figures.get(key)
                if mine is None:
                    self._figures[key] = figures
                else:
                    mine.merge(figures)
            self._trim()

    def __len__(self) -> int:
        with self._lock:
            return len(self._figures)

    def _trim(self) -> None:
        excess = len(self._figures) - self.max_keys
        if excess > 0:
            for key in sorted(self._figures)[:excess]:
                self.dropped_requests += self._figures.pop(key).requests


def record_traffic(taken: dict[Key, MinuteFigures]) -> int:
    """Add a tally's figures to the shared tables in one transaction; returns the
    number of requests stored."""
    rows, error_rows = [], []
    for (minute, method, route), figures in taken.items():
        row = {"minute": minute, "method": method, "route": route,
               "requests": figures.requests, "server_errors": figures.server_errors,
               "errors": figures.errors, "duration_micros": figures.duration_micros}
        row.update(zip(BUCKET_COLUMNS, figures.buckets))
        rows.append(row)
        error_rows.extend(
            {"minute": minute, "method": method, "route": route, "category": category,
             "severity": severity, "count": count}
            for (category, severity), count in figures.classified.items())
    if not rows:
        return 0
    with unit_of_work():
        TrafficRepository().add_figures(rows, error_rows)
    return sum(f.requests for f in taken.values())


__all__ = ["MinuteFigures", "RouteTraffic", "TrafficSummary", "TrafficTally",
           "histogram_quantile", "record_traffic", "traffic_summary"]
