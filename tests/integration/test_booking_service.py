"""Rules of app.services.bookings.holds (holds, confirmation, expiry, capacity) and of
app.services.bookings.manage as the customer meets them (cancellation, name changes)."""
from datetime import timedelta

import pytest

from app.models import BookingStatus, utcnow
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core.errors import (
    InvalidInput, InvalidState, NotFound, SeatsUnavailable, SessionNotBookable,
)

from factories import BookingFactory, SessionFactory, booking_request

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=6)
CUSTOMER = manage.Actor.customer()


def test_hold_takes_seats_and_expires_after_hold_minutes(app):
    session = SessionFactory(capacity=5)
    now = utcnow()
    booking = svc.hold_seats(booking_request(session.id, 2), policy=POLICY, now=now)
    assert booking.status == BookingStatus.HELD
    assert booking.seats == 2 and len(booking.attendees) == 2
    assert booking.amount_pence == 2 * session.price_pence
    assert booking.hold_expires_at == now + timedelta(minutes=30)
    assert svc.seats_available(session, now) == 3


def test_references_are_unguessable_not_sequential(app):
    session = SessionFactory(capacity=10)
    refs = {svc.hold_seats(booking_request(session.id), policy=POLICY).reference for _ in range(5)}
    assert len(refs) == 5
    assert all(len(r) == 10 and r.isalnum() and not r.isdigit() for r in refs)


def test_hold_more_seats_than_left_is_insufficient_seats(app):
    session = SessionFactory(capacity=3)
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    with pytest.raises(SeatsUnavailable) as err:
        svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    assert err.value.code == "insufficient_seats" and err.value.seats_available == 1


def test_hold_on_full_session_is_sold_out(app):
    session = SessionFactory(capacity=2)
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    with pytest.raises(SeatsUnavailable) as err:
        svc.hold_seats(booking_request(session.id, 1), policy=POLICY)
    assert err.value.code == "sold_out"


def test_hold_over_the_per_booking_maximum_is_refused(app):
    session = SessionFactory(capacity=12)
    with pytest.raises(InvalidInput) as err:
        svc.hold_seats(booking_request(session.id, 7), policy=POLICY)
    assert "attendees" in err.value.fields


def test_expired_holds_stop_counting_at_once_without_cleanup(app):
    session = SessionFactory(capacity=2)
    start = utcnow()
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY, now=start)
    later = start + timedelta(minutes=31)
    booking = svc.hold_seats(booking_request(session.id, 2), policy=POLICY, now=later)
    assert booking.status == BookingStatus.HELD


def test_cancelled_session_and_started_session_cannot_be_booked(app):
    from app.models import SessionStatus

    cancelled = SessionFactory(status=SessionStatus.CANCELLED)
    started = SessionFactory(starts_at=utcnow() - timedelta(hours=1))
    for session in (cancelled, started):
        with pytest.raises(SessionNotBookable):
            svc.hold_seats(booking_request(session.id), policy=POLICY)


def test_unknown_session_is_not_found(app):
    with pytest.raises(NotFound):
        svc.hold_seats(booking_request(999_999), policy=POLICY)


def test_confirm_is_idempotent(app):
    session = SessionFactory(capacity=2)
    booking = svc.hold_seats(booking_request(session.id), policy=POLICY)
    first = svc.confirm_booking(booking.reference)
    again = svc.confirm_booking(booking.reference)
    assert first.status == again.status == BookingStatus.CONFIRMED
    assert again.hold_expires_at is None


def test_late_payment_confirms_when_seats_are_still_free(app):
    session = SessionFactory(capacity=2)
    start = utcnow()
    booking = svc.hold_seats(booking_request(session.id), policy=POLICY, now=start)
    confirmed = svc.confirm_booking(booking.reference, now=start + timedelta(hours=2))
    assert confirmed.status == BookingStatus.CONFIRMED


