"""Admin activity: the searchable feed, alerts and their acknowledgement, and
dead-lettered deliveries replayed through the dispatcher."""
from sqlalchemy import select, update

from app.extensions import db
from app.models import Alert, DeliveryStatus, OutboxDelivery, Severity
from app.repositories import unit_of_work
from app.services.core import alerts, events
from app.services.core.audit import record_audit, search_audit
from app.services.oversight import activity

from admin_helpers import paid_booking
from factories import SessionFactory


def test_feed_is_searchable_and_filterable_by_kind(app, admin_user):
    record_audit(admin_user.id, "booking.cancel", "booking", "ABCDEFGHJK")
    record_audit(admin_user.id, "session.capacity", "session", 7)
    alerts.raise_alert("low_availability", "Only 1 seat left on EFAW", severity=Severity.INFO)
    feed = activity.activity_feed({"q": "abcdefgh"})
    assert [e.entity_id for e in feed.entries.items] == ["ABCDEFGHJK"]
    feed = activity.activity_feed({"type": "session"})
    assert [e.action for e in feed.entries.items] == ["session.capacity"]
    assert feed.alerts == []
    feed = activity.activity_feed({"q": "seat left"})
    assert [a.kind for a in feed.alerts] == ["low_availability"]
    assert activity.activity_feed({"type": "nonsense"}).problems == {
        "type": "Choose what to show from the list."}


def test_acknowledging_marks_an_alert_once_and_resolving_closes_it_both_audited(app, admin_user):
    alert = alerts.raise_alert("payments.breaker_open", "Stripe is down",
                               severity=Severity.CRITICAL, subject="payments")
    assert [a.id for a in activity.list_alerts().items] == [alert.id]
    activity.acknowledge_alert(admin_user.id, alert.id)
    activity.acknowledge_alert(admin_user.id, alert.id)
    (listed,) = activity.list_alerts().items
    assert listed.status == "acknowledged" and listed.acknowledged_by_id == admin_user.id
    assert listed.can_resolve and not listed.can_acknowledge
    activity.resolve_alert(admin_user.id, alert.id)
    activity.resolve_alert(admin_user.id, alert.id)
    assert activity.list_alerts().items == []
    resolved = db.session.get(Alert, alert.id)
    assert resolved.status == "resolved" and resolved.resolved_by_id == admin_user.id
    assert not resolved.resolved_automatically and not resolved.can_resolve
    assert sorted(e.action for e in search_audit(entity_type="alert").items) == [
        "alert.acknowledge", "alert.resolve"]


def test_dead_letters_are_listed_and_replayed(app, admin_user):
    booking = paid_booking(SessionFactory().id)
    with unit_of_work():
        event = events.record_event("SomethingNobodyHandles", booking.reference, {})
        db.session.add(OutboxDelivery(event_id=event.id, handler="email.gone",
                                      status=DeliveryStatus.DEAD, attempts=8,
                                      last_error="boom"))
    dead = activity.dead_letters()
    assert [d.handler for d in dead] == ["email.gone"]
    assert activity.replay_dead_letters(admin_user.id, [dead[0].id]) == 1
    db.session.expire_all()
    delivery = db.session.scalar(select(OutboxDelivery).where(OutboxDelivery.handler == "email.gone"))
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert activity.dead_letters() == []
    assert search_audit(entity_type="outbox").items[0].after == {"replayed": 1}


def test_dashboard_shows_todays_sessions_alerts_and_recent_bookings(app, admin_user):
    from datetime import timedelta

    from app.models import utcnow

    today = SessionFactory(starts_at=utcnow(), course__duration_hours=3,
                           ends_at=utcnow() + timedelta(hours=3))
    booking = paid_booking(today.id, now=utcnow() - timedelta(minutes=1))
    alerts.raise_alert("x", "Look at this")
    board = activity.dashboard()
    assert today.id in [row.session.id for row in board.todays_sessions]
    assert booking.reference in [b.reference for b in board.recent_bookings]
    assert board.open_alert_count >= 1
    db.session.execute(update(Alert).values(resolved_at=utcnow()))
    db.session.commit()
    assert activity.dashboard().open_alert_count == 0
