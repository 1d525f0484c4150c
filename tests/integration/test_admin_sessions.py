"""Admin timetable: single sessions and recurring series in London time, trainers
never double-booked, capacity never below seats taken, moves that tell customers,
and cancellations that cancel, refund and tell everyone exactly once."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Booking, BookingStatus, CourseSession, OutboxEvent, Refund, RefundStatus, Role, SessionStatus,
    WaitlistEntry, WaitlistStatus, utcnow,
)
from app.services.background import dispatcher
from app.services.bookings import holds as booking_service
from app.services.catalogue import timetable
from app.services.core import events
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState, SessionNotBookable

from admin_helpers import POLICY, held_booking, paid_booking, seats_taken
from racing import race
from factories import CourseFactory, SessionFactory, UserFactory, VenueFactory, booking_request

LONDON = ZoneInfo("Europe/London")
DISPATCH = dispatcher.DispatchPolicy(max_attempts=3, backoff_base_seconds=1,
                                     backoff_max_seconds=5, lease_seconds=60)


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 30, "max_overflow": 0, "pool_timeout": 60}}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def next_weekday(weekday: int, *, after_days: int = 7) -> date:
    day = (utcnow() + timedelta(days=after_days)).astimezone(LONDON).date()
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def spring_forward_sunday() -> date:
    """The next last-Sunday-of-March (UK clocks go forward)."""
    today = utcnow().astimezone(LONDON).date()
    year = today.year if today < date(today.year, 3, 20) else today.year + 1
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def session_data(course, venue, **overrides):
    data = {"course_id": str(course.id), "venue_id": str(venue.id), "trainer_id": "",
            "date": next_weekday(0).isoformat(), "start_time": "09:30", "end_time": "16:30",
            "capacity": "", "price": "", "repeat": "none", "occurrences": "1"}
    data.update({k: str(v) for k, v in overrides.items()})
    return data


def deliver_all():
    result = dispatcher.dispatch_pending("test-worker", DISPATCH)
    db.session.expire_all()
    return result


# -- creating --------------------------------------------------------------------------------
def test_single_session_times_are_london_time_stored_as_utc(app, admin_user):
    course, venue = CourseFactory(default_capacity=10), VenueFactory()
    day = spring_forward_sunday() + timedelta(days=8)  # BST: London is UTC+1
    [created] = timetable.create_sessions(admin_user.id, session_data(
        course, venue, date=day.isoformat()))
    assert created.starts_at == datetime.combine(day, time(8, 30), tzinfo=timezone.utc)
    assert created.ends_at == datetime.combine(day, time(15, 30), tzinfo=timezone.utc)
    assert created.capacity == 10  # the course's default
    assert created.status == SessionStatus.SCHEDULED


def test_multi_day_course_ends_on_its_last_consecutive_day(app, admin_user):
    course = CourseFactory(duration_days=3)
    monday = next_weekday(0)
    [created] = timetable.create_sessions(admin_user.id, session_data(
        course, VenueFactory(), date=monday.isoformat(), start_time="09:00", end_time="16:30"))
    assert created.starts_at.astimezone(LONDON).date() == monday
    assert created.ends_at.astimezone(LONDON).date() == monday + timedelta(days=2)
    assert f"{created.ends_at.astimezone(LONDON):%H:%M}" == "16:30"


def test_weekly_series_keeps_the_london_start_across_the_clock_change(app, admin_user):
    course, venue = CourseFactory(), VenueFactory()
    first = spring_forward_sunday() - timedelta(days=13)  # a Monday two weeks before
    created = timetable.create_sessions(admin_user.id, session_data(
        course, venue, date=first.isoformat(), repeat="weekly", occurrences=4, capacity=8,
        price="85"))
    assert len(created) == 4
    local_starts = [s.starts_at.astimezone(LONDON) for s in created]
    assert [d.date() for d in local_starts] == [first + timedelta(weeks=i) for i in range(4)]
    assert {f"{d:%H:%M}" for d in local_starts} == {"09:30"}
    assert {s.starts_at.utcoffset() for s in created} == {timedelta(0)}
    assert [s.starts_at.hour for s in created] == [9, 9, 8, 8]  # GMT, GMT, BST, BST
    assert {s.capacity for s in created} == {8}
    assert {s.price_pence for s in created} == {8500}
    entries = search_audit(entity_type="session", entity_id=created[0].id).items
    assert entries[0].action == "session.create"
    assert entries[0].after["series"] == [s.id for s in created]


def test_weekday_series_skips_the_weekend(app, admin_user):
    thursday = next_weekday(3)
    created = timetable.create_sessions(admin_user.id, session_data(
        CourseFactory(), VenueFactory(), date=thursday.isoformat(), repeat="weekdays",
        occurrences=4))
    days = [s.starts_at.astimezone(LONDON).date() for s in created]
    assert [d.weekday() for d in days] == [3, 4, 0, 1]


def test_daily_series_of_a_multi_day_course_is_refused_as_overlapping(app, admin_user):
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            CourseFactory(duration_days=2), VenueFactory(), repeat="daily", occurrences=3))
    assert "repeat" in caught.value.fields


def test_series_is_created_whole_or_not_at_all(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER, full_name="Jo Bloggs")
    monday = next_weekday(0)
    clash_day = monday + timedelta(weeks=2)
    SessionFactory(trainer=trainer, course__duration_hours=2,
                   starts_at=datetime.combine(clash_day, time(10), tzinfo=LONDON),
                   ends_at=datetime.combine(clash_day, time(12), tzinfo=LONDON))
    before = db.session.scalar(select(func.count()).select_from(CourseSession))
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            CourseFactory(), VenueFactory(), date=monday.isoformat(), repeat="weekly",
            occurrences=4, trainer_id=trainer.id))
    assert "Jo Bloggs is already teaching" in caught.value.fields["trainer_id"]
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == before


@pytest.mark.parametrize("field,value", [("date", "31/02/2027"), ("start_time", "25:00"),
                                         ("end_time", "08:00"), ("course_id", "x"),
                                         ("capacity", "0"), ("price", "-5")])
def test_bad_session_values_name_their_field(app, admin_user, field, value):
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            CourseFactory(), VenueFactory(), **{field: value}))
    assert field in caught.value.fields


def test_a_time_skipped_by_the_clock_change_is_refused(app, admin_user):
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            CourseFactory(), VenueFactory(), date=spring_forward_sunday().isoformat(),
            start_time="01:30", end_time="05:00"))
    assert "clocks go forward" in caught.value.fields["start_time"]


def test_sessions_cannot_be_created_in_the_past_or_for_a_deleted_course(app, admin_user):
    course = CourseFactory(deleted_at=utcnow())
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(course, VenueFactory()))
    assert "course_id" in caught.value.fields
    yesterday = (utcnow() - timedelta(days=1)).astimezone(LONDON).date()
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            CourseFactory(), VenueFactory(), date=yesterday.isoformat()))
    assert "date" in caught.value.fields


# -- contact hours ------------------------------------------------------------------------------
def session_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CourseSession))


def test_a_session_shorter_than_its_courses_hours_is_refused_at_the_end_time(app, admin_user):
    course = CourseFactory(title="Emergency First Aid at Work", duration_hours=6)
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            course, VenueFactory(), start_time="09:30", end_time="12:30"))
    assert caught.value.fields == {
        "end_time": "Emergency First Aid at Work needs 6 hours; this session gives 3 hours."}
    assert session_count() == 0
    [created] = timetable.create_sessions(admin_user.id, session_data(
        course, VenueFactory(), start_time="09:30", end_time="15:30"))
    assert created.ends_at - created.starts_at == timedelta(hours=6)


def test_a_series_shorter_than_its_courses_hours_is_refused_whole(app, admin_user):
    course = CourseFactory(title="Emergency First Aid at Work", duration_hours=6)
    with pytest.raises(InvalidInput) as caught:
        timetable.create_sessions(admin_user.id, session_data(
            course, VenueFactory(), start_time="09:00", end_time="14:30", repeat="weekly",
            occurrences=4))
    assert caught.value.fields["end_time"] == (
        "Emergency First Aid at Work needs 6 hours; this session gives 5 hours 30 minutes.")
    assert session_count() == 0


def test_moving_a_session_into_fewer_hours_than_its_course_is_refused(app, admin_user):
    session = SessionFactory(course__title="Emergency First Aid at Work",
                             course__duration_hours=6, **_at(next_weekday(0), 9, 16))
    with pytest.raises(InvalidInput) as caught:
        timetable.move_session(admin_user.id, session.id, {
            "venue_id": session.venue_id, "date": next_weekday(2).isoformat(),
            "start_time": "10:00", "end_time": "13:00"})
    assert caught.value.fields["end_time"] == (
        "Emergency First Aid at Work needs 6 hours; this session gives 3 hours.")
    db.session.expire_all()
    unchanged = timetable.get_session(session.id)
    assert (unchanged.starts_at, unchanged.ends_at) == (session.starts_at, session.ends_at)
    assert not db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.SESSION_CHANGED)).all()


def test_a_multi_day_course_spans_its_days_with_its_share_of_hours_on_each(app, admin_user):
    course = CourseFactory(title="First Aid at Work", duration_days=3, duration_hours=18)
    monday = next_weekday(0)

    def create(start, end):
        return timetable.create_sessions(admin_user.id, session_data(
            course, VenueFactory(), date=monday.isoformat(), start_time=start, end_time=end))

    with pytest.raises(InvalidInput) as caught:
        create("09:00", "11:00")
    assert caught.value.fields["end_time"] == ("First Aid at Work needs 18 hours over 3 days "
                                               "(6 hours a day); this session gives 6 hours "
                                               "(2 hours a day).")
    with pytest.raises(InvalidInput) as caught:  # ends on day 3, yet no day has any hours
        create("16:00", "10:00")
    assert "end_time" in caught.value.fields
    assert session_count() == 0

    [created] = create("09:00", "15:00")
    assert created.ends_at.astimezone(LONDON).date() == monday + timedelta(days=2)
    one_day = (datetime.combine(monday, time(9), tzinfo=LONDON),
               datetime.combine(monday, time(16, 30), tzinfo=LONDON))
    assert timetable.contact_hours_problem(course, *one_day) == (
        "First Aid at Work runs over 3 consecutive days: the session must end on its third day.")


# -- trainers ----------------------------------------------------------------------------------
def _at(day: date, start: int, end: int) -> dict:
    return {"starts_at": datetime.combine(day, time(start), tzinfo=LONDON),
            "ends_at": datetime.combine(day, time(end), tzinfo=LONDON)}


def test_trainer_double_booking_is_refused_with_a_clear_message(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER, full_name="Jo Bloggs")
    day = next_weekday(1)
    SessionFactory(trainer=trainer, course__title="First Aid at Work", **_at(day, 9, 16))
    other = SessionFactory(trainer=None, course__duration_hours=4, **_at(day, 13, 17))
    with pytest.raises(InvalidInput) as caught:
        timetable.assign_trainer(admin_user.id, other.id, trainer.id)
    message = caught.value.fields["trainer_id"]
    assert message.startswith("Jo Bloggs is already teaching First Aid at Work on")
    assert timetable.get_session(other.id).trainer_id is None


def test_back_to_back_sessions_are_not_a_clash(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER)
    day = next_weekday(1)
    SessionFactory(trainer=trainer, course__duration_hours=3, **_at(day, 9, 12))
    afternoon = SessionFactory(trainer=None, course__duration_hours=4, **_at(day, 12, 16))
    timetable.assign_trainer(admin_user.id, afternoon.id, trainer.id)
    assert timetable.get_session(afternoon.id).trainer_id == trainer.id
    entry = search_audit(entity_type="session", entity_id=afternoon.id).items[0]
    assert entry.before == {"trainer_id": None} and entry.after == {"trainer_id": trainer.id}


def test_cancelled_sessions_do_not_block_a_trainer(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER)
    day = next_weekday(2)
    SessionFactory(trainer=trainer, status=SessionStatus.CANCELLED, **_at(day, 9, 16))
    other = SessionFactory(trainer=None, **_at(day, 9, 16))
    timetable.assign_trainer(admin_user.id, other.id, trainer.id)


def test_moving_a_session_onto_its_trainers_other_session_is_refused(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER)
    day = next_weekday(3)
    SessionFactory(trainer=trainer, **_at(day, 9, 16))
    movable = SessionFactory(trainer=trainer, **_at(day + timedelta(days=1), 9, 16))
    with pytest.raises(InvalidInput) as caught:
        timetable.move_session(admin_user.id, movable.id, {
            "venue_id": movable.venue_id, "date": day.isoformat(), "start_time": "10:00",
            "end_time": "16:00"})
    assert "trainer_id" in caught.value.fields


def test_two_admins_racing_to_double_book_a_trainer_only_one_wins(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER)
    day = next_weekday(4)
    first = SessionFactory(trainer=None, **_at(day, 9, 16))
    second = SessionFactory(trainer=None, course__duration_hours=5, **_at(day, 10, 15))
    ids, trainer_id, actor = [first.id, second.id], trainer.id, admin_user.id
    results = race(app, 2, lambda i: timetable.assign_trainer(actor, ids[i], trainer_id).id)
    assert sum(isinstance(r, int) for r in results) == 1
    assert [type(r) for r in results if not isinstance(r, int)] == [InvalidInput]
    assigned = db.session.scalars(select(CourseSession).where(
        CourseSession.trainer_id == trainer_id)).all()
    assert len(assigned) == 1


def test_inactive_or_non_trainer_users_cannot_be_assigned(app, admin_user):
    session = SessionFactory(trainer=None)
    for user in (UserFactory(role=Role.TRAINER, is_active=False), admin_user):
        with pytest.raises(InvalidInput):
            timetable.assign_trainer(admin_user.id, session.id, user.id)


# -- capacity --------------------------------------------------------------------------------
def test_capacity_cannot_drop_below_seats_taken(app, admin_user):
    session = SessionFactory(capacity=12)
    paid_booking(session.id, 3)
    held_booking(session.id, 2)
    with pytest.raises(InvalidInput) as caught:
        timetable.change_capacity(admin_user.id, session.id, "4")
    assert "5 seats are already taken" in caught.value.fields["capacity"]
    assert timetable.get_session(session.id).capacity == 12

    timetable.change_capacity(admin_user.id, session.id, "5")
    assert timetable.get_session(session.id).capacity == 5
    entry = search_audit(entity_type="session", entity_id=session.id).items[0]
    assert entry.action == "session.capacity"
    assert entry.before == {"capacity": 12} and entry.after == {"capacity": 5}


def test_a_sessions_history_reads_as_words_and_names_not_codes_and_ids(app, admin_user):
    session = SessionFactory(capacity=12)
    before = session.trainer.full_name
    trainer = UserFactory(role=Role.TRAINER, full_name="Sam Jones")
    timetable.change_capacity(admin_user.id, session.id, "10")
    timetable.assign_trainer(admin_user.id, session.id, str(trainer.id))
    history = timetable.session_detail(session.id).history
    actions = {row.action for row in history}
    assert actions == {"Changed the number of seats on a session",
                       "Assigned a trainer to a session"}
    changes = {(c.label, c.before, c.after) for row in history for c in row.changes}
    assert ("Trainer", before, "Sam Jones") in changes
    assert all(row.who == admin_user.full_name for row in history)


def test_capacity_change_racing_holds_never_leaves_the_session_overbooked(app, admin_user):
    session = SessionFactory(capacity=12)
    session_id, actor = session.id, admin_user.id
    paid_booking(session_id, 6)

    def attempt(i):
        if i == 0:
            return timetable.change_capacity(actor, session_id, "8").capacity
        return booking_service.hold_seats(booking_request(session_id, 1,
                                                          email=f"r{i}@example.com"),
                                          policy=POLICY).reference

    results = race(app, 10, attempt)
    capacity = timetable.get_session(session_id).capacity
    assert seats_taken(session_id) <= capacity
    assert all(not isinstance(r, Exception) or type(r).__name__ in ("SeatsUnavailable",
                                                                    "InvalidInput")
               for r in results)


# -- moving -----------------------------------------------------------------------------------
def test_moving_a_session_tells_customers_and_is_audited(app, admin_user):
    session = SessionFactory(**_at(next_weekday(0), 9, 16))
    new_venue = VenueFactory(name="York Hall", town="York", postcode="YO1 7HH")
    new_day = next_weekday(2)
    timetable.move_session(admin_user.id, session.id, {
        "venue_id": new_venue.id, "date": new_day.isoformat(), "start_time": "10:00",
        "end_time": "17:00"})
    moved = timetable.get_session(session.id)
    assert moved.venue_id == new_venue.id
    assert moved.starts_at.astimezone(LONDON).date() == new_day
    [event] = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.SESSION_CHANGED)).all()
    assert event.payload["session_id"] == session.id
    assert "York Hall" in event.payload["summary"] and "10:00am" in event.payload["summary"]
    entry = search_audit(entity_type="session", entity_id=session.id).items[0]
    assert entry.action == "session.move"
    assert set(entry.after) == {"venue_id", "starts_at", "ends_at"}


def test_moving_a_session_to_the_same_time_and_place_records_nothing(app, admin_user):
    session = SessionFactory(**_at(next_weekday(0), 9, 16))
    timetable.move_session(admin_user.id, session.id, timetable.form_values(session))
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == events.SESSION_CHANGED)) == 0


# -- cancelling ---------------------------------------------------------------------------------
def _events(event_type):
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == event_type)
                              .order_by(OutboxEvent.id)).all()


def test_cancelling_a_session_cancels_refunds_and_tells_every_customer_once(app, admin_user,
                                                                           outbox):
    session = SessionFactory(capacity=12, course__price_pence=10000)
    paid = [paid_booking(session.id, seats, email=f"paid{seats}@example.com")
            for seats in (1, 2, 3)]
    held = held_booking(session.id, 1)
    waiting = WaitlistEntry(session_id=session.id, name="Wai Ting", email="w@example.com",
                            seats=1, status=WaitlistStatus.WAITING)
    db.session.add(waiting)
    db.session.commit()
    deliver_all()
    outbox.clear()

    result = timetable.cancel_session(admin_user.id, session.id, reason="Trainer unwell.")

    assert sorted(result.cancelled_references) == sorted(
        [b.reference for b in paid] + [held.reference])
    assert result.refunds_due_pence == 60000
    assert timetable.get_session(session.id).status == SessionStatus.CANCELLED
    bookings = db.session.scalars(select(Booking).where(Booking.session_id == session.id)).all()
    assert {b.status for b in bookings} == {BookingStatus.CANCELLED}
    assert seats_taken(session.id) == 0
    assert db.session.get(WaitlistEntry, waiting.id).status == WaitlistStatus.CANCELLED

    cancelled_events = _events(events.BOOKING_CANCELLED)
    assert sorted(e.aggregate_id for e in cancelled_events) == sorted(result.cancelled_references)
    assert {e.payload["reason"] for e in cancelled_events} == {"session_cancelled"}
    [session_event] = _events(events.SESSION_CANCELLED)
    assert sorted(session_event.payload["references"]) == sorted(result.cancelled_references)

    deliver_all()
    deliver_all()
    refunds = db.session.scalars(select(Refund).order_by(Refund.booking_id)).all()
    assert [(r.booking_id, r.amount_pence, r.status) for r in refunds] == [
        (b.id, b.amount_pence, RefundStatus.SUCCEEDED) for b in paid]
    # One email per booking: the session-cancelled email (no second cancellation email),
    # plus a refund confirmation for each paid one.
    subjects = sorted(m.subject for m in outbox)
    assert sum(s.startswith("Cancelled:") for s in subjects) == 4
    assert sum(s.startswith("Refund of") for s in subjects) == 3
    assert not any(s.startswith("Booking cancelled") for s in subjects)
    recipients = sorted(m.to[0] for m in outbox if m.subject.startswith("Cancelled:"))
    assert recipients == sorted(b.contact_email for b in [*paid, held])

    entry = search_audit(entity_type="session", entity_id=session.id).items[0]
    assert entry.action == "session.cancel"
    assert entry.before["status"] == "scheduled" and entry.after["status"] == "cancelled"
    assert sorted(entry.after["bookings_cancelled"]) == sorted(result.cancelled_references)


def test_cancelling_twice_refunds_and_notifies_only_once(app, admin_user):
    session = SessionFactory()
    paid_booking(session.id, 2)
    timetable.cancel_session(admin_user.id, session.id)
    again = timetable.cancel_session(admin_user.id, session.id)
    assert again.was_already_cancelled and again.cancelled_references == []
    deliver_all()
    timetable.cancel_session(admin_user.id, session.id)
    deliver_all()
    assert len(_events(events.BOOKING_CANCELLED)) == 1
    assert len(_events(events.SESSION_CANCELLED)) == 1
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1


def test_two_admins_cancelling_at_once_refund_each_booking_exactly_once(app, admin_user):
    session = SessionFactory(capacity=20)
    paid = [paid_booking(session.id, 1, email=f"c{i}@example.com") for i in range(5)]
    session_id, actor = session.id, admin_user.id

    results = race(app, 2, lambda i: timetable.cancel_session(actor, session_id))

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sorted(len(r.cancelled_references) for r in results) == [0, 5]
    assert len(_events(events.BOOKING_CANCELLED)) == 5
    assert len(_events(events.SESSION_CANCELLED)) == 1
    # Deliveries racing too: two workers at once.
    race(app, 2, lambda i: dispatcher.dispatch_pending(f"worker-{i}", DISPATCH))
    deliver_all()
    refunds = db.session.scalars(select(Refund)).all()
    assert sorted(r.booking_id for r in refunds) == sorted(b.id for b in paid)
    assert {r.status for r in refunds} == {RefundStatus.SUCCEEDED}


def test_no_one_can_book_a_cancelled_session(app, admin_user):
    session = SessionFactory()
    timetable.cancel_session(admin_user.id, session.id)
    with pytest.raises(SessionNotBookable):
        held_booking(session.id)


def test_completed_sessions_cannot_be_cancelled_or_resized(app, admin_user):
    session = SessionFactory(status=SessionStatus.COMPLETED)
    with pytest.raises(InvalidState):
        timetable.cancel_session(admin_user.id, session.id)
    with pytest.raises(InvalidState):
        timetable.change_capacity(admin_user.id, session.id, "20")


# -- the table ---------------------------------------------------------------------------------
def test_session_table_filters_by_course_status_and_dates(app, admin_user):
    course = CourseFactory()
    day = next_weekday(0, after_days=14)
    wanted = SessionFactory(course=course, **_at(day, 9, 16))
    SessionFactory(course=course, status=SessionStatus.CANCELLED, **_at(day, 9, 16))
    SessionFactory(**_at(day, 9, 16))  # another course
    SessionFactory(course=course, **_at(day + timedelta(days=30), 9, 16))  # later
    table = timetable.list_sessions({"course": str(course.id), "status": "scheduled",
                                          "from": day.isoformat(), "to": day.isoformat()})
    assert [row.session.id for row in table.rows.items] == [wanted.id]
    paid_booking(wanted.id, 2)
    [row] = timetable.list_sessions({"course": str(course.id), "status": "scheduled",
                                          "from": day.isoformat(),
                                          "to": day.isoformat()}).rows.items
    assert (row.seats_taken, row.seats_available) == (2, 10)


def test_bad_filters_are_dropped_with_a_message_not_an_error(app, admin_user):
    table = timetable.list_sessions({"from": "yesterday", "status": "bogus", "page": "-3"})
    assert set(table.problems) == {"from", "status"}
    assert table.filters.page == 1
