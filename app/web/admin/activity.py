"""The activity feed (audit entries and alerts, searchable) and open alerts."""
from __future__ import annotations

from flask import render_template, request, url_for

from app.services.core.errors import DomainError
from app.services.oversight import activity as activity_service
from app.validation.filters import page_number
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_error, flash_success
from app.web.admin.forms import CsrfForm
from app.web.htmx import page_or_fragment, see_other


@bp.get("/activity")
@admin_required
def activity():
    feed = activity_service.activity_feed(request.args)
    return page_or_fragment("admin/activity.html", "fragments/_admin_activity_table.html",
                            feed=feed, entity_types=activity_service.ENTITY_TYPES)


@bp.get("/alerts")
@admin_required
def alerts():
    show_all = request.args.get("all") == "1"
    results = activity_service.list_alerts(open_only=not show_all,
                                         page=page_number(request.args.get("page")))
    return render_template("admin/alerts.html", results=results, show_all=show_all,
                           form=CsrfForm(formdata=None))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@admin_required
def alert_acknowledge(alert_id: int):
    return _alert_action(activity_service.acknowledge_alert, alert_id, "Alert acknowledged.")


@bp.post("/alerts/<int:alert_id>/resolve")
@admin_required
def alert_resolve(alert_id: int):
    return _alert_action(activity_service.resolve_alert, alert_id, "Alert resolved.")


def _alert_action(action, alert_id: int, done: str):
    if CsrfForm().validate_on_submit():
        try:
            action(actor_id(), alert_id)
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(done)
    else:
        flash_error("This form has expired. Please try again.")
    return see_other(request.form.get("next_url") if _is_local(request.form.get("next_url"))
                     else url_for("admin.alerts"))


def _is_local(url: str | None) -> bool:
    return bool(url) and url.startswith("/admin") and "//" not in url and "\\" not in url
