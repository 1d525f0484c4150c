"""Rules for what staff type into the admin pages: money in pounds, whole
numbers, slugs, London dates and clock times.

Like the rest of app.validation these are pure functions: each returns the
normalised value or raises FieldError with a sentence fit to show next to the
field. The admin forms (app.web.admin.forms) and the admin services both call
them, so there is one set of rules.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from app.validation.errors import FieldError
from app.validation.text import clean_text

LONDON = ZoneInfo("Europe/London")

# --- money -----------------------------------------------------------------------

MAX_PRICE_PENCE = 1_000_000  # £10,000: far above any course; catches a slipped finger
_POUNDS = re.compile(r"(?P<pounds>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<pence>[0-9]{1,2}))?")


def validate_pounds(value: object, *, field_label: str = "price", required: bool = True,
                    allow_zero: bool = True, maximum_pence: int = MAX_PRICE_PENCE) -> int | None:
    """An amount typed in pounds ("95", "95.5", "£1,200.00") as whole pence.

    Negative amounts, more than two decimal places and anything that is not a
    plain number are refused rather than rounded.
    """
    label = field_label[:1].upper() + field_label[1:]
    text = clean_text(value, field_label=field_label, max_length=20, required=False)
    if text is None:
        if required:
            raise FieldError(f"Enter the {field_label} in pounds, like 95 or 95.50.")
        return None
    text = text.replace(" ", "").removeprefix("£")
    match = _POUNDS.fullmatch(text) if text.isascii() else None
    if match is None:
        raise FieldError(f"Enter the {field_label} in pounds, like 95 or 95.50.")
    pounds = int(match.group("pounds").replace(",", ""))
    pence = int((match.group("pence") or "0").ljust(2, "0"))
    amount = pounds * 100 + pence
    if amount == 0 and not allow_zero:
        raise FieldError(f"{label} must be more than £0.")
    if amount > maximum_pence:
        raise FieldError(f"{label} must be £{maximum_pence // 100:,} or less.")
    return amount


# --- numbers -----------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,9}")


def validate_whole_number(value: object, *, field_label: str, minimum: int, maximum: int,
                          required: bool = True) -> int | None:
    """A whole number from `minimum` to `maximum` (an int, or digits as typed)."""
    label = field_label[:1].upper() + field_label[1:]
    if isinstance(value, bool):
        raise FieldError(f"{label} must be a whole number.")
    if isinstance(value, int):
        number = value
    else:
        text = clean_text(value, field_label=field_label, max_length=12, required=False)
        if text is None:
            if required:
                raise FieldError(f"Enter the {field_label}.")
            return None
        if not _DIGITS.fullmatch(text):
            raise FieldError(f"{label} must be a whole number, like {minimum}.")
        number = int(text)
    if not minimum <= number <= maximum:
        raise FieldError(f"{label} must be from {minimum:,} to {maximum:,}.")
    return number


def validate_record_id(value: object, *, field_label: str, required: bool = True) -> int | None:
    """The id of a row chosen from a list (a positive database integer)."""
    if value in (None, "") and not required:
        return None
    try:
        return validate_whole_number(value, field_label=field_label, minimum=1,
                                     maximum=2**31 - 1, required=True)
    except FieldError:
        raise FieldError(f"Choose a {field_label} from the list.") from None


# --- text --------------------------------------------------------------------------

def validate_title(value: object, *, field_label: str = "title", max_length: int = 160,
                   required: bool = True) -> str | None:
    """A one-line name or title: cleaned, 2 characters or more."""
    return clean_text(value, field_label=field_label, max_length=max_length,
                      min_length=2 if required else 0, required=required)


def validate_notes(value: object, *, field_label: str = "notes", max_length: int = 2000) -> str:
    """Optional multi-line plain text (escaped when shown); blank gives ''."""
    return clean_text(value, field_label=field_label, max_length=max_length, required=False,
                      multiline=True) or ""


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(text: str) -> str:
    """'Paediatric First Aid (12 hour)' -> 'paediatric-first-aid-12-hour'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


def validate_slug(value: object, *, required: bool = True) -> str | None:
    """The course's address on the site: lower-case letters, digits and single hyphens."""
    text = clean_text(value, field_label="web address", max_length=80, required=False)
    if text is None:
        if required:
            raise FieldError("Enter the web address, like first-aid-at-work.")
        return None
    if len(text) < 2 or not _SLUG.fullmatch(text):
        raise FieldError("Use lower-case letters, numbers and single hyphens, "
                         "like first-aid-at-work.")
    return text


def validate_choice(value: object, choices: Iterable[str], *, field_label: str) -> str:
    """One of a fixed set of values (as posted by a select or radio buttons)."""
    allowed = list(choices)
    if isinstance(value, str) and value in allowed:
        return value
    raise FieldError(f"Choose the {field_label} from the list.")


# --- dates and times in Europe/London ----------------------------------------------------

_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_UK_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_CLOCK = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})")


def validate_date(value: object, *, field_label: str = "date", required: bool = True) -> date | None:
    """A calendar date, as a date input sends it (2027-03-31) or typed the UK way (31/3/2027)."""
    if isinstance(value, datetime):
        raise FieldError(f"Enter the {field_label} as a date.")
    if isinstance(value, date):
        return value
    text = clean_text(value, field_label=field_label, max_length=20, required=False)
    if text is None:
        if required:
            raise FieldError(f"Enter the {field_label}.")
        return None
    parts = None
    if match := _ISO_DAY.fullmatch(text):
        parts = int(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := _UK_DAY.fullmatch(text):
        parts = int(match.group(3)), int(match.group(2)), int(match.group(1))
    try:
        day = date(*parts) if parts else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2999:
        raise FieldError(f"Enter the {field_label} as a real date, like 2027-03-31.")
    return day


def validate_clock_time(value: object, *, field_label: str = "time",
                        required: bool = True) -> time | None:
    """A 24-hour clock time (09:30, 9.30, 16:00)."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    text = clean_text(value, field_label=field_label, max_length=8, required=False)
    if text is None:
        if required:
            raise FieldError(f"Enter the {field_label}.")
        return None
    match = _CLOCK.fullmatch(text)
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise FieldError(f"Enter the {field_label} on the 24-hour clock, like 09:30 or 16:00.")
    return time(hour, minute)


def london_to_utc(day: date, clock: time) -> datetime:
    """The UTC instant of a London wall-clock time.

    A time skipped when the clocks go forward (01:30 on the last Sunday in
    March) is refused; a repeated one (01:30 in late October) means the first.
    """
    local = datetime.combine(day, clock, tzinfo=LONDON)
    as_utc = local.astimezone(timezone.utc)
    if as_utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise FieldError(f"{clock:%H:%M} does not exist in the UK on {day:%d/%m/%Y} "
                         "(the clocks go forward).")
    return as_utc
