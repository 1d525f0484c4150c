"""Filters read from a query string and written back (app.validation.filters):
what `query_params` writes reads back as the same filter."""
from __future__ import annotations

from datetime import date

import pytest

from app.validation.filters import (
    ActivityFilters, BookingFilters, SessionSearch, TimetableFilters, activity_filters_from_query,
    booking_filters_from_query, query_params, session_search_from_query,
    timetable_filters_from_query,
)

ENTITY_TYPES = {"": "Everything", "booking": "Bookings", "alert": "Alerts"}
STATUSES = {"": "Any status", "scheduled": "Scheduled", "cancelled": "Cancelled"}
BOOKING_STATUSES = {"": "Any status", "held": "Held", "confirmed": "Confirmed"}
TODAY = date(2027, 3, 10)


def test_query_params_leave_out_empty_values_and_defaults_and_write_dates_as_iso_days():
    params = query_params({"q": "", "town": None, "from": date(2027, 3, 1), "page": 1,
                           "per_page": 20, "course": 7}, defaults={"per_page": 20})
    assert params == {"from": "2027-03-01", "course": "7"}


def test_query_params_overrides_replace_and_none_removes():
    values = {"q": "smith", "page": 3}
    assert query_params(values, page=4) == {"q": "smith", "page": "4"}
    assert query_params(values, page=None) == {"q": "smith"}
    assert query_params(values, page=1) == {"q": "smith"}


@pytest.mark.parametrize("search", [
    SessionSearch(),
    SessionSearch(course_slug="first-aid-at-work", town="Leeds", month=date(2027, 3, 1),
                  date_from=date(2027, 3, 2), date_to=date(2027, 3, 30), page=2, per_page=50),
    SessionSearch(town="Hebden Bridge", per_page=20, page=1),
])
def test_a_session_search_reads_back_from_its_query_params(search):
    read, problems = session_search_from_query(search.query_params(), max_per_page=100)
    assert (read, problems) == (search, {})


@pytest.mark.parametrize("filters", [
    ActivityFilters(),
    ActivityFilters(text="booking.cancel", entity_type="booking", page=5),
])
def test_activity_filters_read_back_from_their_query_params(filters):
    read, problems = activity_filters_from_query(filters.query_params(),
                                                 entity_types=ENTITY_TYPES)
    assert (read, problems) == (filters, {})


@pytest.mark.parametrize("filters", [
    TimetableFilters(date_from=TODAY),
    TimetableFilters(course_id=3, venue_id=4, trainer_id=5, status="cancelled",
                     date_from=date(2027, 1, 1), date_to=date(2027, 2, 1), page=2),
    TimetableFilters(date_from=None, date_to=date(2027, 2, 1)),   # "from the beginning"
    TimetableFilters(date_from=None, page=3),
])
def test_timetable_filters_read_back_from_their_query_params(filters):
    read, problems = timetable_filters_from_query(filters.query_params(), statuses=STATUSES,
                                                  today=TODAY)
    assert (read, problems) == (filters, {})


def test_the_timetable_starts_today_only_when_no_start_date_was_given():
    assert timetable_filters_from_query({}, statuses=STATUSES, today=TODAY)[0].date_from == TODAY
    assert timetable_filters_from_query({"from": ""}, statuses=STATUSES,
                                        today=TODAY)[0].date_from is None


def test_a_bad_filter_is_dropped_with_a_message_naming_it():
    filters, problems = timetable_filters_from_query(
        {"status": "lost", "from": "31/02/2027", "course": "x"}, statuses=STATUSES, today=TODAY)
    assert filters == TimetableFilters()
    assert set(problems) == {"status", "from"}


@pytest.mark.parametrize("filters", [
    BookingFilters(),
    BookingFilters(text="Priya", status="confirmed", session_id=12, date_field="booked",
                   date_from=date(2027, 1, 1), date_to=date(2027, 1, 31), page=3),
    BookingFilters(date_field="course", date_to=date(2027, 2, 1)),
])
def test_booking_filters_read_back_from_their_query_params(filters):
    read, problems = booking_filters_from_query(filters.query_params(),
                                                statuses=BOOKING_STATUSES)
    assert (read, problems) == (filters, {})


def test_booking_filters_leave_the_course_date_and_page_one_out_of_links():
    assert BookingFilters(text="x", date_field="course", page=1).query_params() == {"q": "x"}
    assert BookingFilters(date_field="booked", page=2).query_params(page=None) == {
        "dates": "booked"}


def test_a_bad_booking_filter_is_dropped_with_a_message_naming_it():
    filters, problems = booking_filters_from_query(
        {"status": "lost", "dates": "paid", "session": "abc", "to": "2027-13-01"},
        statuses=BOOKING_STATUSES)
    assert filters == BookingFilters()
    assert set(problems) == {"status", "dates", "session", "to"}
