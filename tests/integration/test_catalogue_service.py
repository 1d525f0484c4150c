"""The catalogue service: courses, session search, filters in London time, seats available."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import BookingStatus, SessionStatus, utcnow
from app.services.catalogue import listing
from app.services.catalogue.listing import SessionSearch
from app.services.core.errors import InvalidInput, NotFound

from factories import BookingFactory, CourseFactory, SessionFactory, VenueFactory

YEAR = utcnow().year + 1  # calendar dates that are always in the future


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=timezone.utc)


def session_at(starts_at: datetime, **kwargs):
    return SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=6), **kwargs)


def ids(page) -> list[int]:
    return [s.id for s in page.items]


@contextmanager
def count_statements():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# -- courses --------------------------------------------------------------------
def test_list_courses_shows_only_active_courses_that_are_not_deleted(app):
    shown = CourseFactory(title="First Aid at Work")
    CourseFactory(is_active=False)
    CourseFactory(deleted_at=utcnow())

    assert [c.slug for c in listing.list_courses()] == [shown.slug]


def test_get_course_returns_the_course_by_slug(app):
    CourseFactory(slug="first-aid-at-work", title="First Aid at Work", price_pence=22500)

    course = listing.get_course("first-aid-at-work")

    assert (course.title, course.price_pence) == ("First Aid at Work", 22500)


@pytest.mark.parametrize("change", ["inactive", "deleted"])
def test_get_course_hides_inactive_and_deleted_courses(app, change):
    if change == "inactive":
        CourseFactory(slug="old-course", is_active=False)
    else:
        CourseFactory(slug="old-course", deleted_at=utcnow())

    with pytest.raises(NotFound):
        listing.get_course("old-course")


@pytest.mark.parametrize("slug", ["no-such-course", "bad\x00slug", "x" * 200])
def test_get_course_raises_not_found_for_unknown_or_malformed_slugs(app, slug):
    with pytest.raises(NotFound):
        listing.get_course(slug)


# -- seats available --------------------------------------------------------------
def test_seats_available_counts_confirmed_bookings_and_unexpired_holds_only(app):
    now = utcnow()
    session = SessionFactory(capacity=12)
    BookingFactory(session=session, seats=2, status=BookingStatus.CONFIRMED)
    BookingFactory(session=session, seats=3, status=BookingStatus.HELD,
                   hold_expires_at=now + timedelta(minutes=20))
    BookingFactory(session=session, seats=4, status=BookingStatus.HELD,
                   hold_expires_at=now - timedelta(minutes=1))
    BookingFactory(session=session, seats=1, status=BookingStatus.CANCELLED)
    BookingFactory(session=session, seats=1, status=BookingStatus.REFUNDED)
    BookingFactory(session=session, seats=1, status=BookingStatus.EXPIRED)

    assert listing.get_session(session.id, now=now).seats_available == 12 - 2 - 3
    assert listing.search_sessions(SessionSearch(), now=now).items[0].seats_available == 7


def test_seats_available_never_goes_below_zero(app):
    session = SessionFactory(capacity=4)
    BookingFactory(session=session, seats=4)
    session.capacity = 2  # an administrator shrank the room after booking
    db.session.commit()

    view = listing.get_session(session.id)

    assert view.seats_available == 0
    assert view.is_fully_booked and not view.is_bookable


def test_session_price_uses_the_session_override_when_set(app):
    course = CourseFactory(price_pence=10000)
    discounted = SessionFactory(course=course, price_pence_override=8500)
    normal = SessionFactory(course=course)

    assert listing.get_session(discounted.id).price_pence == 8500
    assert listing.get_session(normal.id).price_pence == 10000


# -- one session --------------------------------------------------------------------
@pytest.mark.parametrize("session_id", [0, 424242, 2**31, 10**30])
def test_get_session_raises_not_found_for_unknown_ids(app, session_id):
    with pytest.raises(NotFound):
        listing.get_session(session_id)


@pytest.mark.parametrize("change", ["inactive", "deleted"])
def test_get_session_raises_not_found_for_sessions_of_inactive_or_deleted_courses(app, change):
    session = SessionFactory()
    if change == "inactive":
        session.course.is_active = False
    else:
        session.course.deleted_at = utcnow()
    db.session.commit()

    with pytest.raises(NotFound):
        listing.get_session(session.id)


def test_get_session_returns_plain_data_with_venue_and_trainer_first_name(app):
    venue = VenueFactory(name="Hilton Hall", address_line1="2 Wellington St", town="Leeds",
                         postcode="LS1 4DL")
    session = SessionFactory(venue=venue, trainer__full_name="Rebecca Jones")

    view = listing.get_session(session.id)

    assert view.venue_name == "Hilton Hall"
    assert view.venue_address == "2 Wellington St, Leeds, LS1 4DL"
    assert view.trainer_first_name == "Rebecca"
    assert view.status == "scheduled"
    assert view.is_bookable


def test_cancelled_and_started_sessions_are_shown_but_not_bookable(app):
    cancelled = SessionFactory(status=SessionStatus.CANCELLED)
    started = SessionFactory(starts_at=utcnow() - timedelta(hours=1),
                             ends_at=utcnow() + timedelta(hours=5))

    assert not listing.get_session(cancelled.id).is_bookable
    assert listing.get_session(started.id).has_started
    assert not listing.get_session(started.id).is_bookable


# -- search -------------------------------------------------------------------------
def test_search_lists_only_upcoming_scheduled_sessions_soonest_first(app):
    later = session_at(at(3, 10, 9))
    sooner = session_at(at(3, 3, 9))
    session_at(utcnow() - timedelta(days=1))
    session_at(at(3, 5, 9), status=SessionStatus.CANCELLED)
    session_at(at(3, 6, 9), course=CourseFactory(is_active=False))

    assert ids(listing.search_sessions(SessionSearch())) == [sooner.id, later.id]


def test_search_can_include_past_sessions_when_asked(app):
    past = session_at(utcnow() - timedelta(days=3))

    assert ids(listing.search_sessions(SessionSearch(include_past=True))) == [past.id]


def test_search_filters_by_course_slug_and_unknown_slugs_match_nothing(app):
    faw = SessionFactory(course=CourseFactory(slug="first-aid-at-work"))
    SessionFactory(course=CourseFactory(slug="paediatric-first-aid"))

    found = listing.search_sessions(SessionSearch(course_slug="first-aid-at-work"))

    assert ids(found) == [faw.id]
    assert listing.search_sessions(SessionSearch(course_slug="no-such-course")).total == 0


def test_search_filters_by_town_whatever_its_case(app):
    leeds = SessionFactory(venue=VenueFactory(town="Leeds"))
    SessionFactory(venue=VenueFactory(town="Sheffield"))

    assert ids(listing.search_sessions(SessionSearch(town="Leeds"))) == [leeds.id]
    assert ids(listing.search_sessions(SessionSearch(town="leeds"))) == [leeds.id]
    assert listing.search_sessions(SessionSearch(town="Atlantis")).total == 0


def test_month_filter_uses_london_dates_in_summer_time(app):
    late_june_utc = session_at(at(6, 30, 23, 30))  # 00:30 on 1 July in London (BST)
    june = session_at(at(6, 30, 8))

    june_page = listing.search_sessions(SessionSearch(month=date(YEAR, 6, 1)))
    july_page = listing.search_sessions(SessionSearch(month=date(YEAR, 7, 1)))

    assert ids(june_page) == [june.id]
    assert ids(july_page) == [late_june_utc.id]


def test_from_and_to_are_inclusive_london_days_in_summer_time(app):
    before = session_at(at(6, 30, 22, 59))  # 23:59 on 30 June in London
    first_minute = session_at(at(6, 30, 23, 0))  # 00:00 on 1 July in London
    last_evening = session_at(at(7, 1, 22, 30))  # 23:30 on 1 July in London
    after = session_at(at(7, 1, 23, 0))  # 00:00 on 2 July in London

    page = listing.search_sessions(
        SessionSearch(date_from=date(YEAR, 7, 1), date_to=date(YEAR, 7, 1)))

    assert ids(page) == [first_minute.id, last_evening.id]
    assert before.id not in ids(page) and after.id not in ids(page)


def test_to_includes_the_whole_day_in_winter_time(app):
    late = session_at(at(1, 15, 23, 30))  # GMT: still 15 January in London
    next_day = session_at(at(1, 16, 0, 0))

    page = listing.search_sessions(SessionSearch(date_to=date(YEAR, 1, 15)))

    assert late.id in ids(page)
    assert next_day.id not in ids(page)


def test_pagination_reports_total_page_and_per_page(app):
    for day in range(1, 8):
        session_at(at(4, day, 9))

    page = listing.search_sessions(SessionSearch(page=2, per_page=3))

    assert (page.total, page.page, page.per_page, page.pages) == (7, 2, 3, 3)
    assert len(page.items) == 3
    assert len(listing.search_sessions(SessionSearch(page=3, per_page=3)).items) == 1
    assert listing.search_sessions(SessionSearch(page=9, per_page=3)).items == []


def _add_booked_sessions(count: int) -> None:
    course = CourseFactory()
    for _ in range(count):
        session = SessionFactory(course=course, venue=VenueFactory())
        BookingFactory(session=session)


def _statements_to_list_a_page() -> tuple[int, int]:
    db.session.expire_all()
    listing.search_sessions(SessionSearch(per_page=1))  # warm the connection
    with count_statements() as statements:
        page = listing.search_sessions(SessionSearch(per_page=20))
        [(s.seats_available, s.venue_name, s.course_title) for s in page.items]
    return len(page.items), len(statements)


def test_listing_twenty_sessions_takes_the_same_few_queries_as_listing_two(app):
    _add_booked_sessions(2)
    listed_two, statements_for_two = _statements_to_list_a_page()
    _add_booked_sessions(18)
    listed_twenty, statements_for_twenty = _statements_to_list_a_page()

    assert (listed_two, listed_twenty) == (2, 20)
    assert statements_for_twenty == statements_for_two <= 4


# -- parsing search parameters -------------------------------------------------------
def test_parse_session_search_reads_every_parameter():
    search = listing.parse_session_search({
        "course": "first-aid-at-work", "town": "Leeds", "month": "2027-07",
        "from": "2027-07-01", "to": "2027-07-31", "page": "2", "per_page": "50",
    })

    assert search == SessionSearch(course_slug="first-aid-at-work", town="Leeds",
                                   month=date(2027, 7, 1), date_from=date(2027, 7, 1),
                                   date_to=date(2027, 7, 31), page=2, per_page=50)


def test_parse_session_search_treats_empty_values_as_absent():
    search = listing.parse_session_search({"course": "", "town": " ", "page": ""})

    assert search == SessionSearch()


@pytest.mark.parametrize("params, field", [
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "99999999999999999999"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "-1"}, "per_page"),
    ({"per_page": "101"}, "per_page"),
    ({"per_page": "1000"}, "per_page"),
    ({"from": "2026-13-45"}, "from"),
    ({"from": "20270101"}, "from"),
    ({"to": "2027-02-30"}, "to"),
    ({"to": "tomorrow"}, "to"),
    ({"month": "2027-13"}, "month"),
    ({"month": "2027-7"}, "month"),
    ({"month": "July"}, "month"),
    ({"from": "2027-07-02", "to": "2027-07-01"}, "to"),
    ({"town": "Leeds\x00"}, "town"),
    ({"course": "a" * 81}, "course"),
])
def test_parse_session_search_refuses_bad_values_naming_the_field(params, field):
    with pytest.raises(InvalidInput) as caught:
        listing.parse_session_search(params)

    assert list(caught.value.fields) == [field]
    assert caught.value.fields[field]


def test_an_unknown_course_slug_is_a_filter_not_a_validation_error():
    search = listing.parse_session_search({"course": "no-such-course"})

    assert search.course_slug == "no-such-course"


def test_query_params_keep_the_filters_and_leave_out_defaults():
    search = SessionSearch(course_slug="faw", town="York", month=date(2027, 3, 1), page=2)

    assert search.query_params(page=3) == {"course": "faw", "town": "York", "month": "2027-03",
                                           "page": "3"}
    assert search.query_params(page=1) == {"course": "faw", "town": "York", "month": "2027-03"}


# -- the calendar page ------------------------------------------------------------------
def test_calendar_drops_bad_values_with_a_message_and_still_lists_sessions(app):
    session = SessionFactory()

    calendar = listing.session_calendar({"month": "2027-13", "page": "abc", "per_page": "-1"})

    assert set(calendar.problems) == {"month", "page", "per_page"}
    assert ids(calendar.results) == [session.id]


def test_calendar_says_so_when_the_course_is_unknown(app):
    SessionFactory()

    calendar = listing.session_calendar({"course": "no-such-course"})

    assert calendar.results.total == 0
    assert calendar.notice


def test_calendar_offers_the_next_twelve_months_and_every_town(app):
    VenueFactory(town="York")
    VenueFactory(town="Leeds")
    now = datetime(2027, 3, 15, 12, tzinfo=timezone.utc)

    calendar = listing.session_calendar({}, now=now)

    assert calendar.months[0] == date(2027, 3, 1)
    assert calendar.months[-1] == date(2028, 2, 1)
    assert calendar.towns == ["Leeds", "York"]
