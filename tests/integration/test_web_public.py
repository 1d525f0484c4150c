"""Public pages: home, courses, the session calendar (with HTMX) and session pages."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import BookingStatus, SessionStatus, utcnow

from factories import BookingFactory, CourseFactory, SessionFactory, UserFactory, VenueFactory

YEAR = utcnow().year + 1
HSE_APPROVED = re.compile(r"hse[\s-]*approved", re.IGNORECASE)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=timezone.utc)


def html(response) -> str:
    return response.get_data(as_text=True)


def seat_span(session_id: int, seats: int) -> str:
    return f'id="seats-{session_id}" class="seats" data-seats-available="{seats}"'


# -- layout -------------------------------------------------------------------------
def test_layout_is_british_english_accessible_and_uses_only_vendored_htmx(client):
    page = html(client.get("/"))

    assert '<html lang="en-GB">' in page
    assert 'class="skip-link" href="#main"' in page
    assert '<main id="main"' in page
    assert 'src="/static/vendor/htmx-2.0.11.min.js"' in page
    assert 'href="/static/css/site.css"' in page
    assert not re.search(r"<script[^>]+src=\"https?://", page)
    assert "valid for 3 years" in page
    assert "Yorkshire" in page


def test_pages_that_only_read_give_visitors_no_csrf_token_and_no_cookie(client):
    """A token made for nothing costs a signed session cookie on every page view; the
    booking form, whose fields htmx posts, still gets one."""
    course_session = SessionFactory(capacity=12)
    for url in ("/", "/courses", f"/courses/{course_session.course.slug}", "/sessions",
                f"/sessions/{course_session.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "X-CSRFToken" not in response.get_data(as_text=True), url
        assert "Set-Cookie" not in response.headers, url
    form = client.get(f"/sessions/{course_session.id}/book")
    assert "hx-headers='{\"X-CSRFToken\": \"" in form.get_data(as_text=True)
    assert "Set-Cookie" in form.headers


class TestManageBookingPage:
    @pytest.fixture
    def app_config(self):
        return {"PROVIDER_PHONE": "0113 496 0000", "PROVIDER_EMAIL": "office@example.co.uk"}

    def test_the_headers_manage_booking_link_leads_to_find_my_booking(self, client):
        link = re.search(r'<nav class="site-nav".*?<a href="([^"]+)"[^>]*>Manage booking</a>',
                         html(client.get("/")), re.S)
        assert link and link.group(1) == "/bookings/find"
        page = html(client.get(link.group(1)))
        assert 'name="reference"' in page and 'name="email"' in page
        assert re.search(r'href="/bookings/find" aria-current="page"', page)
        assert 'href="/manage-booking#lost-link"' in page

    def test_the_help_page_explains_the_emailed_link_and_leads_to_find_my_booking(self, client):
        response = client.get("/manage-booking")
        page = html(response)
        assert response.status_code == 200
        assert "Manage your booking</strong> button" in page and "booking reference" in page
        assert 'href="tel:01134960000"' in page and 'href="mailto:office@example.co.uk"' in page
        assert 'href="/bookings/find"' in page
        assert re.search(r'href="/bookings/find" aria-current="page"', page)


def test_no_page_calls_the_provider_hse_approved(client):
    course = CourseFactory()
    session = SessionFactory(course=course)

    for url in ["/", "/courses", f"/courses/{course.slug}", "/sessions",
                f"/sessions/{session.id}", "/sessions/999999", "/manage-booking"]:
        assert not HSE_APPROVED.search(html(client.get(url))), url


# -- home and courses -----------------------------------------------------------------
def test_home_shows_courses_and_the_next_sessions_with_seat_counts(client):
    session = SessionFactory(course__title="Paediatric First Aid", capacity=12)
    BookingFactory(session=session, seats=2)

    page = html(client.get("/"))

    assert "Paediatric First Aid" in page
    assert f'href="/sessions/{session.id}"' in page
    assert seat_span(session.id, 10) in page


def test_courses_page_lists_active_courses_with_price_and_duration(client):
    CourseFactory(title="First Aid at Work", price_pence=22500, duration_days=3,
                  duration_hours=18)
    CourseFactory(title="Retired course", is_active=False)

    page = html(client.get("/courses"))

    assert "First Aid at Work" in page
    assert "£225" in page and "3 days (18 hours)" in page
    assert "Retired course" not in page


def test_course_page_renders_the_sanitised_description_and_its_upcoming_dates(client):
    course = CourseFactory(slug="first-aid-at-work", title="First Aid at Work",
                           description_html="<p>Covers <strong>CPR</strong>.</p>",
                           certificate_validity_months=36)
    session = SessionFactory(course=course)

    page = html(client.get("/courses/first-aid-at-work"))

    assert "<p>Covers <strong>CPR</strong>.</p>" in page
    assert "Valid for 3 years" in page
    assert seat_span(session.id, 12) in page


@pytest.mark.parametrize("state", ["unknown", "inactive"])
def test_course_page_is_a_404_page_for_unknown_or_inactive_courses(client, state):
    if state == "inactive":
        CourseFactory(slug="old", is_active=False)

    response = client.get("/courses/old")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in html(response)


def test_titles_are_escaped_on_every_page(client):
    course = CourseFactory(title="<script>alert('x')</script> First Aid")
    session = SessionFactory(course=course)

    for url in ["/", "/courses", f"/courses/{course.slug}", "/sessions",
                f"/sessions/{session.id}"]:
        page = html(client.get(url))
        assert "<script>alert(" not in page, url
        assert "&lt;script&gt;alert(" in page, url


# -- the calendar ----------------------------------------------------------------------
def test_calendar_filter_form_uses_htmx_and_works_without_javascript(client):
    page = html(client.get("/sessions"))
    form = re.search(r"<form[^>]*>", page).group(0)

    assert 'method="get"' in form and 'action="/sessions"' in form
    assert 'hx-get="/sessions"' in form
    assert 'hx-target="#session-results"' in form
    assert 'hx-push-url="true"' in form
    assert 'hx-trigger="change"' in form
    assert '<button type="submit"' in page
    assert 'id="session-results"' in page


def test_calendar_filters_by_course_town_and_london_month(client):
    faw = CourseFactory(slug="first-aid-at-work")
    wanted = SessionFactory(course=faw, venue=VenueFactory(town="York"),
                            starts_at=at(6, 30, 23, 30), ends_at=at(7, 1, 6))  # 1 July in London
    SessionFactory(course=faw, venue=VenueFactory(town="York"), starts_at=at(6, 30, 9),
                   ends_at=at(6, 30, 16))
    SessionFactory(course=faw, venue=VenueFactory(town="Leeds"), starts_at=at(7, 2, 9),
                   ends_at=at(7, 2, 16))
    SessionFactory(venue=VenueFactory(town="York"), starts_at=at(7, 3, 9), ends_at=at(7, 3, 16))

    page = html(client.get(f"/sessions?course=first-aid-at-work&town=York&month={YEAR}-07"))

    assert re.findall(r'id="seats-(\d+)"', page) == [str(wanted.id)]
    assert "1 date found" in page


def heading_levels(page: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", page)]


@pytest.mark.parametrize("path", ["/", "/sessions", "/courses", "/course", "/session"])
def test_headings_never_skip_a_level_going_down(client, path):
    """Screen reader users move by heading: h1 then h3 reads as a missing section."""
    session = SessionFactory(course__slug="first-aid-at-work")
    path = {"/course": "/courses/first-aid-at-work",
            "/session": f"/sessions/{session.id}"}.get(path, path)

    levels = heading_levels(html(client.get(path)))

    assert levels[0] == 1
    jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not jumps, f"{path}: heading levels {levels}"


def test_calendar_cards_are_h2_under_the_pages_h1(client):
    session = SessionFactory()

    page = html(client.get("/sessions"))
    fragment = html(client.get("/sessions", headers={"HX-Request": "true"}))

    for markup in (page, fragment):
        card = re.search(r'<article class="card session-card">.*?</article>', markup, re.S)
        assert re.search(rf'<h2 class="card__title"><a href="/sessions/{session.id}">',
                         card.group(0))


def test_calendar_card_of_a_multi_day_session_shows_its_start_time(client):
    session = SessionFactory(starts_at=at(7, 1, 8, 30), ends_at=at(7, 2, 15, 30))

    page = html(client.get("/sessions"))

    card = re.search(r'<p class="session-card__when">(.*?)</p>', page, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", card).split())
    assert "9:30am" in text  # BST, the first day's start
    assert re.search(r"1 July.*9:30am.*to .*2 July", text), text
    assert f'href="/sessions/{session.id}"' in page


def test_htmx_request_gets_only_the_results_fragment(client):
    session = SessionFactory()

    response = client.get("/sessions", headers={"HX-Request": "true"})
    fragment = html(response)

    assert response.status_code == 200
    assert "<html" not in fragment and "<form" not in fragment
    assert seat_span(session.id, 12) in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_full_page_also_varies_on_hx_request(client):
    response = client.get("/sessions")

    assert "<html" in html(response)
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_history_restore_gets_the_full_page(client):
    response = client.get("/sessions", headers={"HX-Request": "true",
                                                "HX-History-Restore-Request": "true"})

    assert "<html" in html(response)


def test_pagination_links_keep_the_filters_and_use_htmx(client):
    venue = VenueFactory(town="Leeds")
    course = CourseFactory(slug="efaw")
    for day in range(1, 6):
        SessionFactory(course=course, venue=venue, starts_at=at(5, day, 9), ends_at=at(5, day, 15))

    page = html(client.get("/sessions?course=efaw&town=Leeds&per_page=2"))
    next_link = re.search(r'<a[^>]*rel="next"[^>]*>', page).group(0)
    href = re.search(r'href="([^"]+)"', next_link).group(1).replace("&amp;", "&")

    assert href == "/sessions?course=efaw&town=Leeds&page=2&per_page=2"
    assert 'hx-target="#session-results"' in next_link and 'hx-push-url="true"' in next_link
    assert "page 1 of 3" in page
    assert "page 2 of 3" in html(client.get(href))


@pytest.mark.parametrize("query, message", [
    ("month=2026-13", "Give the month as year and month"),
    ("month=July", "Give the month as year and month"),
    ("page=abc", "Page must be a whole number"),
    ("page=0", "Page must be a whole number"),
    ("per_page=-1", "per_page must be a whole number"),
    ("per_page=1000", "per_page must be a whole number"),
    ("course=no-such-course", "We don&#39;t currently run a course with that name"),
])
def test_bad_filter_values_show_the_page_with_a_message_not_an_error(client, query, message):
    SessionFactory()

    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(f"/sessions?{query}", headers=headers)
        assert response.status_code == 200
        assert message in html(response)


def test_unknown_course_in_the_filter_yields_no_results(client):
    SessionFactory()

    page = html(client.get("/sessions?course=no-such-course"))

    assert "No dates match" in page
    assert 'id="seats-' not in page


def test_calendar_lists_twenty_sessions_without_a_query_per_session(client, app):
    from sqlalchemy import event

    course, venue = CourseFactory(), VenueFactory()
    for day in range(20):
        session = SessionFactory(course=course, venue=venue,
                                 starts_at=at(8, 1, 9) + timedelta(days=day),
                                 ends_at=at(8, 1, 15) + timedelta(days=day))
        BookingFactory(session=session)
    client.get("/sessions")
    statements = []

    def record(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = html(client.get("/sessions"))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert len(re.findall(r'id="seats-\d+"', page)) == 20
    assert len(statements) <= 8


# -- the session page -------------------------------------------------------------------
def test_session_page_shows_london_time_venue_trainer_price_and_seats(client):
    venue = VenueFactory(name="Hilton Hall", address_line1="2 Wellington St", town="Leeds",
                         postcode="LS1 4DL")
    session = SessionFactory(venue=venue, trainer=UserFactory(full_name="Rebecca Jones"),
                             starts_at=at(7, 1, 8, 30), ends_at=at(7, 1, 15, 30),
                             capacity=10, course__price_pence=9950)
    BookingFactory(session=session, seats=3, status=BookingStatus.CONFIRMED)

    page = html(client.get(f"/sessions/{session.id}"))

    assert "9:30am to 4:30pm" in page  # BST
    assert "1 July" in page
    assert "Hilton Hall" in page and "2 Wellington St, Leeds, LS1 4DL" in page
    assert "Rebecca" in page and "Jones" not in page
    assert "£99.50" in page
    assert seat_span(session.id, 7) in page
    assert f'href="/sessions/{session.id}/book"' in page
    assert "Book now" in page


def test_fully_booked_session_says_so_instead_of_offering_to_book(client):
    session = SessionFactory(capacity=2)
    BookingFactory(session=session, seats=2)

    page = html(client.get(f"/sessions/{session.id}"))

    assert seat_span(session.id, 0) in page
    assert "Fully booked" in page
    assert "Book now" not in page and f"/sessions/{session.id}/book" not in page


def test_cancelled_session_page_says_it_is_cancelled_and_cannot_be_booked(client):
    session = SessionFactory(status=SessionStatus.CANCELLED)

    page = html(client.get(f"/sessions/{session.id}"))

    assert "has been cancelled" in page
    assert "Book now" not in page


@pytest.mark.parametrize("path", ["/sessions/424242", "/sessions/99999999999999999999",
                                  "/sessions/abc"])
def test_unknown_session_is_a_404_page(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "Page not found" in html(response)


def test_session_of_a_deleted_course_is_a_404_page(client):
    session = SessionFactory()
    session.course.deleted_at = utcnow()
    db.session.commit()

    assert client.get(f"/sessions/{session.id}").status_code == 404
