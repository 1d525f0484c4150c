"""Admin bookings: search and filters, the timeline, resends, and the booking rules
as staff meet them (app.services.bookings.manage with Actor.staff): name
corrections past the cut-off, atomic transfers under concurrency, cancellations
with the refund staff choose, refunds and bookings paid by invoice or bank transfer."""
import re
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Booking, BookingStatus, CourseSession, OutboxEvent, Payment, Refund,
    RefundStatus, SessionStatus, utcnow,
)
from app.services.background import dispatcher
from app.services.bookings import holds as booking_service
from app.services.bookings import manage, office
from app.services.bookings.manage import Actor, RefundRule
from app.services.core import events
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState, SeatsUnavailable
from app.services.core.ukformat import uk_date
from app.services.payments import offline, refunds

from admin_helpers import POLICY, held_booking, paid_booking, seats_taken
from racing import race
from factories import BookingFactory, CourseFactory, SessionFactory, VenueFactory, booking_request

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


def staff(user):
    return Actor.staff(user.id)


def detail_of(booking, user):
    return office.booking_detail(booking.reference, actor=staff(user), policy=POLICY)


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
def test_timeline_changes_read_as_words_pounds_and_dates_not_codes(app, admin_user):
    session = SessionFactory()
    booking = paid_booking(session.id, 2)
    manage.cancel_booking(booking.reference, actor=staff(admin_user), policy=POLICY,
                          refund=RefundRule.FULL)
    [change] = [e for e in detail_of(booking, admin_user).timeline if e.kind == "change"]
    assert change.title == "Cancelled a booking"
    assert "£" in change.detail and "Cancelled" in change.detail
    assert "_pence" not in change.detail and "refund_due" not in change.detail
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", change.detail)  # no ISO timestamps


def test_timeline_shows_events_changes_payments_and_emails(app, admin_user, outbox):
    session = SessionFactory()
    booking = paid_booking(session.id, 2)
    deliver_all()
    manage.rename_attendees(booking.reference, {0: "Anne Other"}, actor=staff(admin_user),
                            policy=POLICY)
    detail = detail_of(booking, admin_user)
    kinds = [(e.kind, e.title) for e in detail.timeline]
    assert ("event", "Seats held") in kinds and ("event", "Booking confirmed") in kinds
    assert ("payment", "Payment succeeded (fake)") in kinds
    assert ("change", "Changed attendee names") in kinds
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
        manage.rename_attendees(booking.reference, {0: "Anne Other"},
                                actor=Actor.customer(), policy=POLICY)
    manage.rename_attendees(booking.reference, {0: "Anne  Other", 1: "Bob O\u2019Neill"},
                            actor=staff(admin_user), policy=POLICY)
    names = [a.full_name for a in detail_of(booking, admin_user).booking.attendees]
    assert names == ["Anne Other", "Bob O'Neill"]
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.before == {"0": "Learner A", "1": "Learner B"}
    assert entry.after == {"0": "Anne Other", "1": "Bob O'Neill"}


def test_invalid_names_are_reported_per_attendee(app, admin_user):
    booking = paid_booking(SessionFactory().id, 2)
    with pytest.raises(InvalidInput) as caught:
        manage.rename_attendees(booking.reference, {0: "", 1: "R2-D2"}, actor=staff(admin_user),
                                policy=POLICY)
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
    manage.transfer_booking(booking.reference, str(target.id), actor=staff(admin_user))
    assert (seats_taken(source.id), seats_taken(target.id)) == (0, 3)
    moved = db.session.get(Booking, booking.id)
    assert moved.session_id == target.id and moved.status == BookingStatus.CONFIRMED
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.action == "booking.transfer"
    assert entry.before == {"session_id": source.id} and entry.after == {"session_id": target.id}
    deliver_all()
    deliver_all()
    assert len(outbox) == 1 and outbox[0].subject.startswith("Booking moved")


