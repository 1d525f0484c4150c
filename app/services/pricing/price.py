"""The price arithmetic, pure: no database, no settings lookup.

A booking gets at most ONE discount: the group discount or a code's, whichever
takes more off (a tie goes to the group discount, so the code's use is kept).
Codes are not stacked on the group discount: a 10% group discount and a 10%
code make 10%, not 19%. A code the customer typed is still checked (a bad one
is refused) even when the group discount turns out larger.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.models.discount import DiscountCode, percent_of


@dataclass(frozen=True)
class GroupDiscount:
    """`percent` off a booking of `min_seats` or more delegates; either 0 turns it off."""

    percent: int = 0
    min_seats: int = 0

    @classmethod
    def from_config(cls, config: Mapping) -> "GroupDiscount":
        return cls(percent=int(config.get("GROUP_DISCOUNT_PERCENT", 0) or 0),
                   min_seats=int(config.get("GROUP_DISCOUNT_MIN_SEATS", 0) or 0))

    @property
    def is_offered(self) -> bool:
        return self.percent > 0 and self.min_seats > 0

    def applies(self, seats: int) -> bool:
        return self.is_offered and seats >= self.min_seats

    def discount_on(self, amount_pence: int, seats: int) -> int:
        return percent_of(amount_pence, self.percent) if self.applies(seats) else 0

    @property
    def describe(self) -> str:
        return f"{self.percent}% off bookings of {self.min_seats} or more people"


@dataclass(frozen=True)
class Price:
    unit_pence: int
    seats: int
    full_pence: int
    discount_pence: int
    amount_pence: int
    # "code", "group" or None: which discount applies.
    discount_source: str | None = None
    code: DiscountCode | None = None
    note: str | None = None

    @property
    def discount_label(self) -> str | None:
        if self.discount_source == "code":
            return f"Discount code {self.code.code} ({self.code.describe})"
        if self.discount_source == "group":
            return "Group discount"
        return None


def price_booking(unit_pence: int, seats: int, *, group: GroupDiscount,
                  code: DiscountCode | None = None) -> Price:
    """The price of `seats` seats at `unit_pence`, with the larger of the group
    discount and the (already checked) code's discount."""
    full = unit_pence * seats
    group_off = group.discount_on(full, seats)
    code_off = code.discount_on(full) if code is not None else 0
    if code is not None and code_off > group_off:
        return Price(unit_pence, seats, full, code_off, full - code_off, "code", code)
    if group_off:
        note = ("Your group discount is larger than the code's, so the group discount "
                "applies instead.") if code is not None else None
        return Price(unit_pence, seats, full, group_off, full - group_off, "group", None, note)
    return Price(unit_pence, seats, full, 0, full, None, None)
