"""Dead-lettered outbox deliveries: list them and replay them."""
from __future__ import annotations

from flask import render_template, request, url_for

from app.services.oversight import activity
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_success
from app.web.admin.forms import CsrfForm
from app.web.htmx import see_other


@bp.get("/events")
@admin_required
def events():
    return render_template("admin/events.html", deliveries=activity.dead_letters(),
                           form=CsrfForm(formdata=None))


@bp.post("/events/replay")
@admin_required
def events_replay():
    """Replay the ticked deliveries, or every dead one with all=1."""
    if CsrfForm().validate_on_submit():
        if request.form.get("all") == "1":
            ids = None
        else:
            ids = [int(v) for v in request.form.getlist("delivery_id") if v.isdigit()]
        count = activity.replay_dead_letters(actor_id(), ids) if ids != [] else 0
        flash_success(f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")
    return see_other(url_for("admin.events"))


@bp.post("/events/<id:delivery_id>/replay")
@admin_required
def event_replay(delivery_id: int):
    if CsrfForm().validate_on_submit():
        count = activity.replay_dead_letters(actor_id(), [delivery_id])
        flash_success("Delivery queued again." if count else "That delivery is not dead.")
    return see_other(url_for("admin.events"))