def test_transfer_is_refused_to_another_course_or_a_full_session(app, admin_user):
    course = CourseFactory()
    source = SessionFactory(course=course)
    booking = paid_booking(source.id, 2)
    with pytest.raises(InvalidInput):
        manage.transfer_booking(booking.reference, SessionFactory().id, actor=staff(admin_user))
    full = SessionFactory(course=course, capacity=3)
    paid_booking(full.id, 2)
    with pytest.raises(SeatsUnavailable):
        manage.transfer_booking(booking.reference, full.id, actor=staff(admin_user))
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
    target_id, source_ids, actor = target.id, [s.id for s in sources], staff(admin_user)
    references = [b.reference for b in moving]
    back_refs = [b.reference for b in back]

    def attempt(i):
        if i < 20:
            return manage.transfer_booking(references[i], target_id, actor=actor).reference
        if i < 24:  # the opposite direction, to provoke lock-order deadlocks
            return manage.transfer_booking(back_refs[i - 20], source_ids[i - 20],
                                           actor=actor).reference
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
    manage.cancel_booking(booking.reference, actor=staff(admin_user), policy=POLICY,
                          refund=RefundRule.FULL)
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
    manage.cancel_booking(booking.reference, actor=staff(admin_user), policy=POLICY,
                          refund=RefundRule.NONE)
    deliver_all()
    assert db.session.get(Booking, booking.id).refund_due_pence == 0
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_partial_then_full_refund_never_exceeds_what_was_paid(app, admin_user):
    booking = paid_booking(SessionFactory(course__price_pence=10000).id, 1)
    partial = refunds.refund_booking(booking.reference, 2550, actor=staff(admin_user))
    assert (partial.amount_pence, partial.status) == (2550, RefundStatus.SUCCEEDED)
    assert partial.requested_by_id == admin_user.id
    with pytest.raises(InvalidInput) as caught:
        refunds.refund_booking(booking.reference, 8000, actor=staff(admin_user))
    assert "amount" in caught.value.fields
    rest = refunds.refund_booking(booking.reference, None, actor=staff(admin_user))
    assert rest.amount_pence == 7450
    with pytest.raises(InvalidState):
        refunds.refund_booking(booking.reference, 100, actor=staff(admin_user))
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    actions = [e.after["amount_pence"] for e in search_audit(
        entity_type="booking", entity_id=booking.reference).items if e.action == "booking.refund"]
    assert actions == [7450, 2550]


def test_a_staff_refund_is_audited_with_its_refund_row_even_if_the_provider_call_dies(
        app, admin_user, monkeypatch):
    booking = paid_booking(SessionFactory(course__price_pence=10000).id, 1)

    def dies(*args, **kwargs):
        raise RuntimeError("worker killed during the provider call")

    monkeypatch.setattr(refunds, "attempt_refund", dies)
    with pytest.raises(RuntimeError):
        refunds.refund_booking(booking.reference, 2500, actor=staff(admin_user))
    audited = [e.after for e in search_audit(entity_type="booking",
                                             entity_id=booking.reference).items
               if e.action == "booking.refund"]
    pending = db.session.scalars(select(Refund).where(Refund.booking_id == booking.id)).all()
    assert [r.amount_pence for r in pending] == [2500]
    assert audited == [{"refund_id": pending[0].id, "amount_pence": 2500}]


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


def test_manual_booking_by_invoice_is_confirmed_with_its_invoice_and_payment_due(
        app, admin_user, outbox):
    session = SessionFactory(capacity=5, course__price_pence=9000)
    booking = offline.create_manual_booking(manual_data(session.id), actor=staff(admin_user),
                                            policy=POLICY)
    assert booking.status == BookingStatus.CONFIRMED and booking.seats == 2
    assert booking.amount_pence == 18000 and booking.awaits_payment
    invoice = booking.invoice
    assert booking.payment_note == f"Invoice {invoice.number}: payment due; PO 12345"
    assert (invoice.billing_company, invoice.billing_email, invoice.gross_pence) == (
        "Acme Ltd", "priya@acme.co.uk", 18000)
    assert booking.contact_postcode == "LS1 4AP" and booking.contact_phone == "+447700900123"
    assert db.session.scalars(select(Payment)).all() == []  # owed, not received
    entry = search_audit(entity_type="booking", entity_id=booking.reference).items[0]
    assert entry.action == "booking.create_manual" and entry.actor_id == admin_user.id
    assert entry.after["invoice"] == invoice.number
    deliver_all()
    # The confirmation to the contact, and the invoice to the same address as billing contact.
    assert sorted(m.to for m in outbox) == [["priya@acme.co.uk"], ["priya@acme.co.uk"]]


