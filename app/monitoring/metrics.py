"""Prometheus text exposition of the figures the operations team alerts on."""
from __future__ import annotations

from app.services.background.dispatcher import delivery_counts
from app.services.payments.runtime import breaker_states

BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


def render_metrics() -> str:
    """`GET /metrics` body (text/plain; version=0.0.4)."""
    lines = [
        "# HELP booking_breaker_state Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        "# TYPE booking_breaker_state gauge",
    ]
    for name, state in sorted(breaker_states().items()):
        lines.append(f'booking_breaker_state{{breaker="{name}"}} '
                     f"{BREAKER_STATE_VALUES.get(state, 2)}")
    lines += [
        "# HELP booking_outbox_deliveries Outbox deliveries by status.",
        "# TYPE booking_outbox_deliveries gauge",
    ]
    for status, count in sorted(delivery_counts().items()):
        lines.append(f'booking_outbox_deliveries{{status="{status}"}} {count}')
    return "\n".join(lines) + "\n"
