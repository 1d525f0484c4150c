"""The catalogue API: /api/v1/courses and /api/v1/sessions, as DESIGN.md's contract says."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import BookingStatus, SessionStatus, utcnow

from factories import BookingFactory, CourseFactory, SessionFactory, VenueFactory

YEAR = utcnow().year + 1
BASE_URL = "https://book.example.co.uk"


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL + "/"}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=timezone.utc)


def session_at(starts_at: datetime, **kwargs):
    return SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=6), **kwargs)


def item_ids(response) -> list[int]:
    return [item["id"] for item in response.get_json()["items"]]


def parse_utc(value: str) -> datetime:
    assert value.endswith("Z") or value.endswith("+00:00")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- courses ----------------------------------------------------------------------
def test_courses_lists_active_courses_with_the_contract_fields(client):
    CourseFactory(slug="first-aid-at-work", title="First Aid at Work", category="Workplace",
                  summary="Three days.", duration_days=3, duration_hours=18, price_pence=22500,
                  certificate_validity_months=36)
    CourseFactory(is_active=False)

    response = client.get("/api/v1/courses")

    assert response.status_code == 200
    assert response.get_json() == {"items": [{
        "slug": "first-aid-at-work", "title": "First Aid at Work", "category": "Workplace",
        "summary": "Three days.", "duration_days": 3, "duration_hours": 18,
        "price_pence": 22500, "certificate_validity_months": 36,
        "url": f"{BASE_URL}/courses/first-aid-at-work", "requalifies": None,
    }]}
    assert response.headers["Cache-Control"] == "public, max-age=30"


def test_urls_use_the_public_base_url_whatever_the_host_header(client):
    session = SessionFactory()
    forged = {"Host": "evil.example"}

    body = client.get(f"/api/v1/sessions/{session.id}", headers=forged).get_json()
    listed = client.get("/api/v1/sessions", headers=forged).get_json()["items"]
    course = client.get("/api/v1/courses", headers=forged).get_json()["items"][0]

    assert body["url"] == listed[0]["url"] == f"{BASE_URL}/sessions/{session.id}"
    assert course["url"] == f"{BASE_URL}/courses/{session.course.slug}"


class TestWithoutAConfiguredAddress:
    @pytest.fixture
    def app_config(self):
        return {}

    def test_urls_use_the_local_address_never_the_host_header(self, client, app):
        session = SessionFactory()

        body = client.get(f"/api/v1/sessions/{session.id}",
                          headers={"Host": "evil.example"}).get_json()

        assert body["url"].startswith("http://127.0.0.1:")
        assert body["url"] == f"{app.config['PUBLIC_BASE_URL']}/sessions/{session.id}"


# -- sessions: shape ---------------------------------------------------------------
def test_session_object_has_the_contract_fields(client):
    course = CourseFactory(slug="efaw", title="Emergency First Aid at Work", price_pence=9000)
    venue = VenueFactory(name="Hilton Hall", town="Leeds", postcode="LS1 4DL")
    session = SessionFactory(course=course, venue=venue, capacity=12,
                             starts_at=at(7, 1, 8, 30), ends_at=at(7, 1, 15, 30))
    BookingFactory(session=session, seats=2, status=BookingStatus.CONFIRMED)
    BookingFactory(session=session, seats=1, status=BookingStatus.HELD,
                   hold_expires_at=utcnow() + timedelta(minutes=10))

    item = client.get(f"/api/v1/sessions/{session.id}").get_json()

    assert item["id"] == session.id
    assert item["course"] == {"slug": "efaw", "title": "Emergency First Aid at Work"}
    assert parse_utc(item["starts_at"]) == at(7, 1, 8, 30)
    assert parse_utc(item["ends_at"]) == at(7, 1, 15, 30)
    assert item["venue"]["name"] == "Hilton Hall"
    assert item["venue"]["town"] == "Leeds"
    assert item["venue"]["postcode"] == "LS1 4DL"
    assert (item["capacity"], item["seats_available"]) == (12, 9)
    assert item["price_pence"] == 9000
    assert item["status"] == "scheduled"
    assert item["url"] == f"{BASE_URL}/sessions/{session.id}"


def test_list_and_detail_give_the_same_session_object(client):
    session = SessionFactory()

    listed = client.get("/api/v1/sessions").get_json()["items"][0]
    detail = client.get(f"/api/v1/sessions/{session.id}").get_json()

    assert listed == detail


def test_expired_holds_and_cancelled_bookings_do_not_take_seats(client):
    session = SessionFactory(capacity=10)
    BookingFactory(session=session, seats=4, status=BookingStatus.HELD,
                   hold_expires_at=utcnow() - timedelta(seconds=1))
    BookingFactory(session=session, seats=3, status=BookingStatus.CANCELLED)

    assert client.get(f"/api/v1/sessions/{session.id}").get_json()["seats_available"] == 10


# -- sessions: listing, filters and pages ------------------------------------------
def test_sessions_default_to_page_one_of_twenty_upcoming_scheduled_sessions(client):
    for day in range(1, 23):
        session_at(at(3, day, 9))
    session_at(utcnow() - timedelta(days=1))
    session_at(at(3, 25, 9), status=SessionStatus.CANCELLED)

    body = client.get("/api/v1/sessions").get_json()

    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 22)
    assert len(body["items"]) == 20
    starts = [parse_utc(i["starts_at"]) for i in body["items"]]
    assert starts == sorted(starts)


def test_sessions_pages_through_results(client):
    for day in range(1, 6):
        session_at(at(3, day, 9))

    body = client.get("/api/v1/sessions?page=3&per_page=2").get_json()

    assert (body["page"], body["per_page"], body["total"], len(body["items"])) == (3, 2, 5, 1)
    assert client.get("/api/v1/sessions?page=4&per_page=2").get_json()["items"] == []


def test_sessions_filter_by_course_and_town(client):
    faw = CourseFactory(slug="first-aid-at-work")
    wanted = SessionFactory(course=faw, venue=VenueFactory(town="Sheffield"))
    SessionFactory(course=faw, venue=VenueFactory(town="Leeds"))
    SessionFactory(venue=VenueFactory(town="Sheffield"))

    response = client.get("/api/v1/sessions?course=first-aid-at-work&town=Sheffield")

    assert item_ids(response) == [wanted.id]


def test_unknown_course_slug_is_an_empty_result_not_an_error(client):
    SessionFactory()

    response = client.get("/api/v1/sessions?course=no-such-course")

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": 1, "per_page": 20, "total": 0}


def test_from_and_to_are_inclusive_days_in_london_time(client):
    evening_before = session_at(at(6, 30, 22, 30))  # 23:30 on 30 June in London (BST)
    just_after_midnight = session_at(at(6, 30, 23, 30))  # 00:30 on 1 July in London
    last_evening = session_at(at(7, 1, 22, 30))  # 23:30 on 1 July in London
    next_day = session_at(at(7, 1, 23, 30))  # 00:30 on 2 July in London

    response = client.get(f"/api/v1/sessions?from={YEAR}-07-01&to={YEAR}-07-01")

    assert item_ids(response) == [just_after_midnight.id, last_evening.id]
    assert evening_before.id not in item_ids(response)
    assert next_day.id not in item_ids(response)


def test_month_filter_is_accepted_too(client):
    july = session_at(at(6, 30, 23, 30))  # 1 July in London
    session_at(at(6, 30, 9))

    assert item_ids(client.get(f"/api/v1/sessions?month={YEAR}-07")) == [july.id]


# -- sessions: bad input ------------------------------------------------------------
@pytest.mark.parametrize("query, field", [
    ("page=0", "page"),
    ("page=abc", "page"),
    ("page=-2", "page"),
    ("page=99999999999999999999", "page"),
    ("per_page=0", "per_page"),
    ("per_page=101", "per_page"),
    ("per_page=1000", "per_page"),
    ("per_page=ten", "per_page"),
    ("from=2026-13-45", "from"),
    ("from=01/07/2027", "from"),
    ("to=2027-02-30", "to"),
    ("month=2027-7", "month"),
    ("from=2027-07-02&to=2027-07-01", "to"),
    ("colour=red", "colour"),
    ("form=2027-07-01", "form"),
    ("page=1&page=2", "page"),
    ("town=Leeds%00", "town"),
])
def test_bad_query_values_are_a_422_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/sessions?{query}")

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert list(error["fields"]) == [field]
    assert "Cache-Control" not in response.headers


def test_every_bad_parameter_is_reported_at_once(client):
    response = client.get("/api/v1/sessions?page=0&per_page=1000&from=2026-13-45&colour=red")

    assert set(response.get_json()["error"]["fields"]) == {"page", "per_page", "from", "colour"}


# -- one session ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/sessions/424242", "/api/v1/sessions/abc",
                                  "/api/v1/sessions/-1", "/api/v1/sessions/99999999999999999999"])
def test_unknown_or_malformed_session_id_is_a_404_error_object(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_session_of_an_inactive_course_is_not_found(client):
    session = SessionFactory(course=CourseFactory(is_active=False))

    assert client.get(f"/api/v1/sessions/{session.id}").status_code == 404


def test_session_detail_may_be_cached_briefly(client):
    session = SessionFactory()

    response = client.get(f"/api/v1/sessions/{session.id}")

    assert response.headers["Cache-Control"] == "public, max-age=30"


# -- performance ----------------------------------------------------------------------
def test_listing_twenty_sessions_takes_a_constant_handful_of_queries(client):
    course, venue = CourseFactory(), VenueFactory()
    for day in range(20):
        session = session_at(at(9, 1, 9) + timedelta(days=day), course=course, venue=venue)
        BookingFactory(session=session, seats=2)
    client.get("/api/v1/sessions")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        body = client.get("/api/v1/sessions").get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert len(body["items"]) == 20
    assert all(item["seats_available"] == 10 for item in body["items"])
    assert len(statements) <= 4
