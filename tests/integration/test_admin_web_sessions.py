"""Session pages: the live-seat table with HTMX filters, creating a series through
the form, inline capacity and trainer edits, moving, and cancelling with a
server-side confirm step."""
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseSession, Role, SessionStatus, utcnow

from admin_helpers import assert_admin_only, held_booking, paid_booking
from factories import CourseFactory, SessionFactory, UserFactory, VenueFactory

LONDON = ZoneInfo("Europe/London")


def next_monday(weeks: int = 1):
    day = (utcnow() + timedelta(weeks=weeks)).astimezone(LONDON).date()
    return day + timedelta(days=(0 - day.weekday()) % 7)


def test_session_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    session = SessionFactory()
    for url in ("/admin/sessions", "/admin/sessions/new", f"/admin/sessions/{session.id}",
                f"/admin/sessions/{session.id}/move", f"/admin/sessions/{session.id}/cancel"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_session_list_marks_seat_counts_for_the_live_updates(app, admin_client):
    session = SessionFactory(capacity=10)
    paid_booking(session.id, 3)
    html = admin_client.get("/admin/sessions").get_data(as_text=True)
    assert (f'<span id="seats-{session.id}" class="seats" data-seats-available="7">'
            in html)
    assert f"session={session.id}" in html  # the WebSocket subscription for the page


def test_filters_update_the_table_fragment_and_push_the_url(app, admin_client):
    wanted = SessionFactory(course__title="Paediatric First Aid")
    SessionFactory(course__title="First Aid at Work")
    page = admin_client.get("/admin/sessions").get_data(as_text=True)
    assert 'hx-get="/admin/sessions"' in page and 'hx-push-url="true"' in page
    response = admin_client.get(f"/admin/sessions?course={wanted.course_id}",
                                headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "Paediatric First Aid" in body and "First Aid at Work" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_pagination_links_keep_the_filters(app, admin_client):
    course = CourseFactory()
    for i in range(30):
        SessionFactory(course=course, starts_at=utcnow() + timedelta(days=3 + i),
                       ends_at=utcnow() + timedelta(days=3 + i, hours=6))
    html = admin_client.get(f"/admin/sessions?course={course.id}").get_data(as_text=True)
    assert re.search(rf'href="/admin/sessions\?course={course.id}&amp;from=[0-9-]+&amp;page=2"',
                     html)
    second = admin_client.get(f"/admin/sessions?course={course.id}&page=2",
                              headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Page 2 of 2" in second


def test_creating_a_weekly_series_through_the_form(app, admin_client):
    course, venue = CourseFactory(default_capacity=9), VenueFactory()
    trainer = UserFactory(role=Role.TRAINER)
    response = admin_client.post("/admin/sessions/new", data={
        "course_id": course.id, "venue_id": venue.id, "trainer_id": trainer.id,
        "date": next_monday().isoformat(), "start_time": "09:30", "end_time": "16:00",
        "capacity": "", "price": "", "repeat": "weekly", "occurrences": "5"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/admin/sessions?course={course.id}")
    sessions = db.session.scalars(select(CourseSession)).all()
    assert len(sessions) == 5 and {s.capacity for s in sessions} == {9}
    assert {s.trainer_id for s in sessions} == {trainer.id}


def test_a_trainer_clash_is_shown_on_the_trainer_field(app, admin_client):
    trainer = UserFactory(role=Role.TRAINER, full_name="Jo Bloggs")
    monday = next_monday()
    SessionFactory(trainer=trainer, starts_at=datetime.combine(monday, time(9), tzinfo=LONDON),
                   ends_at=datetime.combine(monday, time(17), tzinfo=LONDON))
    response = admin_client.post("/admin/sessions/new", data={
        "course_id": CourseFactory().id, "venue_id": VenueFactory().id, "trainer_id": trainer.id,
        "date": monday.isoformat(), "start_time": "10:00", "end_time": "16:00",
        "repeat": "none", "occurrences": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="trainer_id-error"' in html and "Jo Bloggs is already teaching" in html
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == 1


def test_a_session_too_short_for_its_course_is_refused_at_the_end_time_field(app, admin_client):
    course = CourseFactory(title="Emergency First Aid at Work", duration_hours=6)
    form = admin_client.get("/admin/sessions/new").get_data(as_text=True)
    assert "Emergency First Aid at Work (1 day, 6 hours)" in form
    response = admin_client.post("/admin/sessions/new", data={
        "course_id": course.id, "venue_id": VenueFactory().id, "trainer_id": "",
        "date": next_monday().isoformat(), "start_time": "09:30", "end_time": "12:30",
        "repeat": "none", "occurrences": "1"})
    assert response.status_code == 422
    error = re.search(r'<p id="end_time-error"[^>]*>(.*?)</p>', response.get_data(as_text=True),
                      re.S)
    assert error and ("Emergency First Aid at Work needs 6 hours; this session gives 3 hours."
                      in error.group(1))
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == 0


def test_inline_capacity_edit_refuses_less_than_seats_taken(app, admin_client):
    session = SessionFactory(capacity=10)
    paid_booking(session.id, 4)
    response = admin_client.post(f"/admin/sessions/{session.id}/capacity",
                                 data={"capacity": "3"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and f'id="capacity-{session.id}"' in body
    assert "4 seats are already taken" in body
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).capacity == 10

    response = admin_client.post(f"/admin/sessions/{session.id}/capacity",
                                 data={"capacity": "6"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Saved: 6 seats." in body
    assert f'<span id="seats-{session.id}" hx-swap-oob="true"' in body
    assert 'data-seats-available="2"' in body


def test_capacity_form_works_without_javascript(app, admin_client):
    session = SessionFactory(capacity=10)
    response = admin_client.post(f"/admin/sessions/{session.id}/capacity", data={"capacity": "8"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/sessions/{session.id}"
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).capacity == 8


def test_inline_trainer_assignment_and_its_clash_message(app, admin_client):
    day = next_monday()
    trainer = UserFactory(role=Role.TRAINER, full_name="Jo Bloggs")
    SessionFactory(trainer=trainer, starts_at=datetime.combine(day, time(9), tzinfo=LONDON),
                   ends_at=datetime.combine(day, time(17), tzinfo=LONDON))
    clash = SessionFactory(trainer=None, course__duration_hours=2,
                           starts_at=datetime.combine(day, time(13), tzinfo=LONDON),
                           ends_at=datetime.combine(day, time(15), tzinfo=LONDON))
    free = SessionFactory(trainer=None,
                          starts_at=datetime.combine(day + timedelta(days=1), time(9), tzinfo=LONDON),
                          ends_at=datetime.combine(day + timedelta(days=1), time(15), tzinfo=LONDON))
    refused = admin_client.post(f"/admin/sessions/{clash.id}/trainer",
                                data={"trainer_id": trainer.id}, headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "Jo Bloggs is already teaching" in refused.get_data(as_text=True)
    accepted = admin_client.post(f"/admin/sessions/{free.id}/trainer",
                                 data={"trainer_id": trainer.id}, headers={"HX-Request": "true"})
    assert accepted.status_code == 200 and "Saved: Jo Bloggs." in accepted.get_data(as_text=True)


def test_moving_a_session_through_the_form(app, admin_client):
    session = SessionFactory()
    venue = VenueFactory(name="York Hall")
    day = next_monday(3)
    response = admin_client.post(f"/admin/sessions/{session.id}/move", data={
        "venue_id": venue.id, "date": day.isoformat(), "start_time": "09:00", "end_time": "15:00"})
    assert response.status_code == 303
    db.session.expire_all()
    moved = db.session.get(CourseSession, session.id)
    assert moved.venue_id == venue.id
    assert moved.starts_at.astimezone(LONDON).date() == day


def test_cancelling_needs_confirmation_then_does_everything_in_one_step(app, admin_client):
    session = SessionFactory()
    paid_booking(session.id, 2)
    held_booking(session.id, 1)
    confirm_page = admin_client.get(f"/admin/sessions/{session.id}/cancel").get_data(as_text=True)
    assert "1 confirmed booking and 1 unpaid hold" in confirm_page
    assert "£200" in confirm_page

    unconfirmed = admin_client.post(f"/admin/sessions/{session.id}/cancel", data={"reason": "x"})
    assert unconfirmed.status_code == 200
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).status == SessionStatus.SCHEDULED

    done = admin_client.post(f"/admin/sessions/{session.id}/cancel",
                             data={"confirmed": "yes", "reason": "Trainer unwell."})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).status == SessionStatus.CANCELLED
    page = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "2 bookings cancelled" in page and "£200 is being refunded" in page
