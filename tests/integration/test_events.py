"""record_event writes the event and one delivery per handler, in the caller's transaction."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxDelivery, OutboxEvent
from app.repositories import unit_of_work
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core import events

from factories import SessionFactory, booking_request


@pytest.fixture
def probe_handlers():
    probes = events.HandlerSet()
    probes.on("ProbeHappened", name="test.probe.one")(lambda event: None)
    probes.on("ProbeHappened", "Other", name="test.probe.two")(lambda event: None)
    events.registry.register(probes)
    yield
    events.registry.unregister("test.probe.one", "test.probe.two")


def test_an_event_gets_one_delivery_per_subscribed_handler(app, probe_handlers):
    with unit_of_work():
        events.record_event("ProbeHappened", "agg-1", {"n": 1})
    event = db.session.scalars(select(OutboxEvent)).one()
    assert event.payload == {"n": 1}
    assert sorted(d.handler for d in event.deliveries) == ["test.probe.one", "test.probe.two"]


def test_a_rolled_back_change_leaves_no_event(app, probe_handlers):
    with pytest.raises(RuntimeError), unit_of_work():
        events.record_event("ProbeHappened", "agg-1")
        raise RuntimeError("the change failed")
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxDelivery)) == 0


def test_booking_changes_record_their_events(app):
    session = SessionFactory(capacity=3)
    booking = svc.hold_seats(booking_request(session.id), policy=svc.BookingPolicy())
    svc.confirm_booking(booking.reference)
    svc.confirm_booking(booking.reference)  # a repeat records nothing more
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    types = db.session.scalars(select(OutboxEvent.event_type)
                               .where(OutboxEvent.event_type.like("Booking%"))
                               .order_by(OutboxEvent.id)).all()
    assert types == [events.BOOKING_HELD, events.BOOKING_CONFIRMED, events.BOOKING_CANCELLED]
