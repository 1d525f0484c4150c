"""What the operations team watches: request ids and logs, metrics, errors, health, traces."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Install the operations hooks. The request-id hook goes in last because it puts
    itself first: every other hook, log line and error page then has `g.request_id`."""
    # Imported here, not at the top: app.models imports app.monitoring.metrics, and these
    # modules import the models.
    from app.monitoring import health, http_metrics, logs, traffic, tracing

    traffic.init_app(app)
    health.init_app(app)
    http_metrics.init_app(app)
    tracing.init_app(app)
    logs.init_app(app)
