"""The alerts page acknowledges and resolves with a CSRF-checked POST, audited;
the activity feed reads as words, not codes, pence, ids or timestamps."""
import re
from datetime import datetime, timezone

import pytest

from app.extensions import db
from app.models import Alert, Severity
from app.services.core import alerts
from app.services.core.audit import record_audit, search_audit

from factories import CourseFactory, SessionFactory, UserFactory, VenueFactory
from staff_helpers import sign_in_without_password


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def token_of(page: str, action: str) -> str:
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    return re.search(r'name="csrf_token" value="([^"]+)"', form.group(0)).group(1)


def test_admins_acknowledge_then_resolve_from_the_alerts_page_with_csrf_and_audit(
        app, admin_user):
    client = sign_in_without_password(app.test_client(), admin_user)
    alert = alerts.raise_alert("payments.refund_failed", "Refund of £60.00 owed to Jane Smith",
                               severity=Severity.CRITICAL, subject="refund:1")
    acknowledge = f"/admin/alerts/{alert.id}/acknowledge"
    resolve = f"/admin/alerts/{alert.id}/resolve"

    assert client.post(resolve).status_code == 400  # no CSRF token: refused
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).is_open

    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "Critical: Refund failed" in page and "Refund of £60.00 owed to Jane Smith" in page
    response = client.post(acknowledge, data={"csrf_token": token_of(page, acknowledge)})
    assert response.status_code == 303
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "Acknowledged" in page and f'action="{acknowledge}"' not in page
    client.post(resolve, data={"csrf_token": token_of(page, resolve)})

    db.session.expire_all()
    done = db.session.get(Alert, alert.id)
    assert done.status == "resolved" and done.resolved_by_id == admin_user.id
    entries = search_audit(entity_type="alert").items
    assert sorted((e.action, e.actor_id) for e in entries) == [
        ("alert.acknowledge", admin_user.id), ("alert.resolve", admin_user.id)]
    everything = client.get("/admin/alerts?all=1").get_data(as_text=True)
    assert "Resolved" in everything and admin_user.full_name in everything


def test_the_activity_feed_shows_actions_and_values_in_words(app, admin_user):
    client = sign_in_without_password(app.test_client(), admin_user)
    trainer = UserFactory(full_name="Sam Jones")
    course = CourseFactory(title="Emergency First Aid at Work")
    session = SessionFactory(course=course, venue=VenueFactory(town="Bradford"), trainer=trainer,
                             starts_at=datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc))
    record_audit(admin_user.id, "booking.cancel", "booking", "TX4ABCDEFG",
                 before={"status": "confirmed", "refund_due_pence": 0, "cancelled_at": None},
                 after={"status": "cancelled", "refund_due_pence": 6000,
                        "cancelled_at": "2026-11-30T14:05:09.123456+00:00",
                        "refund_choice": "full_refund"})
    record_audit(admin_user.id, "session.assign_trainer", "session", session.id,
                 before={"trainer_id": None}, after={"trainer_id": trainer.id})
    alert = alerts.raise_alert("error_rate", "Errors", severity=Severity.CRITICAL)
    record_audit(admin_user.id, "alert.resolve", "alert", alert.id,
                 before={"resolved_at": None}, after={"resolved_at": "2026-11-30T15:00:00+00:00"})

    page = client.get("/admin/activity").get_data(as_text=True)
    table = page[page.index("<h2>Changes</h2>"):]
    for words in ("Cancelled a booking", "Booking TX4ABCDEFG",
                  "<dt>Refund due</dt><dd>£0.00 → £60.00</dd>",
                  "<dt>Status</dt><dd>Confirmed → Cancelled</dd>",
                  "<dt>Cancelled</dt><dd>none → Mon 30 Nov 2026, 2:05pm</dd>",
                  "<dt>Refund</dt><dd>Full refund</dd>",
                  "Assigned a trainer to a session",
                  "Emergency First Aid at Work, Tue 8 Dec 2026, Bradford",
                  "<dt>Trainer</dt><dd>none → Sam Jones</dd>",
                  "Resolved an alert", "Alert: High error rate"):
        assert words in table, words
    for code in ("booking.cancel", "refund_due_pence", "6000", "_pence", ".123456",
                 "2026-11-30T", "session.assign_trainer", "trainer_id", "error_rate"):
        assert code not in table, code
