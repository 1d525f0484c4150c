"""What the admin services share: turning rule failures into InvalidInput with
every bad field named, and reading date filters typed in London time."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

from app.services.core.errors import InvalidInput
from app.validation import FieldError
from app.validation.admin import london_to_utc, validate_date, validate_whole_number

Rule = Callable[[object], object]

DEFAULT_PER_PAGE = 25
MAX_PAGE = 10_000


def checked(rule: Rule, value: object, field: str):
    """Apply one rule; a FieldError becomes InvalidInput naming `field`."""
    try:
        return rule(value)
    except FieldError as exc:
        raise InvalidInput(exc.message, fields={field: exc.message}) from None


def parse(data: Mapping, rules: Mapping[str, Rule], *, only: set[str] | None = None) -> dict:
    """Apply a rule per field, collecting every problem before raising InvalidInput."""
    values: dict = {}
    errors: dict[str, str] = {}
    for name, rule in rules.items():
        if only is not None and name not in only:
            continue
        try:
            values[name] = rule(data.get(name))
        except FieldError as exc:
            errors[name] = exc.message
    if errors:
        raise InvalidInput(fields=errors)
    return values


def page_number(value: object) -> int:
    """A page number from a query string; anything odd is page 1, not an error."""
    try:
        return validate_whole_number(value, field_label="page", minimum=1, maximum=MAX_PAGE,
                                     required=False) or 1
    except FieldError:
        return 1


def london_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC [start, end) of the London calendar days first..last (inclusive)."""
    lower = london_to_utc(first, time.min) if first else None
    upper = london_to_utc(last + timedelta(days=1), time.min) if last else None
    return lower, upper


def parse_date_range(data: Mapping, *, from_key: str = "from", to_key: str = "to") -> tuple[
        date | None, date | None, dict[str, str]]:
    """Optional from/to dates from a filter form; problems are returned, not raised
    (a bad filter is dropped with a message, the table still shows)."""
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
