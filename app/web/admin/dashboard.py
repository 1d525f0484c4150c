"""The admin landing page: today's sessions, open alerts, recent bookings, and
this week's and this month's headline figures with the sessions at risk."""
from __future__ import annotations

from flask import render_template

from app.services.oversight import activity
from app.web.access import admin_required
from app.web.admin.analytics import dashboard_figures
from app.web.admin.blueprint import bp


@bp.get("/")
@admin_required
def dashboard():
    return render_template("admin/dashboard.html", board=activity.dashboard(),
                           figures=dashboard_figures())