def test_manual_booking_reports_every_bad_field_and_never_overbooks(app, admin_user):
    session = SessionFactory(capacity=2)
    with pytest.raises(InvalidInput) as caught:
        offline.create_manual_booking(manual_data(
            session.id, **{"contact-email": "nope", "attendees-1-name": "12", "method": "cash"}),
            actor=staff(admin_user), policy=POLICY)
    assert set(caught.value.fields) == {"contact.email", "attendees.1.name", "method"}
    paid_booking(session.id, 1)
    with pytest.raises(SeatsUnavailable):
        offline.create_manual_booking(manual_data(session.id), actor=staff(admin_user),
                                      policy=POLICY)
    assert db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.provider == "invoice")) == 0
    assert seats_taken(session.id) == 1


def test_held_booking_can_be_marked_paid_by_bank_transfer(app, admin_user):
    booking = held_booking(SessionFactory().id, 2)
    offline.mark_paid_offline(booking.reference, "bank_transfer", "Ref 88",
                              actor=staff(admin_user))
    confirmed = db.session.get(Booking, booking.id)
    assert confirmed.status == BookingStatus.CONFIRMED
    assert confirmed.payment_note == "Paid by bank transfer: Ref 88"
    assert db.session.scalar(select(Payment.provider)) == "bank_transfer"
    [entry] = search_audit(entity_type="booking", entity_id=booking.reference).items
    assert (entry.action, entry.actor_id) == ("booking.mark_paid", admin_user.id)
    assert (entry.before["status"], entry.after["status"]) == ("held", "confirmed")


def test_transferred_booking_event_is_on_the_timeline(app, admin_user):
    course = CourseFactory()
    source, target = SessionFactory(course=course), SessionFactory(course=course)
    booking = paid_booking(source.id)
    manage.transfer_booking(booking.reference, target.id, actor=staff(admin_user))
    titles = [e.title for e in detail_of(booking, admin_user).timeline]
    assert "Transferred to another date" in titles
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == events.BOOKING_TRANSFERRED)) == 1


# -- completed sessions are history ---------------------------------------------------------------
def booking_on_a_past_session(*, completed=True, seats=2, price_pence=10000):
    """A booking paid ten days ago for a session that ran two days ago (completed, with
    attendance and a certificate), or one that started an hour ago (not completed)."""
    course = CourseFactory(price_pence=price_pence)
    starts = utcnow() - (timedelta(days=2) if completed else timedelta(hours=1))
    session = SessionFactory(course=course, starts_at=starts, ends_at=starts + timedelta(hours=7))
    booking = paid_booking(session.id, seats, now=utcnow() - timedelta(days=10))
    if completed:
        session.status = SessionStatus.COMPLETED
        booking.attendees[0].attended = True
        booking.attendees[0].certificate_number = "RFT-TEST-0001"
    db.session.commit()
    return booking


def test_admin_cannot_transfer_a_booking_off_a_completed_session(app, admin_user):
    booking = booking_on_a_past_session()
    source_id = booking.session_id
    future = SessionFactory(course=booking.session.course)
    with pytest.raises(InvalidState) as caught:
        manage.transfer_booking(booking.reference, future.id, actor=staff(admin_user))
    assert "has been completed" in caught.value.message
    db.session.expire_all()
    kept = db.session.get(Booking, booking.id)
    assert kept.session_id == source_id and kept.attendees[0].certificate_number
    assert (seats_taken(source_id), seats_taken(future.id)) == (2, 0)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == events.BOOKING_TRANSFERRED)) == 0
    started = booking_on_a_past_session(completed=False)
    with pytest.raises(InvalidState) as caught:
        manage.transfer_booking(started.reference, SessionFactory(course=started.session.course).id,
                                actor=staff(admin_user))
    assert "has already started" in caught.value.message


