"""DateRange: presets, parsing from query arguments, the comparison period, UK days."""
from datetime import date, datetime, timezone

import pytest

from app.services.analytics import DateRange
from app.services.core.errors import InvalidInput

TODAY = date(2026, 11, 20)


def test_presets_cover_whole_calendar_months_and_quarters():
    assert DateRange.this_month(TODAY) == DateRange(date(2026, 11, 1), date(2026, 11, 30),
                                                    "this_month")
    assert DateRange.last_month(date(2026, 1, 15)) == DateRange(
        date(2025, 12, 1), date(2025, 12, 31), "last_month")
    assert DateRange.this_quarter(TODAY) == DateRange(date(2026, 10, 1), date(2026, 12, 31),
                                                      "this_quarter")
    assert DateRange.this_month(date(2028, 2, 10)).end == date(2028, 2, 29)


def test_previous_is_the_calendar_period_before_a_preset_and_the_same_length_before_custom():
    assert DateRange.this_month(TODAY).previous() == DateRange(date(2026, 10, 1),
                                                               date(2026, 10, 31))
    assert DateRange.last_month(date(2026, 3, 5)).previous() == DateRange(date(2026, 1, 1),
                                                                          date(2026, 1, 31))
    assert DateRange.this_quarter(TODAY).previous() == DateRange(date(2026, 7, 1),
                                                                 date(2026, 9, 30))
    custom = DateRange.custom(date(2026, 11, 1), date(2026, 11, 15))
    assert custom.previous() == DateRange(date(2026, 10, 17), date(2026, 10, 31))
    assert custom.previous().days == custom.days == 15


def test_from_args_reads_presets_and_uk_or_iso_custom_dates():
    assert DateRange.from_args({}, TODAY) == DateRange.this_month(TODAY)
    assert DateRange.from_args({"range": "last_month"}, TODAY) == DateRange.last_month(TODAY)
    parsed = DateRange.from_args({"range": "custom", "start": "3/11/2026", "end": "2026-11-09"},
                                 TODAY)
    assert (parsed.start, parsed.end, parsed.preset) == (date(2026, 11, 3), date(2026, 11, 9),
                                                         "custom")
    assert DateRange.from_args(parsed.to_args(), TODAY) == parsed
    assert DateRange.this_quarter(TODAY).to_args() == {"range": "this_quarter"}


@pytest.mark.parametrize("args, field", [
    ({"range": "fortnight"}, "range"),
    ({"range": "custom", "end": "2026-11-09"}, "start"),
    ({"range": "custom", "start": "31/02/2026", "end": "2026-11-09"}, "start"),
    ({"range": "custom", "start": "2026-11-01", "end": "yesterday"}, "end"),
    ({"range": "custom", "start": "2026-11-09", "end": "2026-11-01"}, "end"),
    ({"range": "custom", "start": "2020-01-01", "end": "2026-11-01"}, "end"),
])
def test_bad_arguments_are_an_input_error_naming_the_field(args, field):
    with pytest.raises(InvalidInput) as caught:
        DateRange.from_args(args, TODAY)
    assert field in caught.value.fields
    assert caught.value.status == 422


def test_the_range_runs_from_london_midnight_to_london_midnight():
    summer = DateRange.custom(date(2026, 7, 1), date(2026, 7, 31))
    assert summer.start_utc == datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)
    assert summer.end_utc == datetime(2026, 7, 31, 23, 0, tzinfo=timezone.utc)
    winter = DateRange.this_month(TODAY)
    assert winter.start_utc == datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)


def test_labels():
    assert DateRange.this_month(TODAY).label == "November 2026"
    assert DateRange.this_quarter(TODAY).label == "Q4 2026 (Oct–Dec)"
    assert DateRange.custom(date(2026, 11, 1), date(2026, 11, 15)).label == \
        "1 Nov 2026 – 15 Nov 2026"
