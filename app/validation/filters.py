"""Filters and searches read from a query string, and written back into one.

A bad filter never fails the page: each reader returns the filter it could
read and, per parameter, a sentence saying what was wrong with the rest
(`problems`), so a table shows with a message beside the filter and the API can
refuse naming the fields. `query_params` turns a filter back into parameters
for links (pagination, shareable searches), leaving out what is empty or a
default, so that reading what it wrote gives the same filter.

Pure functions like the rest of app.validation; dates are Europe/London
calendar days.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.validation.admin import (
    london_to_utc, validate_date, validate_record_id, validate_whole_number,
)
from app.validation.errors import FieldError
from app.validation.text import clean_text

MAX_PAGE = 10_000

_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


# -- writing a filter back -----------------------------------------------------------------
def query_params(values: Mapping[str, object], *, defaults: Mapping[str, object] | None = None,
                 blank: Collection[str] = (), **overrides: object) -> dict[str, str]:
    """`values` (parameter -> value) with `overrides` applied, as query parameters:
    dates as ISO days, everything else as text; None, "" and defaults (page 1, and
    `defaults`) are left out, except that the names in `blank` are written empty
    (for a parameter whose absence means a default, like the timetable's "from")."""
    defaults = {"page": 1, **(defaults or {})}
    params: dict[str, str] = {}
    for name, value in {**values, **overrides}.items():
        if value is None or value == "":
            if name in blank:
                params[name] = ""
            continue
        text = value.isoformat() if isinstance(value, date) else str(value)
        if name in defaults and text == str(defaults[name]):
            continue
        params[name] = text
    return params


# -- pieces every filter reads ---------------------------------------------------------------
def page_number(value: object) -> int:
    """A page number from a query string; anything odd is page 1, not an error."""
    try:
        return validate_whole_number(value, field_label="page", minimum=1, maximum=MAX_PAGE,
                                     required=False) or 1
    except FieldError:
        return 1


def optional_id(value: object) -> int | None:
    """A record id chosen in a filter; anything odd means no filter."""
    try:
        return validate_record_id(value, field_label="item", required=False)
    except FieldError:
        return None


def search_text(params: Mapping, problems: dict[str, str], *, key: str = "q") -> str:
    """The free-text search, cleaned; a bad one is dropped with a problem."""
    try:
        return clean_text(params.get(key), field_label="search", max_length=100,
                          required=False) or ""
    except FieldError as exc:
        problems[key] = exc.message
        return ""


def choice(params: Mapping, key: str, choices: Mapping[str, str], problems: dict[str, str], *,
           message: str, default: str = "") -> str:
    """One of `choices` (its keys); anything else is dropped with `message`."""
    value = params.get(key) or default
    if value not in choices:
        problems[key] = message
        return default
    return value


def parse_date_range(data: Mapping, *, from_key: str = "from", to_key: str = "to") -> tuple[
        date | None, date | None, dict[str, str]]:
    """Optional from/to dates from a filter form (ISO or typed the UK way);
    problems are returned, not raised."""
    problems: dict[str, str] = {}
    first = last = None
    try:
        first = validate_date(data.get(from_key), field_label="from date", required=False)
    except FieldError as exc:
        problems[from_key] = exc.message
    try:
        last = validate_date(data.get(to_key), field_label="to date", required=False)
    except FieldError as exc:
        problems[to_key] = exc.message
    if first and last and last < first:
        problems[to_key] = "The 'to' date must be the same as the 'from' date or later."
        last = None
    return first, last, problems


def london_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None,
                                                                       datetime | None]:
    """UTC [start, end) of the London calendar days first..last (inclusive)."""
    lower = london_to_utc(first, time.min) if first else None
    upper = london_to_utc(last + timedelta(days=1), time.min) if last else None
    return lower, upper


def is_plain(value: str, max_length: int) -> bool:
    """Some text, not too long, without control characters (a slug or a town)."""
    return 0 < len(value) <= max_length and not _CONTROL_CHARS.search(value)


# -- the public session search (calendar page and GET /api/v1/sessions) -----------------------
SESSION_SEARCH_PARAMS = ("course", "town", "month", "from", "to", "page", "per_page")
SEARCH_PER_PAGE = 20


@dataclass(frozen=True)
class SessionSearch:
    """Validated search criteria; dates are London calendar dates."""

    course_slug: str | None = None
    town: str | None = None
    month: date | None = None  # first day of the month
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    page: int = 1
    per_page: int = SEARCH_PER_PAGE
    include_past: bool = False

    def query_params(self, **overrides) -> dict[str, str]:
        """The search as URL query parameters (for shareable links), defaults left out."""
        return query_params({
            "course": self.course_slug, "town": self.town,
            "month": f"{self.month:%Y-%m}" if self.month else None,
            "from": self.date_from, "to": self.date_to,
            "page": self.page, "per_page": self.per_page,
        }, defaults={"per_page": SEARCH_PER_PAGE}, **overrides)