@pytest.mark.parametrize("completed", [True, False])
def test_cancel_and_refund_by_policy_are_refused_once_the_course_has_started(
        app, admin_user, completed):
    booking = booking_on_a_past_session(completed=completed)
    for actor, refund in [(staff(admin_user), RefundRule.POLICY),
                          (staff(admin_user), RefundRule.FULL),
                          (staff(admin_user), 500),
                          (Actor.customer(), RefundRule.POLICY)]:
        with pytest.raises(InvalidState) as caught:
            manage.cancel_booking(booking.reference, actor=actor, policy=POLICY, refund=refund)
        assert "can no longer be cancelled" in caught.value.message
    db.session.expire_all()
    kept = db.session.get(Booking, booking.id)
    assert (kept.status, kept.refund_due_pence) == (BookingStatus.CONFIRMED, 0)
    changes = detail_of(booking, admin_user).changes
    assert not (changes.can_cancel or changes.can_transfer)
    assert changes.can_rename is not completed  # the register is open until completion
    # A goodwill refund of an amount stays possible and leaves the booking as it is.
    goodwill = refunds.refund_booking(booking.reference, 3000, actor=staff(admin_user))
    assert goodwill.amount_pence == 3000
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED


def test_attendee_names_cannot_change_after_the_course_for_customer_or_staff(app, admin_user):
    booking = booking_on_a_past_session()
    for actor in (Actor.customer(), staff(admin_user)):
        with pytest.raises(InvalidState) as caught:
            manage.rename_attendees(booking.reference, {1: "Someone Else"}, actor=actor,
                                    policy=POLICY)
        assert "names on its register can no longer be changed" in caught.value.message
    db.session.expire_all()
    assert [a.full_name for a in db.session.get(Booking, booking.id).attendees] == [
        "Learner A", "Learner B"]


def test_staff_may_correct_a_name_on_a_started_course_until_it_is_completed(app, admin_user):
    booking = booking_on_a_past_session(completed=False)
    with pytest.raises(InvalidState):
        manage.rename_attendees(booking.reference, {1: "Bo Li"}, actor=Actor.customer(),
                                policy=POLICY)
    manage.rename_attendees(booking.reference, {1: "Bo Li"}, actor=staff(admin_user),
                            policy=POLICY)
    db.session.expire_all()
    assert [a.full_name for a in db.session.get(Booking, booking.id).attendees] == [
        "Learner A", "Bo Li"]


def test_a_name_on_an_issued_certificate_never_changes(app, admin_user):
    booking = paid_booking(SessionFactory().id, 2)
    booking.attendees[0].certificate_number = "RFT-TEST-0002"
    db.session.commit()
    with pytest.raises(InvalidInput) as caught:
        manage.rename_attendees(booking.reference, {0: "Anne Other", 1: "Bo Li"},
                                actor=staff(admin_user), policy=POLICY)
    assert set(caught.value.fields) == {"attendees.0.name"}
    assert "RFT-TEST-0002" in caught.value.fields["attendees.0.name"]


# -- one cancel function for every audience -------------------------------------------------
def test_the_same_cancel_function_gives_staff_their_refund_and_customers_the_policy(
        app, admin_user):
    session = SessionFactory(starts_at=utcnow() + timedelta(days=5),
                             ends_at=utcnow() + timedelta(days=5, hours=7),
                             course__price_pence=10000)
    by_customer, by_staff, by_amount = (paid_booking(session.id, email=f"c{i}@example.com")
                                        for i in range(3))
    with pytest.raises(InvalidInput):  # only staff choose another refund
        manage.cancel_booking(by_customer.reference, actor=Actor.customer(), policy=POLICY,
                              refund=RefundRule.FULL)
    customer = manage.cancel_booking(by_customer.reference, actor=Actor.customer(), policy=POLICY)
    assert customer.refund_due_pence == 5000  # five days' notice: half, by the policy
    admin = manage.cancel_booking(by_staff.reference, actor=staff(admin_user), policy=POLICY,
                                  refund=RefundRule.FULL)
    assert admin.refund_due_pence == 10000
    with pytest.raises(InvalidInput) as caught:
        manage.cancel_booking(by_amount.reference, actor=staff(admin_user), policy=POLICY,
                              refund=10001)
    assert "refund" in caught.value.fields
    amount = manage.cancel_booking(by_amount.reference, actor=staff(admin_user), policy=POLICY,
                                   refund=2500)
    assert amount.refund_due_pence == 2500
    audited = {entry.entity_id: entry.after["refund_choice"]
               for entry in search_audit(entity_type="booking").items
               if entry.action == "booking.cancel"}
    assert audited == {by_staff.reference: "full", by_amount.reference: "amount"}


