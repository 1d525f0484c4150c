"""The cancellation and name-change policy is plain arithmetic on dates."""
from datetime import datetime, timedelta, timezone

import pytest

from app.services.bookings.holds import BookingPolicy

START = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)
POLICY = BookingPolicy(full_refund_days=14, no_refund_hours=72, name_change_cutoff_hours=24)


@pytest.mark.parametrize("notice, owed", [
    (timedelta(days=30), 10000),
    (timedelta(days=14), 10000),
    (timedelta(days=13, hours=23), 5000),
    (timedelta(hours=72), 5000),
    (timedelta(hours=71, minutes=59), 0),
    (timedelta(hours=-1), 0),
])
def test_refund_owed_depends_on_notice_given(notice, owed):
    assert POLICY.refund_due_pence(10000, START, START - notice) == owed


def test_odd_amounts_round_the_half_refund_down_to_the_penny():
    assert POLICY.refund_due_pence(10001, START, START - timedelta(days=5)) == 5000


def test_names_can_change_until_the_cutoff():
    assert POLICY.can_change_names(START, START - timedelta(hours=25))
    assert not POLICY.can_change_names(START, START - timedelta(hours=24))
