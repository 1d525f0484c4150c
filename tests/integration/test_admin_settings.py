"""Feature switches: an environment default, overridden from the admin settings page
for every process, audited."""
from __future__ import annotations

import pytest

from app.models import AuditLog
from app.services.core import switches
from app.services.core.errors import NotFound
from app.extensions import db
from sqlalchemy import select


@pytest.fixture
def app_config():
    return {"WAITLIST_ENABLED": False}


def test_a_switch_nobody_set_follows_its_environment_variable(app):
    assert switches.is_on("WAITLIST_ENABLED") is False
    assert switches.is_on("INVOICE_PAYMENTS_ENABLED") is True


def test_an_administrators_choice_overrides_the_default_and_is_audited(app, admin_user):
    switches.set_switch(admin_user.id, "WAITLIST_ENABLED", True)
    assert switches.is_on("WAITLIST_ENABLED") is True
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "setting.changed"))
    assert (entry.entity_id, entry.before, entry.after) == (
        "WAITLIST_ENABLED", {"enabled": False}, {"enabled": True})
    switches.set_switch(admin_user.id, "WAITLIST_ENABLED", False)
    assert switches.is_on("WAITLIST_ENABLED") is False


def test_an_unknown_switch_is_not_found(app):
    with pytest.raises(NotFound):
        switches.is_on("NO_SUCH_FEATURE")
    with pytest.raises(NotFound):
        switches.set_switch(None, "NO_SUCH_FEATURE", True)


def test_the_settings_page_lists_every_switch_and_turns_one_on(admin_client):
    page = admin_client.get("/admin/settings")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for switch in switches.SWITCHES.values():
        assert switch.label in text
    answer = admin_client.post("/admin/settings",
                               data={"name": "WAITLIST_ENABLED", "enabled": "on"})
    assert answer.status_code == 303
    assert switches.is_on("WAITLIST_ENABLED") is True
    assert "Public waiting list is now on" in admin_client.get("/admin/settings").get_data(
        as_text=True)


@pytest.mark.parametrize("data", [{"name": "WAITLIST_ENABLED", "enabled": "maybe"},
                                  {"name": "NO_SUCH_FEATURE", "enabled": "on"},
                                  {"enabled": "on"}])
def test_a_bad_change_is_refused_with_a_4xx_and_changes_nothing(admin_client, data):
    answer = admin_client.post("/admin/settings", data=data)
    assert 400 <= answer.status_code < 500
    assert switches.is_on("WAITLIST_ENABLED") is False


def test_trainers_cannot_change_settings(trainer_client):
    assert trainer_client.post("/admin/settings",
                               data={"name": "WAITLIST_ENABLED", "enabled": "on"}
                               ).status_code == 403
