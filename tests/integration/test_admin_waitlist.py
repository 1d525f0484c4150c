"""Admin waiting lists: offers go to the next person who fits, never for more
seats than are free, with an expiry and an email event; entries can be removed."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BookingStatus, OutboxEvent, WaitlistEntry, WaitlistStatus, utcnow
from app.services.bookings import waitlist
from app.services.core import events
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState

from admin_helpers import paid_booking
from factories import SessionFactory


def add(session_id, name, seats=1, created_minutes_ago=0):
    entry = WaitlistEntry(session_id=session_id, name=name, email=f"{name.split()[0].lower()}@example.com",
                          seats=seats, status=WaitlistStatus.WAITING,
                          created_at=utcnow() - timedelta(minutes=created_minutes_ago))
    db.session.add(entry)
    db.session.commit()
    return entry


def test_offer_goes_to_the_first_person_whose_request_fits(app, admin_user):
    session = SessionFactory(capacity=4)
    paid_booking(session.id, 3)
    add(session.id, "Ann First", seats=2, created_minutes_ago=30)
    second = add(session.id, "Ben Second", seats=1, created_minutes_ago=20)
    add(session.id, "Cat Third", seats=1, created_minutes_ago=10)

    entry = waitlist.offer_next(admin_user.id, session.id, hours="12")

    assert entry.id == second.id and entry.status == WaitlistStatus.OFFERED
    assert entry.offer_expires_at - entry.offered_at == timedelta(hours=12)
    assert entry.booking.status == BookingStatus.HELD and entry.booking.seats == 1
    assert entry.booking.hold_expires_at == entry.offer_expires_at
    assert waitlist.session_waitlist(session.id).seats_available == 0  # the offer holds it
    [event] = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.WAITLIST_OFFER_MADE)).all()
    assert event.payload["email"] == "ben@example.com"
    assert f"/waitlist/{entry.id}/offer?token=" in event.payload["offer_url"]
    assert event.payload["reference"] == entry.booking.reference
    assert event.payload["expires_at"] == entry.offer_expires_at.isoformat()
    audit = search_audit(entity_type="waitlist", entity_id=entry.id).items[0]
    assert audit.before["status"] == "waiting" and audit.after["status"] == "offered"


def test_seats_under_an_unexpired_offer_are_not_offered_twice(app, admin_user):
    session = SessionFactory(capacity=2)
    paid_booking(session.id, 1)
    add(session.id, "Ann First", created_minutes_ago=30)
    add(session.id, "Ben Second", created_minutes_ago=20)
    waitlist.offer_next(admin_user.id, session.id)
    with pytest.raises(InvalidState, match="No seats"):
        waitlist.offer_next(admin_user.id, session.id)


def test_a_lapsed_offer_frees_its_seats_for_the_next_person(app, admin_user):
    session = SessionFactory(capacity=2)
    paid_booking(session.id, 1)
    first = add(session.id, "Ann First", created_minutes_ago=30)
    second = add(session.id, "Ben Second", created_minutes_ago=20)
    waitlist.offer_next(admin_user.id, session.id, hours=1)
    later = utcnow() + timedelta(hours=2)
    view = waitlist.session_waitlist(session.id, now=later)
    assert [(v.entry.id, v.state) for v in view.history] == [(first.id, WaitlistStatus.LAPSED)]
    assert [v.entry.id for v in view.entries] == [second.id]
    assert waitlist.offer_next(admin_user.id, session.id, now=later).id == second.id
    # ... and the first can be offered again once seats allow (here: none left).
    with pytest.raises(InvalidState):
        waitlist.offer(admin_user.id, first.id, now=later)


def test_no_offer_when_the_session_is_full(app, admin_user):
    session = SessionFactory(capacity=1)
    paid_booking(session.id, 1)
    add(session.id, "Ann First")
    with pytest.raises(InvalidState):
        waitlist.offer_next(admin_user.id, session.id)


def test_add_and_remove_are_audited(app, admin_user):
    session = SessionFactory()
    entry = waitlist.add_entry(admin_user.id, session.id, {
        "name": "Dee Phone", "email": "dee@example.com", "phone": "07700 900123", "seats": "2"})
    assert entry.phone == "+447700900123"
    waitlist.remove(admin_user.id, entry.id)
    assert db.session.get(WaitlistEntry, entry.id).status == WaitlistStatus.CANCELLED
    actions = [e.action for e in search_audit(entity_type="waitlist", entity_id=entry.id).items]
    assert actions == ["waitlist.remove", "waitlist.add"]
    assert waitlist.session_waitlist(session.id).entries == []


def test_bad_waitlist_entries_are_refused_per_field(app, admin_user):
    session = SessionFactory()
    with pytest.raises(InvalidInput) as caught:
        waitlist.add_entry(admin_user.id, session.id,
                                 {"name": "", "email": "x", "phone": "123", "seats": "0"})
    assert set(caught.value.fields) == {"name", "email", "phone", "seats"}


def test_overview_lists_upcoming_sessions_with_people_waiting(app, admin_user):
    busy, quiet = SessionFactory(capacity=3), SessionFactory()
    add(busy.id, "Ann First")
    add(busy.id, "Ben Second")
    page = waitlist.overview()
    assert [(s.session.id, s.waiting, s.seats_available) for s in page.items] == [(busy.id, 2, 3)]
    assert quiet.id not in [s.session.id for s in page.items]
