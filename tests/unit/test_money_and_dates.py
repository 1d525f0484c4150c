"""VAT on VAT-inclusive prices, certificate dates and numbers, UK formats."""
from datetime import date, datetime, timezone

import pytest

from app.services.core.provider import vat_breakdown
from app.services.core.ukformat import pounds, uk_date, uk_time
from app.services.staff.certificates import add_months, new_certificate_number, normalise_number


@pytest.mark.parametrize("gross, net, vat", [
    (12000, 10000, 2000), (10000, 8333, 1667), (9999, 8332, 1667), (14999, 12499, 2500),
    (5, 4, 1), (0, 0, 0),
])
def test_vat_is_one_sixth_of_a_vat_inclusive_price_and_the_parts_add_up(gross, net, vat):
    split = vat_breakdown(gross, 20)
    assert (split.net_pence, split.vat_pence, split.gross_pence) == (net, vat, gross)
    assert split.net_pence + split.vat_pence == gross


@pytest.mark.parametrize("start, months, expected", [
    (date(2026, 3, 10), 36, date(2029, 3, 10)),
    (date(2028, 2, 29), 36, date(2031, 2, 28)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
])
def test_certificate_expiry_is_the_same_day_months_later(start, months, expected):
    assert add_months(start, months) == expected


def test_certificate_numbers_have_the_completion_month_and_no_lookalike_characters():
    numbers = {new_certificate_number(date(2026, 3, 10)) for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert number.startswith("RFT-2603-") and normalise_number(number) == number
        assert not set(number[9:]) & set("01OIL")


@pytest.mark.parametrize("raw, expected", [
    (" rft-2603-k7m2qx ", "RFT-2603-K7M2QX"), ("RFT-2603-K7M2QX", "RFT-2603-K7M2QX"),
    ("RFT 2603-K7M2QX", None), ("", None), (None, None), ("<script>", None),
    ("RFT-2603-K7M2QX' OR 1=1--", None), (12345, None), ("x" * 5000, None),
])
def test_normalise_number_accepts_only_the_certificate_format(raw, expected):
    assert normalise_number(raw) == expected


def test_uk_formats_use_london_time_across_daylight_saving():
    summer = datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)   # 9:30am BST
    winter = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)  # 9:30am GMT
    assert (uk_date(summer), uk_time(summer)) == ("Wednesday 1 July 2026", "9:30am")
    assert (uk_date(winter), uk_time(winter)) == ("Tuesday 1 December 2026", "9:30am")
    assert uk_time(datetime(2026, 7, 1, 23, 15, tzinfo=timezone.utc)) == "12:15am"
    assert pounds(12000) == "£120.00" and pounds(123456) == "£1,234.56"