def test_customers_cannot_move_their_own_booking(app):
    course = CourseFactory()
    booking = paid_booking(SessionFactory(course=course).id)
    other = SessionFactory(course=course, starts_at=utcnow() + timedelta(days=30),
                           ends_at=utcnow() + timedelta(days=30, hours=7))
    with pytest.raises(InvalidState):
        manage.transfer_booking(booking.reference, other.id, actor=Actor.customer())
    assert db.session.get(Booking, booking.id).session_id != other.id


# -- the transfer email -----------------------------------------------------------------------
def test_transfer_email_says_it_moved_from_one_date_and_town_to_the_other(
        app, admin_user, outbox):
    course = CourseFactory()
    year = utcnow().year + 1
    # 23:30 UTC on 9 July is 00:30 on 10 July in London: the email gives London dates.
    source_start = datetime(year, 7, 9, 23, 30, tzinfo=timezone.utc)
    target_start = datetime(year, 8, 20, 8, 30, tzinfo=timezone.utc)
    source = SessionFactory(course=course, venue=VenueFactory(town="Leeds"),
                            starts_at=source_start, ends_at=source_start + timedelta(hours=7))
    target = SessionFactory(course=course, venue=VenueFactory(town="York"),
                            starts_at=target_start, ends_at=target_start + timedelta(hours=7))
    booking = paid_booking(source.id, 2)
    deliver_all()
    outbox.clear()
    manage.transfer_booking(booking.reference, target.id, actor=staff(admin_user))
    deliver_all()
    deliver_all()
    [email] = outbox
    assert " 10 July " in uk_date(source_start)
    moved = (f"moved from {uk_date(source_start)}, Leeds to {uk_date(target_start)}, York")
    assert moved in email.body
    assert moved in email.alternatives[0][0].replace("<strong>", "").replace("</strong>", "")
    assert email.subject == (f"Booking moved: {course.title} is now on {uk_date(target_start)} "
                             f"(ref {booking.reference})")
    assert [name for name, _, _ in email.attachments] == [f"{booking.reference}.ics"]
    titles = {e.title: e.detail for e in detail_of(booking, admin_user).timeline}
    assert titles["Transferred to another date"] == (
        f"From 10 July {year}, Leeds to 20 August {year}, York")


def _calendar_event(email):
    [(name, content, _)] = [a for a in email.attachments if a[0].endswith(".ics")]
    return icalendar.Calendar.from_ical(content).walk("VEVENT")[0]


def test_the_transfer_calendar_file_moves_the_booked_event_instead_of_adding_another(
        app, admin_user, outbox):
    course = CourseFactory()
    source = SessionFactory(course=course)
    target = SessionFactory(course=course, starts_at=source.starts_at + timedelta(days=14),
                            ends_at=source.ends_at + timedelta(days=14))
    booking = paid_booking(source.id)
    booked_at = utcnow() - timedelta(hours=1)  # booked and confirmed an hour ago
    db.session.execute(update(Booking).where(Booking.id == booking.id)
                       .values(updated_at=booked_at))
    db.session.execute(update(CourseSession).where(CourseSession.id.in_([source.id, target.id]))
                       .values(updated_at=booked_at))
    db.session.commit()
    deliver_all()
    [confirmation] = outbox
    outbox.clear()
    manage.transfer_booking(booking.reference, target.id, actor=staff(admin_user))
    deliver_all()
    deliver_all()
    [moved] = outbox
    before, after = _calendar_event(confirmation), _calendar_event(moved)
    assert str(after["UID"]) == str(before["UID"])  # the same event, updated
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("DTSTART") == target.starts_at
    assert "moves the event in your calendar to the new date" in moved.body
