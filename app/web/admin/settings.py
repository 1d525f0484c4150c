"""Settings: the features an administrator switches on and off while the site runs."""
from __future__ import annotations

from flask import abort, render_template, url_for

from app.services.core import switches
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_success
from app.web.admin.forms import SwitchForm
from app.web.htmx import see_other

_CHOICES = {"on": True, "off": False}


@bp.get("/settings")
@admin_required
def settings():
    return render_template("admin/settings.html", states=switches.states(),
                           form=SwitchForm(formdata=None))


@bp.post("/settings")
@admin_required
def setting_change():
    form = SwitchForm()
    if not form.validate_on_submit() or form.enabled.data not in _CHOICES:
        abort(400)
    state = switches.set_switch(actor_id(), form.name.data or "", _CHOICES[form.enabled.data])
    flash_success(f"{state.switch.label} is now {'on' if state.enabled else 'off'}.")
    return see_other(url_for("admin.settings"))
