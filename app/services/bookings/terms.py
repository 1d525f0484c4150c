"""The cancellation policy in words, written from the BookingPolicy the refund and
name-change rules use, so the page and the rules cannot disagree: each figure
below is read from the policy, and the share refunded between the two
deadlines is measured by calling the refund rule itself."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.services.bookings.holds import BookingPolicy

_SAMPLE_PENCE = 10_000
_START = datetime(2030, 1, 1, 9, tzinfo=timezone.utc)


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _hours(hours: int) -> str:
    if hours and hours % 24 == 0:
        return _days(hours // 24) + f" ({hours} hours)"
    return "1 hour" if hours == 1 else f"{hours} hours"


def _share_refunded(policy: BookingPolicy, notice: timedelta) -> int:
    """The percentage the refund rule gives with `notice` before the start."""
    return policy.refund_due_pence(_SAMPLE_PENCE, _START, _START - notice) * 100 // _SAMPLE_PENCE


@dataclass(frozen=True)
class CancellationPolicy:
    refunds: tuple[str, ...]
    name_changes: str
    unpaid_holds: str


def cancellation_policy(policy: BookingPolicy) -> CancellationPolicy:
    full_notice = timedelta(days=policy.full_refund_days)
    none_inside = timedelta(hours=policy.no_refund_hours)
    refunds = [f"Cancel {_days(policy.full_refund_days)} or more before the course starts and "
               f"we refund {_share_refunded(policy, full_notice)}% of what you paid."]
    if none_inside < full_notice:
        middle = _share_refunded(policy, none_inside + (full_notice - none_inside) / 2)
        refunds.append(f"Cancel less than {_days(policy.full_refund_days)} but at least "
                       f"{_hours(policy.no_refund_hours)} before the start and we refund "
                       f"{middle}% of what you paid.")
    if none_inside >= full_notice:  # nothing between the two deadlines
        last = _share_refunded(policy, full_notice - timedelta(minutes=1))
        refunds.append(f"Cancel less than {_days(policy.full_refund_days)} before the start "
                       f"and we refund {last}% of what you paid.")
    elif none_inside:
        last = _share_refunded(policy, none_inside - timedelta(minutes=1))
        refunds.append(f"Cancel less than {_hours(policy.no_refund_hours)} before the start "
                       f"and we refund {last}% of what you paid.")
    refunds.append("If we cancel a course, you get a full refund or a place on another date.")
    return CancellationPolicy(
        refunds=tuple(refunds),
        name_changes=(f"You can change an attendee's name online until "
                      f"{_hours(policy.name_change_cutoff_hours)} before the course starts."),
        unpaid_holds=(f"Seats are held for {policy.hold_minutes} minutes while you pay; a hold "
                      f"that is not paid for ends by itself and costs nothing."),
    )