def session_search_from_query(params: Mapping[str, str], *, max_per_page: int) -> tuple[
        SessionSearch, dict[str, str]]:
    """The search in `params` (SESSION_SEARCH_PARAMS; dates as ISO only, as the API
    documents), and a problem per bad parameter. An empty value means no filter."""
    problems: dict[str, str] = {}
    values: dict = {}

    def get(name: str) -> str:
        return (params.get(name) or "").strip()

    for name, key, what in (("course", "course_slug", "course"), ("town", "town", "town")):
        if raw := get(name):
            if is_plain(raw, 80):
                values[key] = raw
            else:
                problems[name] = f"Choose a {what} from the list."
    if raw := get("month"):
        if (month := _month(raw)) is None:
            problems["month"] = "Give the month as year and month, like 2027-03."
        else:
            values["month"] = month
    for name, key in (("from", "date_from"), ("to", "date_to")):
        if raw := get(name):
            if (day := _iso_day(raw)) is None:
                problems[name] = f"Give '{name}' as a real date, like 2027-03-31."
            else:
                values[key] = day
    date_from, date_to = values.get("date_from"), values.get("date_to")
    if date_from and date_to and date_from > date_to:
        problems["to"] = "'to' must be the same day as 'from' or later."
        del values["date_to"]
    for name, highest, message in (
            ("page", MAX_PAGE, f"Page must be a whole number from 1 to {MAX_PAGE:,}."),
            ("per_page", max_per_page,
             f"per_page must be a whole number from 1 to {max_per_page}.")):
        if raw := get(name):
            if (number := _whole_number(raw, 1, highest)) is None:
                problems[name] = message
            else:
                values[name] = number
    return SessionSearch(**values), problems


def _month(raw: str) -> date | None:
    if not _MONTH.fullmatch(raw):
        return None
    try:
        first = date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        return None
    return first if 2000 <= first.year <= 2999 else None


def _iso_day(raw: str) -> date | None:
    if not _DAY.fullmatch(raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2999 else None


def _whole_number(raw: str, lowest: int, highest: int) -> int | None:
    if not _WHOLE_NUMBER.fullmatch(raw):
        return None
    number = int(raw)
    return number if lowest <= number <= highest else None


# -- the admin activity feed ---------------------------------------------------------------
@dataclass(frozen=True)
class ActivityFilters:
    text: str = ""
    entity_type: str = ""
    page: int = 1

    def query_params(self, **overrides) -> dict[str, str]:
        return query_params({"q": self.text, "type": self.entity_type, "page": self.page},
                            **overrides)


def activity_filters_from_query(params: Mapping, *, entity_types: Mapping[str, str]) -> tuple[
        ActivityFilters, dict[str, str]]:
    problems: dict[str, str] = {}
    text = search_text(params, problems)
    entity_type = choice(params, "type", entity_types, problems,
                         message="Choose what to show from the list.")
    return ActivityFilters(text=text, entity_type=entity_type,
                           page=page_number(params.get("page"))), problems


# -- the admin timetable ---------------------------------------------------------------------
@dataclass(frozen=True)
class TimetableFilters:
    course_id: int | None = None
    venue_id: int | None = None
    trainer_id: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def query_params(self, **overrides) -> dict[str, str]:
        return query_params({
            "course": self.course_id, "venue": self.venue_id, "trainer": self.trainer_id,
            "status": self.status, "from": self.date_from, "to": self.date_to,
            "page": self.page,
        }, blank=("from",), **overrides)


def timetable_filters_from_query(params: Mapping, *, statuses: Mapping[str, str],
                                 today: date) -> tuple[TimetableFilters, dict[str, str]]:
    """Without a "from" parameter the timetable starts at `today`."""
    first, last, problems = parse_date_range(params)
    status = choice(params, "status", statuses, problems, message="Choose a status from the list.")
    if first is None and last is None and "from" not in params:
        first = today
    return TimetableFilters(course_id=optional_id(params.get("course")),
                            venue_id=optional_id(params.get("venue")),
                            trainer_id=optional_id(params.get("trainer")), status=status,
                            date_from=first, date_to=last,
                            page=page_number(params.get("page"))), problems


# -- the admin booking search ----------------------------------------------------------------
BOOKING_DATE_FIELDS = {"course": "Course date", "booked": "Date booked"}


@dataclass(frozen=True)
class BookingFilters:
    """Free text, status, session and a date range over the course date or the
    date booked (`date_field`)."""

    text: str = ""
    status: str = ""
    session_id: int | None = None
    date_field: str = "course"
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def query_params(self, **overrides) -> dict[str, str]:
        return query_params({
            "q": self.text, "status": self.status, "session": self.session_id,
            "dates": self.date_field, "from": self.date_from, "to": self.date_to,
            "page": self.page,
        }, defaults={"dates": "course"}, **overrides)


def booking_filters_from_query(params: Mapping, *, statuses: Mapping[str, str]) -> tuple[
        BookingFilters, dict[str, str]]:
    first, last, problems = parse_date_range(params)
    text = search_text(params, problems)
    status = choice(params, "status", statuses, problems, message="Choose a status from the list.")
    date_field = choice(params, "dates", BOOKING_DATE_FIELDS, problems,
                        message="Choose course date or date booked.", default="course")
    session_id = None
    try:
        session_id = validate_record_id(params.get("session"), field_label="session",
                                        required=False)
    except FieldError as exc:
        problems["session"] = exc.message
    return BookingFilters(text=text, status=status, session_id=session_id,
                          date_field=date_field, date_from=first, date_to=last,
                          page=page_number(params.get("page"))), problems