def test_late_payment_after_seats_were_resold_is_refused(app):
    session = SessionFactory(capacity=1)
    start = utcnow()
    late = svc.hold_seats(booking_request(session.id), policy=POLICY, now=start)
    later = start + timedelta(minutes=40)
    svc.hold_seats(booking_request(session.id), policy=POLICY, now=later)
    with pytest.raises(SeatsUnavailable):
        svc.confirm_booking(late.reference, now=later)
    assert svc.get_booking(late.reference).status == BookingStatus.HELD


def test_cancel_frees_seats_and_records_refund_owed(app):
    session = SessionFactory(capacity=1, starts_at=utcnow() + timedelta(days=30))
    booking = svc.hold_seats(booking_request(session.id), policy=POLICY)
    svc.confirm_booking(booking.reference)
    cancelled = manage.cancel_booking(booking.reference, actor=CUSTOMER, policy=POLICY)
    assert cancelled.status == BookingStatus.CANCELLED
    assert cancelled.refund_due_pence == booking.amount_pence
    assert svc.seats_available(session) == 1


def test_cancelling_an_unpaid_hold_owes_nothing(app):
    session = SessionFactory(capacity=1)
    booking = svc.hold_seats(booking_request(session.id), policy=POLICY)
    cancelled = manage.cancel_booking(booking.reference, actor=CUSTOMER, policy=POLICY)
    assert cancelled.refund_due_pence == 0


def test_expired_booking_cannot_be_cancelled(app):
    booking = BookingFactory(status=BookingStatus.EXPIRED)
    with pytest.raises(InvalidState):
        manage.cancel_booking(booking.reference, actor=CUSTOMER, policy=POLICY)


def test_expire_holds_marks_only_stale_holds_and_is_safe_twice(app):
    session = SessionFactory(capacity=5)
    start = utcnow()
    stale = svc.hold_seats(booking_request(session.id), policy=POLICY, now=start - timedelta(hours=1))
    live = svc.hold_seats(booking_request(session.id), policy=POLICY, now=start)
    assert svc.expire_holds(now=start) == 1
    assert svc.expire_holds(now=start) == 0
    assert svc.get_booking(stale.reference).status == BookingStatus.EXPIRED
    assert svc.get_booking(live.reference).status == BookingStatus.HELD


def test_capacity_cannot_drop_below_seats_taken(app):
    session = SessionFactory(capacity=5)
    svc.hold_seats(booking_request(session.id, 3), policy=POLICY)
    with pytest.raises(InvalidInput) as err:
        svc.change_capacity(session.id, 2)
    assert "capacity" in err.value.fields
    assert svc.change_capacity(session.id, 3).capacity == 3


def test_attendee_names_can_be_corrected_before_the_cutoff_only(app):
    policy = svc.BookingPolicy(name_change_cutoff_hours=24)
    soon = SessionFactory(starts_at=utcnow() + timedelta(hours=12))
    later = SessionFactory(starts_at=utcnow() + timedelta(days=5))
    late_booking = svc.hold_seats(booking_request(soon.id), policy=POLICY)
    booking = svc.hold_seats(booking_request(later.id), policy=POLICY)
    renamed = manage.rename_attendees(booking.reference, {0: "  siobhán  o’brien "},
                                      actor=CUSTOMER, policy=policy)
    assert renamed.attendees[0].full_name.lower().startswith("siobhán")
    with pytest.raises(InvalidState):
        manage.rename_attendees(late_booking.reference, {0: "Sam Jones"}, actor=CUSTOMER,
                                policy=policy)


def test_attendee_rename_rejects_markup(app):
    session = SessionFactory()
    booking = svc.hold_seats(booking_request(session.id), policy=POLICY)
    with pytest.raises(InvalidInput) as err:
        manage.rename_attendees(booking.reference, {0: "<script>alert(1)</script>"},
                               actor=CUSTOMER, policy=POLICY)
    assert "attendees.0.name" in err.value.fields
