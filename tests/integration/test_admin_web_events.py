"""The dead-letter page: failed deliveries listed and replayed."""
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryStatus, OutboxDelivery, OutboxEvent

from admin_helpers import assert_admin_only


def _dead(handler="email.booking_confirmed"):
    event = OutboxEvent(event_type="BookingConfirmed", aggregate_id="ABCDEFGHJK", payload={})
    db.session.add(event)
    db.session.flush()
    delivery = OutboxDelivery(event_id=event.id, handler=handler, status=DeliveryStatus.DEAD,
                              attempts=8, last_error="Traceback...\nSMTPServerDisconnected: gone")
    db.session.add(delivery)
    db.session.commit()
    return delivery


def test_events_page_is_for_admins_only(app, admin_client, trainer_client, client):
    assert_admin_only(admin_client, trainer_client, client, "/admin/events")


def test_dead_deliveries_are_listed_with_their_last_error(app, admin_client):
    _dead()
    html = admin_client.get("/admin/events").get_data(as_text=True)
    assert "email.booking_confirmed" in html and "SMTPServerDisconnected: gone" in html
    assert "/admin/bookings/ABCDEFGHJK" in html


def test_replay_one_and_replay_all(app, admin_client):
    one, two = _dead("a"), _dead("b")
    _dead("c")
    admin_client.post(f"/admin/events/{one.id}/replay")
    admin_client.post("/admin/events/replay", data={"delivery_id": [str(two.id)]})
    db.session.expire_all()
    statuses = dict(db.session.execute(select(OutboxDelivery.handler, OutboxDelivery.status)).all())
    assert statuses == {"a": DeliveryStatus.PENDING, "b": DeliveryStatus.PENDING,
                        "c": DeliveryStatus.DEAD}
    response = admin_client.post("/admin/events/replay", data={"all": "1"})
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 delivery queued again." in page
    assert "No failed deliveries" in page
