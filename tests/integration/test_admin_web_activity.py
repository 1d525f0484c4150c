"""The activity feed and alerts pages."""
from app.extensions import db
from app.models import Alert, Severity
from app.services.core.audit import record_audit

from admin_helpers import assert_admin_only


def test_activity_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    for url in ("/admin/activity", "/admin/alerts", "/admin/alerts?all=1"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_feed_search_returns_the_fragment_with_before_and_after(app, admin_client, admin_user):
    record_audit(admin_user.id, "session.capacity", "session", 7, before={"capacity": 12},
                 after={"capacity": 10})
    record_audit(admin_user.id, "booking.cancel", "booking", "ABCDEFGHJK")
    response = admin_client.get("/admin/activity?q=capacity", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Changed the number of seats on a session" in body
    assert "Cancelled a booking" not in body
    assert "<dt>Capacity</dt><dd>12 → 10</dd>" in body
    assert admin_user.full_name in body
    assert "HX-Request" in response.headers["Vary"]


def test_alerts_are_listed_acknowledged_and_resolved(app, admin_client):
    alert = Alert(kind="payments.refund_failed", message="Refund 9 failed",
                  severity=Severity.CRITICAL)
    db.session.add(alert)
    db.session.commit()
    assert "Refund 9 failed" in admin_client.get("/admin/alerts").get_data(as_text=True)
    response = admin_client.post(f"/admin/alerts/{alert.id}/acknowledge",
                                 data={"next_url": "//evil.example.com/"})
    assert response.headers["Location"] == "/admin/alerts"  # never off-site
    page = admin_client.get("/admin/alerts").get_data(as_text=True)
    assert "Refund 9 failed" in page and "Acknowledged" in page
    admin_client.post(f"/admin/alerts/{alert.id}/resolve", data={"next_url": "/admin/alerts"})
    assert "Refund 9 failed" not in admin_client.get("/admin/alerts").get_data(as_text=True)
    assert "Refund 9 failed" in admin_client.get("/admin/alerts?all=1").get_data(as_text=True)
