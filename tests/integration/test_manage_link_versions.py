"""Manage links expire some weeks after the course and can be reissued: the new
link works, every earlier one gets the same 403 as a forged one."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, OutboxEvent, utcnow
from app.services.bookings.manage_links import reissue_manage_link
from app.services.core import events
from app.services.core.errors import NotFound
from app.services.core.tokens import manage_token
from factories import AttendeeFactory, BookingFactory, SessionFactory


@pytest.fixture
def app_config():
    return {"MANAGE_LINK_DAYS_AFTER_COURSE": 42}


def booking_on(session=None):
    booking = BookingFactory(session=session or SessionFactory(), hold_expires_at=None,
                             confirmed_at=utcnow(), contact_name="Priya Shah")
    AttendeeFactory(booking=booking, position=0, full_name="Sam Patel")
    return booking


def manage_path(app, reference, version=1):
    token = manage_token(reference, secret_key=app.config["SECRET_KEY"], version=version)
    return f"/bookings/{reference}?token={token}"


def past_session(days_ago: int):
    ends = utcnow() - timedelta(days=days_ago)
    return SessionFactory(starts_at=ends - timedelta(hours=6), ends_at=ends)


def test_a_reissued_link_works_and_every_earlier_link_is_refused_like_a_forged_one(client, app):
    booking = booking_on()
    old = manage_path(app, booking.reference)
    assert client.get(old).status_code == 200

    reissue_manage_link(booking.reference, actor_id=None)

    refused, forged = client.get(old), client.get(f"/bookings/{booking.reference}?token=forged")
    assert refused.status_code == forged.status_code == 403
    assert refused.get_data() == forged.get_data()
    assert "Priya Shah" not in refused.get_data(as_text=True)
    assert client.get(manage_path(app, booking.reference, version=2)).status_code == 200


def test_the_links_the_site_hands_out_carry_the_current_version(client, app):
    booking = booking_on()
    reissue_manage_link(booking.reference)
    link = app.extensions["links"].manage_link(booking.reference)
    assert client.get(link.removeprefix(app.config["PUBLIC_BASE_URL"])).status_code == 200


def test_reissuing_emails_the_new_link_through_the_outbox_and_is_audited(app):
    booking = booking_on()
    reissue_manage_link(booking.reference, actor_id=None)
    event = db.session.scalar(select(OutboxEvent).where(
        OutboxEvent.event_type == events.MANAGE_LINK_REISSUED))
    assert event.payload == {"reference": booking.reference, "version": 2, "requested_by": None}
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "booking.reissue_link"))
    assert audit.entity_id == booking.reference
    assert audit.after["manage_link_version"] == 2


def test_reissuing_an_unknown_booking_is_not_found(app):
    with pytest.raises(NotFound):
        reissue_manage_link("NOSUCHREF2")


def test_an_admin_reissues_the_link_from_the_booking_page(admin_client, app):
    booking = booking_on()
    detail = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert f"/admin/bookings/{booking.reference}/manage-link" in detail
    response = admin_client.post(f"/admin/bookings/{booking.reference}/manage-link")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(booking), booking.id).manage_link_version == 2
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "new manage link is on its way" in page
    assert "Sent a new manage link" in admin_client.get("/admin/activity").get_data(as_text=True)


def test_a_link_works_until_the_configured_days_after_the_course(client, app):
    recent = booking_on(past_session(days_ago=41))
    assert client.get(manage_path(app, recent.reference)).status_code == 200


def test_an_expired_link_gets_the_same_403_and_says_how_to_get_a_new_one(client, app):
    stale = booking_on(past_session(days_ago=43))
    response = client.get(manage_path(app, stale.reference))
    forged = client.get(f"/bookings/{stale.reference}?token=forged")
    assert response.status_code == forged.status_code == 403
    assert response.get_data() == forged.get_data()
    html = response.get_data(as_text=True)
    assert "Priya Shah" not in html
    assert "/manage-booking#lost-link" in html


def test_the_api_refuses_an_expired_or_revoked_token_with_the_same_error(client, app):
    booking = booking_on()
    token = manage_token(booking.reference, secret_key=app.config["SECRET_KEY"])
    assert client.get(f"/api/v1/bookings/{booking.reference}?token={token}").status_code == 200
    reissue_manage_link(booking.reference)
    response = client.get(f"/api/v1/bookings/{booking.reference}?token={token}")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "invalid_token"
