"""The admin landing page and the admin frame (navigation, privacy headers)."""
from datetime import timedelta

from app.extensions import db
from app.models import Alert, Severity, utcnow

from admin_helpers import assert_admin_only, paid_booking
from factories import SessionFactory

NAV = ["Dashboard", "Sessions", "Bookings", "Courses", "Venues", "Trainers", "Waiting lists",
       "Events", "Activity"]


def test_dashboard_is_for_admins_only(app, admin_client, trainer_client, client):
    assert_admin_only(admin_client, trainer_client, client, "/admin/")


def test_dashboard_shows_today_alerts_and_recent_bookings(app, admin_client):
    today = SessionFactory(starts_at=utcnow(), ends_at=utcnow() + timedelta(hours=6),
                           course__title="Paediatric First Aid")
    booking = paid_booking(today.id, 2, now=utcnow() - timedelta(minutes=1))
    db.session.add(Alert(kind="refund_failed", message="Refund 7 failed", severity=Severity.CRITICAL))
    db.session.commit()
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "Paediatric First Aid" in html
    assert f'id="seats-{today.id}"' in html
    assert "Refund 7 failed" in html
    assert booking.reference in html


def test_every_admin_page_has_the_admin_navigation_and_is_never_cached(app, admin_client):
    response = admin_client.get("/admin/bookings")
    html = response.get_data(as_text=True)
    for label in NAV:
        assert f">{label}</a>" in html
    assert '<a href="/admin/bookings" aria-current="page">Bookings</a>' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_acknowledging_from_the_dashboard_comes_back_to_it(app, admin_client):
    alert = Alert(kind="x", message="Look", severity=Severity.WARNING)
    db.session.add(alert)
    db.session.commit()
    response = admin_client.post(f"/admin/alerts/{alert.id}/acknowledge",
                                 data={"next_url": "/admin/"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).acknowledged_at is not None
