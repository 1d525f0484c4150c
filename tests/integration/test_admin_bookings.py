"""Admin bookings: search and filters, the timeline, resends, name corrections
past the cut-off, atomic transfers under concurrency, cancellations, refunds and
bookings paid by invoice or bank transfer."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Booking, BookingStatus, OutboxEvent, Payment, PaymentStatus, Refund, RefundStatus, utcnow,
)
from app.services.bookings import office
from app.services.background import dispatcher
from app.services.bookings import holds as booking_service
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState, SeatsUnavailable
from admin_helpers import (
    POLICY, held_booking, paid_booking, race, seats_taken,
)
from factories import BookingFactory, CourseFactory, SessionFactory, booking_request

DISPATCH = dispatcher.DispatchPolicy(max_attempts=3, backoff_base_seconds=1,
                                     backoff_max_seconds=5, lease_seconds=60)


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 40, "max_overflow": 0, "pool_timeout": 60}}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def deliver_all():
    result = dispatcher.dispatch_pending("test-worker", DISPATCH)
    db.session.expire_all()
    return result


# -- search ------------------------------------------------------------------------------------
def test_search_finds_by_reference_name_email_and_company(app):
    session = SessionFactory()
    a = BookingFactory(session=session, reference="ABCDEFGH23", contact_name="Priya Shah",
                       contact_email="priya@acme.co.uk", company="Acme Ltd")
    b = BookingFactory(session=session, reference="ZZZZZZZZ99", contact_name="Tom Jones",
                       contact_email="tom@example.com", company="Widgets & Co")

    def found(q):
        return [x.reference for x in office.search_bookings({"q": q}).results.items]

    assert found("abcdefgh23") == [a.reference]
    assert found("shah") == [a.reference]
    assert found("TOM@EXAMPLE") == [b.reference]
    assert found("widgets & co") == [b.reference]
    assert found("%") == []  # LIKE wildcards are matched literally
    assert sorted(found("")) == sorted([a.reference, b.reference])


def test_filters_by_status_session_and_course_date(app):
    soon = SessionFactory(starts_at=utcnow() + timedelta(days=3))
    later = SessionFactory(starts_at=utcnow() + timedelta(days=40))
    confirmed = BookingFactory(session=soon, status=BookingStatus.CONFIRMED)
    cancelled = BookingFactory(session=soon, status=BookingStatus.CANCELLED)
    other = BookingFactory(session=later, status=BookingStatus.CONFIRMED)

    def refs(**params):
        return {x.reference for x in office.search_bookings(params).results.items}

    assert refs(status="cancelled") == {cancelled.reference}
    assert refs(session=str(later.id)) == {other.reference}
    day = (utcnow() + timedelta(days=3)).date()
    assert refs(**{"from": (day - timedelta(days=1)).isoformat(),
                   "to": (day + timedelta(days=1)).isoformat()}) == {confirmed.reference,
                                                                     cancelled.reference}
    today = utcnow().date().isoformat()
    assert refs(dates="booked", **{"from": today}) == {confirmed.reference, cancelled.reference,
                                                       other.reference}


def test_results_are_paginated_newest_first(app):
    session = SessionFactory(capacity=50)
    made = [BookingFactory(session=session, created_at=utcnow() - timedelta(minutes=i))
            for i in range(30)]
    first = office.search_bookings({}, per_page=25).results
    second = office.search_bookings({"page": "2"}, per_page=25).results
    assert first.total == 30 and first.pages == 2 and len(first.items) == 25
    assert [b.reference for b in first.items + second.items] == [b.reference for b in made]


def test_bad_filters_are_reported_and_ignored(app):
    table = office.search_bookings({"status": "lost", "from": "2027-02-30",
                                            "session": "abc", "page": "x"})
    assert set(table.problems) == {"status", "from", "session"}
    assert table.filters.page == 1


# -- detail, resend, names ----------------------------------------------------------------------
def test_timeline_shows_events_changes_payments_and_emails(app, admin_user, outbox):
    session = SessionFactory()
    booking = paid_booking(session.id, 2)
    deliver_all()
    office.rename_attendees(admin_user.id, booking.reference, {0: "Anne Other"})
    detail = office.booking_detail(booking.reference)
    kinds = [(e.kind, e.title) for e in detail.timeline]
    assert ("event", "Seats held") in kinds and ("event", "Booking confirmed") in kinds
    assert ("payment", "Payment succeeded (fake)") in kinds
    assert ("change", "booking.rename_attendees") in kinds
    assert any(kind == "email" for kind, _ in kinds)
    assert [e.at for e in detail.timeline] == sorted(e.at for e in detail.timeline)
    assert detail.refundable_pence == booking.amount_pence


def test_resend_sends_the_confirmation_again_once_per_request(app, admin_user, outbox):
    booking = paid_booking(SessionFactory().id)
    deliver_all()
    assert len(outbox) == 1
    office.resend_confirmation(admin_user.id, booking.reference)
    deliver_all()
    deliver_all()
    office.resend_confirmation(admin_user.id, booking.reference)
    deliver_all()
    assert len(outbox) == 3
    assert {m.subject.split(":")[0] for m in outbox} == {"Booking confirmed"}
    actions = [e.action for e in search_audit(entity_type="booking",
                                              entity_id=booking.reference).items]
    assert actions.count("booking.resend_confirmation") == 2


def test_resend_is_refused_for_a_booking_that_is_not_confirmed(app, admin_user):
    booking = held_booking(SessionFactory().id)
    with pytest.raises(InvalidState):
        office.resend_confirmation(admin_user.id, booking.reference)


def test_admin_can_correct_names_after_the_customer_cut_off(app, admin_user):
    session = SessionFactory(starts_at=utcnow() + timedelta(hours=2),
                             ends_at=utcnow() + timedelta(hours=8))
    booking = paid_booking(session.id, 2)
    with pytest.raises(InvalidState):  # the customer could not
        booking_service.rename_attendees(booking.reference, {0: "Anne Other"}, policy=POLICY)
    office.rename_attendees(admin_user.id, booking.reference,
                                    {0: "Anne  Other", 1: "Bob O\u2019Neill"})
    names = [a.full_name for a in office.booking_detail(booking.reference)
             .booking.attendees]
    assert names == ["Anne Other", "Bob O'Neill"]
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.before == {"0": "Learner A", "1": "Learner B"}
    assert entry.after == {"0": "Anne Other", "1": "Bob O'Neill"}


def test_invalid_names_are_reported_per_attendee(app, admin_user):
    booking = paid_booking(SessionFactory().id, 2)
    with pytest.raises(InvalidInput) as caught:
        office.rename_attendees(admin_user.id, booking.reference, {0: "", 1: "R2-D2"})
    assert set(caught.value.fields) == {"attendees.0.name", "attendees.1.name"}


# -- transfers ---------------------------------------------------------------------------------
def test_transfer_moves_every_seat_to_another_date_of_the_same_course(app, admin_user, outbox):
    course = CourseFactory()
    source = SessionFactory(course=course, capacity=10)
    target = SessionFactory(course=course, capacity=10,
                            starts_at=utcnow() + timedelta(days=30),
                            ends_at=utcnow() + timedelta(days=30, hours=7))
    booking = paid_booking(source.id, 3)
    deliver_all()
    outbox.clear()
    office.transfer_booking(admin_user.id, booking.reference, str(target.id))
    assert (seats_taken(source.id), seats_taken(target.id)) == (0, 3)
    moved = db.session.get(Booking, booking.id)
    assert moved.session_id == target.id and moved.status == BookingStatus.CONFIRMED
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.action == "booking.transfer"
    assert entry.before == {"session_id": source.id} and entry.after == {"session_id": target.id}
    deliver_all()
    deliver_all()
    assert len(outbox) == 1 and outbox[0].subject.startswith("Booking confirmed")


def test_transfer_is_refused_to_another_course_or_a_full_session(app, admin_user):
    course = CourseFactory()
    source = SessionFactory(course=course)
    booking = paid_booking(source.id, 2)
    with pytest.raises(InvalidInput):
        office.transfer_booking(admin_user.id, booking.reference, SessionFactory().id)
    full = SessionFactory(course=course, capacity=3)
    paid_booking(full.id, 2)
    with pytest.raises(SeatsUnavailable):
        office.transfer_booking(admin_user.id, booking.reference, full.id)
    assert db.session.get(Booking, booking.id).session_id == source.id


def test_racing_transfers_and_holds_never_overbook_or_deadlock(app, admin_user):
    """Twenty bookings on four sessions all transfer into one nearly full session
    while ten customers try to hold seats on it and bookings move the other way."""
    course = CourseFactory()
    target = SessionFactory(course=course, capacity=12)
    sources = [SessionFactory(course=course, capacity=12) for _ in range(4)]
    paid_booking(target.id, 4)
    back = [paid_booking(target.id, 1, email=f"back{i}@example.com") for i in range(4)]
    moving = [paid_booking(sources[i % 4].id, 1 + i % 2, email=f"m{i}@example.com")
              for i in range(20)]
    target_id, source_ids, actor = target.id, [s.id for s in sources], admin_user.id
    references = [b.reference for b in moving]
    back_refs = [b.reference for b in back]

    def attempt(i):
        if i < 20:
            return office.transfer_booking(actor, references[i], target_id).reference
        if i < 24:  # the opposite direction, to provoke lock-order deadlocks
            return office.transfer_booking(actor, back_refs[i - 20],
                                                   source_ids[i - 20]).reference
        return booking_service.hold_seats(booking_request(target_id, 1,
                                                          email=f"h{i}@example.com"),
                                          policy=POLICY).reference

    results = race(app, 34, attempt)

    errors = [r for r in results if isinstance(r, Exception)]
    assert [e for e in errors if not isinstance(e, SeatsUnavailable)] == []
    assert seats_taken(target_id) <= 12
    for session_id in source_ids:
        assert seats_taken(session_id) <= 12
    assert all(isinstance(r, str) for r in results[20:24])  # moving out always fits
    # Every booking is on exactly one session and nothing was lost.
    total_seats = sum(b.seats for b in db.session.scalars(select(Booking).where(
        Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.HELD)))))
    assert total_seats == sum(seats_taken(s) for s in [target_id, *source_ids])
    assert seats_taken(target_id) >= 8  # the target filled up as far as it could


# -- cancel and refund ----------------------------------------------------------------------------
def test_admin_cancellation_can_give_a_full_refund_inside_the_no_refund_window(app, admin_user):
    session = SessionFactory(starts_at=utcnow() + timedelta(hours=30),
                             ends_at=utcnow() + timedelta(hours=36))
    booking = paid_booking(session.id, 2)
    preview = office.refund_preview(booking, POLICY)
    assert preview == {"policy": 0, "full": booking.amount_pence, "none": 0}
    office.cancel_booking(admin_user.id, booking.reference, policy=POLICY, refund="full")
    cancelled = db.session.get(Booking, booking.id)
    assert cancelled.status == BookingStatus.CANCELLED
    assert cancelled.refund_due_pence == booking.amount_pence
    assert seats_taken(session.id) == 0
    deliver_all()
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.amount_pence == booking.amount_pence
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.action == "booking.cancel" and entry.after["refund_choice"] == "full"
    assert entry.before["status"] == "confirmed" and entry.after["status"] == "cancelled"


def test_cancel_without_refund_owes_nothing(app, admin_user):
    booking = paid_booking(SessionFactory(starts_at=utcnow() + timedelta(days=30),
                                          ends_at=utcnow() + timedelta(days=30, hours=6)).id)
    office.cancel_booking(admin_user.id, booking.reference, policy=POLICY, refund="none")
    deliver_all()
    assert db.session.get(Booking, booking.id).refund_due_pence == 0
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_partial_then_full_refund_never_exceeds_what_was_paid(app, admin_user):
    booking = paid_booking(SessionFactory(course__price_pence=10000).id, 1)
    partial = office.refund_booking(admin_user.id, booking.reference, "25.50")
    assert (partial.amount_pence, partial.status) == (2550, RefundStatus.SUCCEEDED)
    with pytest.raises(InvalidInput) as caught:
        office.refund_booking(admin_user.id, booking.reference, "80")
    assert "amount" in caught.value.fields
    rest = office.refund_booking(admin_user.id, booking.reference, "")
    assert rest.amount_pence == 7450
    with pytest.raises(InvalidState):
        office.refund_booking(admin_user.id, booking.reference, "1")
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    actions = [e.after["amount_pence"] for e in search_audit(
        entity_type="booking", entity_id=booking.reference).items if e.action == "booking.refund"]
    assert actions == [7450, 2550]


# -- bookings taken by phone -----------------------------------------------------------------------
def manual_data(session_id, **overrides):
    data = {"session_id": str(session_id), "contact-name": "Priya Shah",
            "contact-email": "priya@acme.co.uk", "contact-phone": "07700 900123",
            "contact-postcode": "ls1 4ap", "contact-company": "Acme Ltd",
            "attendees-0-name": "Anne Other", "attendees-0-email": "",
            "attendees-1-name": "Bob Smith", "attendees-1-email": "",
            "attendees-2-name": "", "attendees-2-email": "",
            "method": "invoice", "note": "PO 12345"}
    data.update(overrides)
    return data


def test_manual_booking_paid_by_invoice_is_confirmed_with_a_payment_row(app, admin_user, outbox):
    session = SessionFactory(capacity=5, course__price_pence=9000)
    booking = office.create_manual_booking(admin_user.id, manual_data(session.id),
                                                   policy=POLICY)
    assert booking.status == BookingStatus.CONFIRMED and booking.seats == 2
    assert booking.amount_pence == 18000
    assert booking.payment_note == "Paid by invoice: PO 12345"
    assert booking.contact_postcode == "LS1 4AP" and booking.contact_phone == "+447700900123"
    [payment] = db.session.scalars(select(Payment)).all()
    assert (payment.provider, payment.status, payment.amount_pence) == (
        "invoice", PaymentStatus.SUCCEEDED, 18000)
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.action == "booking.create_manual" and entry.actor_id == admin_user.id
    deliver_all()
    assert [m.to for m in outbox] == [["priya@acme.co.uk"]]


def test_manual_booking_reports_every_bad_field_and_never_overbooks(app, admin_user):
    session = SessionFactory(capacity=2)
    with pytest.raises(InvalidInput) as caught:
        office.create_manual_booking(admin_user.id, manual_data(
            session.id, **{"contact-email": "nope", "attendees-1-name": "12", "method": "cash"}),
            policy=POLICY)
    assert set(caught.value.fields) == {"contact.email", "attendees.1.name", "method"}
    paid_booking(session.id, 1)
    with pytest.raises(SeatsUnavailable):
        office.create_manual_booking(admin_user.id, manual_data(session.id),
                                             policy=POLICY)
    assert db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.provider == "invoice")) == 0
    assert seats_taken(session.id) == 1


def test_held_booking_can_be_marked_paid_by_bank_transfer(app, admin_user):
    booking = held_booking(SessionFactory().id, 2)
    office.mark_paid(admin_user.id, booking.reference, "bank_transfer", "Ref 88")
    confirmed = db.session.get(Booking, booking.id)
    assert confirmed.status == BookingStatus.CONFIRMED
    assert confirmed.payment_note == "Paid by bank transfer: Ref 88"
    assert db.session.scalar(select(Payment.provider)) == "bank_transfer"


def test_transferred_booking_event_is_on_the_timeline(app, admin_user):
    course = CourseFactory()
    source, target = SessionFactory(course=course), SessionFactory(course=course)
    booking = paid_booking(source.id)
    office.transfer_booking(admin_user.id, booking.reference, target.id)
    titles = [e.title for e in office.booking_detail(booking.reference).timeline]
    assert "Transferred to another date" in titles
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == office.BOOKING_TRANSFERRED)) == 1
