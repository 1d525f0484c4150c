"""The trainer portal: my sessions, the roster, one-tap attendance, completion, downloads."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Attendee, AuditLog, BookingStatus, CourseSession, OutboxEvent, Role, SessionStatus, utcnow,
)
from app.services.core import events
from app.services.core.errors import InvalidState, NotFound
from app.services.staff import roster

from factories import AttendeeFactory, BookingFactory, SessionFactory

HTMX = {"HX-Request": "true"}


def seat(course_session, name, *, status=BookingStatus.CONFIRMED, phone="+447700900123",
         access_needs=None, company=None):
    booking = BookingFactory(session=course_session, status=status, contact_phone=phone,
                             company=company, confirmed_at=utcnow())
    return AttendeeFactory(booking=booking, full_name=name, access_needs=access_needs)


@pytest.fixture
def today_session(trainer_user):
    """A session that ran earlier today: the register is open and it can be completed."""
    now = utcnow()
    return SessionFactory(trainer=trainer_user, starts_at=now - timedelta(hours=7),
                          ends_at=now - timedelta(minutes=1), capacity=8)


@pytest.fixture
def future_session(trainer_user):
    return SessionFactory(trainer=trainer_user)  # in a fortnight


def attendance(client, course_session, attendee, value, *, htmx=True):
    return client.post(
        f"/trainer/sessions/{course_session.id}/attendees/{attendee.id}/attendance",
        data={"attended": value}, headers=HTMX if htmx else {})


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# -- my sessions ----------------------------------------------------------------------------
def test_my_sessions_lists_my_upcoming_and_past_sessions_only(trainer_client, trainer_user,
                                                              staff_user):
    now = utcnow()
    mine_next = SessionFactory(trainer=trainer_user, course__title="Paediatric First Aid")
    mine_before = SessionFactory(trainer=trainer_user, course__title="First Aid at Work",
                                 starts_at=now - timedelta(days=30),
                                 ends_at=now - timedelta(days=30) + timedelta(hours=7),
                                 status=SessionStatus.COMPLETED)
    someone_elses = SessionFactory(trainer=staff_user(Role.TRAINER),
                                   course__title="Someone Else's Course")
    seat(mine_next, "Amira Khan")

    page = trainer_client.get("/trainer/")
    assert page.status_code == 200
    upcoming, past = page.text.split('id="past"')
    assert f'data-session-id="{mine_next.id}"' in upcoming and "1 of 12 seats booked" in upcoming
    assert f'data-session-id="{mine_before.id}"' in past and "Completed" in past
    assert "Someone Else&#39;s Course" not in page.text and "Someone Else's Course" not in page.text
    assert f'data-session-id="{someone_elses.id}"' not in page.text


def test_a_session_that_ended_but_is_not_completed_is_flagged(trainer_client, today_session):
    page = trainer_client.get("/trainer/")
    assert "To complete" in page.text


# -- the roster -------------------------------------------------------------------------------
def test_the_roster_shows_confirmed_bookings_only_with_names_phones_and_access_needs(
        trainer_client, today_session):
    seat(today_session, "Amira Khan", phone="+447700900123",
         access_needs="Uses a wheelchair; ground floor please")
    seat(today_session, "Bob Ó Briain", phone="+447700900456", company="Acme Ltd")
    seat(today_session, "Harold Held", status=BookingStatus.HELD)
    seat(today_session, "Cora Cancelled", status=BookingStatus.CANCELLED)
    seat(today_session, "Rex Refunded", status=BookingStatus.REFUNDED)

    page = trainer_client.get(f"/trainer/sessions/{today_session.id}")
    assert page.status_code == 200
    assert "Amira Khan" in page.text and "Bob Ó Briain" in page.text
    assert "07700 900123" in page.text and 'href="tel:+447700900123"' in page.text
    assert "07700 900456" in page.text and "Acme Ltd" in page.text
    assert "Uses a wheelchair; ground floor please" in page.text
    for name in ("Harold Held", "Cora Cancelled", "Rex Refunded"):
        assert name not in page.text
    assert 'data-unmarked="2"' in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_the_roster_escapes_what_customers_typed(trainer_client, today_session):
    seat(today_session, "<script>alert(1)</script>", access_needs="<img src=x onerror=alert(1)>")
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text and "<img src=x" not in page.text


def test_the_roster_has_big_attendance_buttons_that_work_with_and_without_htmx(
        trainer_client, today_session):
    attendee = seat(today_session, "Amira Khan")
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}").text
    action = f"/trainer/sessions/{today_session.id}/attendees/{attendee.id}/attendance"
    assert f'method="post" action="{action}" hx-post="{action}"' in page
    assert 'name="attended" value="present"' in page and 'name="attended" value="absent"' in page
    assert "css/staff.css" in page  # the phone-sized layout


# -- attendance ----------------------------------------------------------------------------------
def test_marking_attendance_over_htmx_returns_the_row_and_records_audit_and_event(
        trainer_client, trainer_user, today_session):
    attendee = seat(today_session, "Amira Khan")
    seat(today_session, "Bob Brown")

    response = attendance(trainer_client, today_session, attendee, "present")
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<li id="attendee-{attendee.id}"')
    assert 'data-attended="present"' in response.text
    assert 'id="roster-counts"' in response.text and 'hx-swap-oob="true"' in response.text
    assert 'data-present="1"' in response.text and 'data-unmarked="1"' in response.text
    assert "<html" not in response.text
    assert "HX-Request" in response.headers["Vary"]
    assert reload(attendee).attended is True

    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.mark")).one()
    assert (entry.actor_id, entry.entity_type, entry.entity_id) == \
        (trainer_user.id, "session", str(today_session.id))
    assert entry.before == {f"attendee:{attendee.id}.attended": None}
    assert entry.after == {f"attendee:{attendee.id}.attended": True}
    event = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.ATTENDANCE_MARKED)).one()
    assert event.payload["attendee_id"] == attendee.id and event.payload["attended"] is True


def test_changing_a_mark_records_it_and_repeating_it_records_nothing(trainer_client,
                                                                     today_session):
    attendee = seat(today_session, "Amira Khan")
    attendance(trainer_client, today_session, attendee, "present")
    attendance(trainer_client, today_session, attendee, "present")  # a double tap
    response = attendance(trainer_client, today_session, attendee, "absent")
    assert 'data-attended="absent"' in response.text
    assert reload(attendee).attended is False
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["attendance.mark", "attendance.mark"]


def test_marking_attendance_without_javascript_returns_to_the_roster(trainer_client,
                                                                     today_session):
    attendee = seat(today_session, "Amira Khan")
    response = attendance(trainer_client, today_session, attendee, "present", htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == \
        f"/trainer/sessions/{today_session.id}#attendee-{attendee.id}"
    assert reload(attendee).attended is True


def test_an_attendance_value_other_than_present_or_absent_is_refused(trainer_client,
                                                                     today_session):
    attendee = seat(today_session, "Amira Khan")
    response = attendance(trainer_client, today_session, attendee, "maybe")
    assert response.status_code == 422 and "Choose present or absent." in response.text
    assert reload(attendee).attended is None


def test_the_register_opens_on_the_first_day_of_the_session(trainer_client, future_session):
    attendee = seat(future_session, "Amira Khan")
    page = trainer_client.get(f"/trainer/sessions/{future_session.id}").text
    assert "You can take the register from the first day" in page
    assert 'name="attended"' not in page
    response = attendance(trainer_client, future_session, attendee, "present")
    assert response.status_code == 409
    assert f'id="attendee-{attendee.id}"' in response.text  # the row stays, with the reason
    assert "first day of the session" in response.text
    assert reload(attendee).attended is None


def test_an_attendee_of_another_session_cannot_be_marked_through_this_sessions_url(
        trainer_client, trainer_user, today_session):
    other_session = SessionFactory(trainer=trainer_user, starts_at=today_session.starts_at,
                                   ends_at=today_session.ends_at)
    stranger = seat(other_session, "Amira Khan")
    response = attendance(trainer_client, today_session, stranger, "present")
    assert response.status_code == 404
    assert reload(stranger).attended is None


def test_a_held_seat_cannot_be_marked(trainer_client, today_session):
    held = seat(today_session, "Harold Held", status=BookingStatus.HELD)
    assert attendance(trainer_client, today_session, held, "present").status_code == 404


# -- completing a session ----------------------------------------------------------------------
def test_completing_asks_for_confirmation_first(trainer_client, today_session):
    present = seat(today_session, "Amira Khan")
    absent = seat(today_session, "Bob Brown")
    attendance(trainer_client, today_session, present, "present")
    attendance(trainer_client, today_session, absent, "absent")
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}/complete")
    assert page.status_code == 200
    assert "Are you sure?" in page.text and 'data-certificates="1"' in page.text
    assert "Yes, complete and issue 1 certificate" in page.text
    assert reload(today_session).status == SessionStatus.SCHEDULED


def test_completing_issues_certificates_to_those_present_only_and_only_once(
        trainer_client, trainer_user, today_session):
    present = [seat(today_session, "Amira Khan"), seat(today_session, "Bob Brown")]
    absent = seat(today_session, "Cara Jones")
    for attendee in present:
        attendance(trainer_client, today_session, attendee, "present")
    attendance(trainer_client, today_session, absent, "absent")

    response = trainer_client.post(f"/trainer/sessions/{today_session.id}/complete")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/trainer/sessions/{today_session.id}"
    assert "2 certificates issued" in trainer_client.get(response.headers["Location"]).text
    assert reload(today_session).status == SessionStatus.COMPLETED
    numbers = {a.id: reload(a).certificate_number for a in present}
    assert all(numbers.values()) and len(set(numbers.values())) == 2
    assert reload(absent).certificate_number is None
    issued_on = reload(present[0]).certificate_issued_on
    assert issued_on is not None and reload(present[0]).certificate_expires_on > issued_on

    again = trainer_client.post(f"/trainer/sessions/{today_session.id}/complete")
    assert again.status_code == 303
    assert "already completed" in trainer_client.get(again.headers["Location"]).text
    assert {a.id: reload(a).certificate_number for a in present} == numbers
    certificate_events = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == events.CERTIFICATE_ISSUED))
    assert certificate_events == 2
    completions = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "session.complete")).all()
    assert len(completions) == 1 and completions[0].actor_id == trainer_user.id
    assert completions[0].after == {"status": "completed", "certificates_issued": 2}


def test_a_session_cannot_be_completed_with_attendees_unmarked(trainer_client, today_session):
    marked, _unmarked = seat(today_session, "Amira Khan"), seat(today_session, "Bob Brown")
    attendance(trainer_client, today_session, marked, "present")
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}/complete")
    assert 'data-unmarked="1"' in page.text and "Yes, complete" not in page.text
    response = trainer_client.post(f"/trainer/sessions/{today_session.id}/complete")
    assert response.status_code == 303
    assert "1 attendee is not marked yet" in trainer_client.get(response.headers["Location"]).text
    assert reload(today_session).status == SessionStatus.SCHEDULED
    assert reload(marked).certificate_number is None


def test_a_session_cannot_be_completed_before_its_last_day(trainer_user, future_session):
    with pytest.raises(InvalidState):
        roster.complete_session(trainer_user, future_session.id,
                                (future_session.starts_at - timedelta(days=1)).date())
    assert reload(future_session).status == SessionStatus.SCHEDULED


def test_attendance_is_frozen_once_the_session_is_completed(trainer_client, today_session):
    attendee = seat(today_session, "Amira Khan")
    attendance(trainer_client, today_session, attendee, "absent")
    trainer_client.post(f"/trainer/sessions/{today_session.id}/complete")
    response = attendance(trainer_client, today_session, attendee, "present")
    assert response.status_code == 409 and "completed" in response.text
    assert reload(attendee).attended is False and reload(attendee).certificate_number is None
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}").text
    assert 'data-session-state="completed"' in page and 'name="attended"' not in page


def test_a_cancelled_session_cannot_be_marked_or_completed(trainer_user, today_session):
    attendee = seat(today_session, "Amira Khan")
    today_session.status = SessionStatus.CANCELLED
    db.session.commit()
    with pytest.raises(InvalidState):
        roster.mark_attendance(trainer_user, attendee.id, True)
    with pytest.raises(InvalidState):
        roster.complete_session(trainer_user, today_session.id, utcnow().date())


def test_an_admin_may_take_any_register(admin_client, admin_user, today_session):
    attendee = seat(today_session, "Amira Khan")
    assert admin_client.get(f"/trainer/sessions/{today_session.id}").status_code == 200
    assert attendance(admin_client, today_session, attendee, "present").status_code == 200
    assert reload(attendee).attended is True
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "attendance.mark")).one()
    assert entry.actor_id == admin_user.id


def test_the_services_refuse_other_trainers_sessions_as_not_found(today_session, staff_user):
    attendee = seat(today_session, "Amira Khan")
    stranger = staff_user(Role.TRAINER)
    with pytest.raises(NotFound):
        roster.session_roster(stranger, today_session.id)
    with pytest.raises(NotFound):
        roster.mark_attendance(stranger, attendee.id, True)
    with pytest.raises(NotFound):
        roster.complete_session(stranger, today_session.id, utcnow().date())
    with pytest.raises(NotFound):
        roster.session_roster(stranger, 999_999)
    assert reload(attendee).attended is None


# -- downloads ------------------------------------------------------------------------------------
def test_the_roster_downloads_as_csv_with_confirmed_bookings_only(trainer_client, today_session):
    seat(today_session, "Amira Khan", access_needs="Needs a chair")
    seat(today_session, "=HYPERLINK(\"http://evil\")")
    seat(today_session, "Harold Held", status=BookingStatus.HELD)
    response = trainer_client.get(f"/trainer/sessions/{today_session.id}/roster.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"roster-")
    text = response.data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("number,name_on_certificate,")
    assert len(lines) == 3
    assert "Amira Khan" in text and "07700 900123" in text and "Needs a chair" in text
    assert "'=HYPERLINK" in text  # a name cannot become a spreadsheet formula
    assert "Harold Held" not in text


def test_the_roster_downloads_as_pdf(trainer_client, today_session):
    seat(today_session, "Amira Khan")
    response = trainer_client.get(f"/trainer/sessions/{today_session.id}/roster.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_attendee_count_on_the_roster_matches_the_database(trainer_client, today_session):
    for n in range(3):
        seat(today_session, f"Learner {n}")
    page = trainer_client.get(f"/trainer/sessions/{today_session.id}").text
    count = db.session.scalar(select(func.count()).select_from(Attendee))
    assert page.count('class="roster-row ') == count == 3
    assert db.session.get(CourseSession, today_session.id).capacity == 8


# -- under contention ------------------------------------------------------------------------------
def test_a_session_completed_from_several_devices_at_once_issues_each_certificate_once(
        app, trainer_user, today_session):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from app.models import User

    present = [seat(today_session, f"Learner {n}") for n in range(3)]
    for attendee in present:
        roster.mark_attendance(trainer_user, attendee.id, True)
    user_id, session_id, today = trainer_user.id, today_session.id, \
        roster._last_day(today_session)
    barrier = threading.Barrier(6)

    def complete(_):
        with app.app_context():
            barrier.wait()
            try:
                return roster.complete_session(db.session.get(User, user_id), session_id, today)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(complete, range(6)))

    assert sum(1 for r in results if not r.already_completed) == 1
    assert sum(r.certificates_issued for r in results) == 3
    db.session.expire_all()
    assert all(db.session.get(Attendee, a.id).certificate_number for a in present)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == events.CERTIFICATE_ISSUED)) == 3
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "session.complete")) == 1
