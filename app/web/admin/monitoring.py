"""The monitoring page: health, traffic, alerts, backlog and database performance."""
from __future__ import annotations

from flask import current_app, render_template

from app.services.oversight import monitoring as service
from app.web.access import admin_required
from app.web.admin.blueprint import bp


@bp.get("/monitoring")
@admin_required
def monitoring():
    overview = service.monitoring_overview(current_app.extensions["health"])
    return render_template("admin/monitoring.html", overview=overview)


@bp.app_template_filter("duration")
def _duration(seconds: float | None) -> str:
    """'0.4 ms', '120 ms', '2.5 s', '4 min 10 s', '2 h 5 min' ('—' for none)."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 1:
        millis = seconds * 1000
        return f"{millis:.1f} ms" if millis < 10 else f"{millis:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@bp.app_template_filter("percent")
def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"
