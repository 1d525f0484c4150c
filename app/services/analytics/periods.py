"""Date ranges for the figures: UK calendar days, presets, parsing, comparison."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from app.services.core.errors import InvalidInput
from app.services.core.ukformat import LONDON
from app.validation import FieldError
from app.validation.admin import validate_date

PRESETS = ("this_month", "last_month", "this_quarter", "custom")
PRESET_LABELS = {"this_month": "This month", "last_month": "Last month",
                 "this_quarter": "This quarter", "custom": "Custom dates"}
MAX_DAYS = 3 * 366 + 1


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _london_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(timezone.utc)


@dataclass(frozen=True)
class DateRange:
    """From `start` to `end`, both UK calendar days and both included.

    Instants fall in the range when they are on or after London midnight at
    the start of `start` and before London midnight after `end`
    (``start_utc`` / ``end_utc``), so a booking at 00:30 BST on 1 April
    belongs to April.
    """

    start: date
    end: date
    preset: str = "custom"

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}")
        if self.end < self.start:
            raise ValueError("a date range cannot end before it starts")

    # -- presets ------------------------------------------------------------------------
    @classmethod
    def this_month(cls, today: date) -> "DateRange":
        start = _month_start(today)
        return cls(start, _add_months(start, 1) - timedelta(days=1), "this_month")

    @classmethod
    def last_month(cls, today: date) -> "DateRange":
        start = _add_months(today, -1)
        return cls(start, _month_start(today) - timedelta(days=1), "last_month")

    @classmethod
    def this_quarter(cls, today: date) -> "DateRange":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return cls(start, _add_months(start, 3) - timedelta(days=1), "this_quarter")

    @classmethod
    def custom(cls, start: date, end: date) -> "DateRange":
        if end < start:
            raise InvalidInput("The end date must be on or after the start date.",
                               fields={"end": "The end date must be on or after the start date."})
        if (end - start).days + 1 > MAX_DAYS:
            message = "Choose a range of at most three years."
            raise InvalidInput(message, fields={"end": message})
        return cls(start, end, "custom")

    @classmethod
    def from_args(cls, args: Mapping, today: date) -> "DateRange":
        """From query arguments: ``range`` (a preset; this_month when absent) and, for
        ``range=custom``, ``start`` and ``end`` (31/12/2026 or 2026-12-31). Bad input
        is InvalidInput naming the field."""
        preset = (args.get("range") or "this_month").strip()
        if preset not in PRESETS:
            message = "Choose this month, last month, this quarter or custom dates."
            raise InvalidInput(message, fields={"range": message})
        if preset != "custom":
            return getattr(cls, preset)(today)
        errors, days = {}, {}
        for field, label in (("start", "start date"), ("end", "end date")):
            try:
                days[field] = validate_date(args.get(field), field_label=label)
            except FieldError as exc:
                errors[field] = exc.message
        if errors:
            raise InvalidInput(next(iter(errors.values())), fields=errors)
        return cls.custom(days["start"], days["end"])

    def to_args(self) -> dict[str, str]:
        """The query arguments `from_args` reads back (for links and the URL)."""
        if self.preset != "custom":
            return {"range": self.preset}
        return {"range": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}

    # -- comparison ---------------------------------------------------------------------
    def previous(self) -> "DateRange":
        """The period to compare with: the calendar month before a month preset, the
        quarter before this quarter, and the same number of days just before a custom
        range (so 1–15 Nov compares with 17–31 Oct)."""
        if self.preset in ("this_month", "last_month"):
            start = _add_months(self.start, -1)
            return DateRange(start, self.start - timedelta(days=1), "custom")
        if self.preset == "this_quarter":
            start = _add_months(self.start, -3)
            return DateRange(start, self.start - timedelta(days=1), "custom")
        end = self.start - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end, "custom")

    # -- facts about the range ----------------------------------------------------------
    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_utc(self) -> datetime:
        return _london_midnight_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: London midnight after the last day."""
        return _london_midnight_utc(self.end + timedelta(days=1))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        """'November 2026', 'Q4 2026 (Oct–Dec)', '1 Nov 2026 – 15 Nov 2026'."""
        whole_month = (self.start.day == 1
                       and self.end == _add_months(self.start, 1) - timedelta(days=1))
        if whole_month:
            return f"{self.start:%B %Y}"
        whole_quarter = (self.start.day == 1 and self.start.month % 3 == 1
                         and self.end == _add_months(self.start, 3) - timedelta(days=1))
        if whole_quarter:
            return (f"Q{(self.start.month - 1) // 3 + 1} {self.start.year} "
                    f"({self.start:%b}–{self.end:%b})")
        return f"{self.start.day} {self.start:%b %Y} – {self.end.day} {self.end:%b %Y}"
