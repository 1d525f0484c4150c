"""Requalification courses take only attendees whose certificate is current or
expired at most REQUAL_GRACE_DAYS (28) days before the course starts, counted in UK
calendar days: the grace period spans the March clock change, and a course starting
just after midnight in London starts the day before in UTC."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import Attendee, Booking, utcnow
from factories import CourseFactory, SessionFactory

LONDON = ZoneInfo("Europe/London")


def april_first() -> date:
    """1 April next year: the clock change (last Sunday of March) is in the 28 days before."""
    return date(utcnow().year + 1, 4, 1)


@pytest.fixture
def full_course(app):
    return CourseFactory(slug="first-aid-at-work", title="First Aid at Work")


@pytest.fixture
def requal_session(full_course):
    course = CourseFactory(slug="first-aid-at-work-requalification",
                           title="First Aid at Work Requalification", category="Requalification",
                           requalifies=full_course)
    # 00:30 on 1 April in London (BST) is 23:30 on 31 March in UTC.
    starts = datetime.combine(april_first(), datetime.min.time(), LONDON).replace(minute=30)
    return SessionFactory(course=course, starts_at=starts, ends_at=starts + timedelta(hours=6))


def body(session_id, *expiry):
    return {"session_id": session_id, "accept_terms": True,
            "contact": {"name": "Priya Shah", "email": "priya@example.com",
                        "phone": "07700 900123", "postcode": "LS1 4AP"},
            "attendees": [{"name": f"Learner {chr(65 + i)}",
                           **({"certificate_expires_on": value} if value is not None else {})}
                          for i, value in enumerate(expiry)]}


def test_the_clock_change_falls_inside_the_grace_period_of_these_tests(requal_session):
    offsets = {datetime.combine(april_first() - timedelta(days=n), datetime.min.time(),
                                LONDON).utcoffset() for n in range(29)}
    assert offsets == {timedelta(0), timedelta(hours=1)}
    assert requal_session.starts_at.date() == april_first() - timedelta(days=1)  # in UTC


def test_a_certificate_expired_exactly_28_uk_days_before_the_start_may_requalify(
        client, requal_session):
    expired = april_first() - timedelta(days=28)
    response = client.post("/api/v1/bookings", json=body(requal_session.id, expired.isoformat()))
    assert response.status_code == 201, response.json
    booking = db.session.query(Booking).filter_by(reference=response.json["reference"]).one()
    assert booking.attendees[0].prior_certificate_expires_on == expired


def test_a_certificate_expired_29_uk_days_before_the_start_is_refused_with_the_full_course(
        client, requal_session):
    expired = april_first() - timedelta(days=29)
    response = client.post("/api/v1/bookings",
                           json=body(requal_session.id, (april_first() + timedelta(days=300))
                                     .isoformat(), expired.isoformat()))
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert list(fields) == ["attendees.1.certificate_expires_on"]
    assert "Learner B" in fields["attendees.1.certificate_expires_on"]
    assert "/courses/first-aid-at-work" in fields["attendees.1.certificate_expires_on"]
    assert db.session.query(Booking).count() == 0


class TestShorterGrace:
    @pytest.fixture
    def app_config(self):
        return {"REQUAL_GRACE_DAYS": 7}

    def test_eight_days_expired_is_too_many_with_a_seven_day_grace(self, client, requal_session):
        expired = april_first() - timedelta(days=8)
        response = client.post("/api/v1/bookings",
                               json=body(requal_session.id, expired.isoformat()))
        assert response.status_code == 422
        assert "more than 7 days" in \
            response.json["error"]["fields"]["attendees.0.certificate_expires_on"]


def test_a_requalification_needs_each_attendees_expiry_date(client, requal_session):
    response = client.post("/api/v1/bookings", json=body(requal_session.id, None))
    assert response.status_code == 422
    assert "attendees.0.certificate_expires_on" in response.json["error"]["fields"]


def test_a_malformed_expiry_date_is_a_field_error(client, requal_session):
    response = client.post("/api/v1/bookings", json=body(requal_session.id, "31/02/2026"))
    assert response.status_code == 422
    assert "attendees.0.certificate_expires_on" in response.json["error"]["fields"]


def test_other_courses_neither_ask_nor_store_an_expiry_date(client, app):
    course_session = SessionFactory()
    form = client.get(f"/sessions/{course_session.id}/book").text
    assert "certificate_expires_on" not in form
    response = client.post("/api/v1/bookings", json=body(course_session.id, "2001-01-01"))
    assert response.status_code == 201
    assert db.session.query(Attendee).one().prior_certificate_expires_on is None


def test_the_booking_form_asks_and_refuses_at_the_field_linking_the_full_course(
        client, requal_session):
    path = f"/sessions/{requal_session.id}/book"
    assert 'name="attendees-0-certificate_expires_on"' in client.get(path).text
    expired = april_first() - timedelta(days=29)
    response = client.post(path, data={
        "action": "book", "seats": "1", "accept_terms": "y",
        "contact-name": "Priya Shah", "contact-email": "priya@example.com",
        "contact-phone": "07700 900123", "contact-postcode": "LS1 4AP",
        "attendees-0-name": "Sam Patel",
        "attendees-0-certificate_expires_on": expired.isoformat()})
    page = response.text
    assert response.status_code == 422
    assert 'id="attendees-0-certificate_expires_on-error"' in page
    assert "Sam Patel&#39;s certificate expired" in page or "Sam Patel's certificate expired" in page
    assert 'href="/courses/first-aid-at-work"' in page
