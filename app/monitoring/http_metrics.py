"""Counts every HTTP request into http_requests_total / http_request_duration_seconds.

Hooked on Flask's request_started / request_finished signals rather than
before/after_request: the first fires before any before_request function (so
an early answer, e.g. a rate limit, is still timed) and the second exactly
once per response, error pages included. A WebSocket route counts when its
connection ends. `route` is the URL rule, never the raw path, so ids and
tokens in URLs cannot explode the label set.
"""
from __future__ import annotations

import time

from flask import Flask, g, request, request_finished, request_started

from app.monitoring import metrics

UNMATCHED = "unmatched"


def route_label() -> str:
    """The request's URL rule (`/sessions/<int:session_id>`), the one route label of
    metrics, logs and the traffic window; "unmatched" when no rule matched."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def _started(sender: Flask, **_extra) -> None:
    g._metrics_started = time.perf_counter()


def _finished(sender: Flask, response, **_extra) -> None:
    started = g.pop("_metrics_started", None)
    route = route_label()
    method = metrics.method_label(request.method)
    metrics.HTTP_REQUESTS.labels(method=method, route=route,
                                 status=str(response.status_code)).inc()
    if started is not None:
        metrics.HTTP_DURATION.labels(method=method, route=route).observe(
            time.perf_counter() - started)


def init_app(app: Flask) -> None:
    """Request counting for this app, and pool gauges for this process."""
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)
    metrics.track_database_pools()
    metrics.start_known_series_at_zero(app.config.get("PAYMENT_PROVIDER") or "unknown")
