"""A pretend card provider for development and tests: pay, decline or abandon a hold.

It lets the booking journey run end to end with no provider account. `pay`
confirms the booking straight from the browser's button, which is only
acceptable because no money moves: the payments issue replaces it with the
real path, where a provider's signed webhook (verified, applied once) is the
only thing that confirms a booking, and this class becomes a fake provider
that sends such a webhook. `decline` changes nothing (the hold stays until it
expires) and `abandon` cancels the hold so its seats are free again at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import Booking
from app.services.booking import BookingPolicy, cancel_booking, confirm_booking, get_booking


@dataclass(frozen=True)
class Declined:
    """A declined card: nothing changed; the seats stay held until `hold_expires_at`."""

    message: str
    hold_expires_at: datetime | None


class FakeCheckout:
    """The fake provider's checkout page actions."""

    def pay(self, reference: str, *, now: datetime | None = None) -> Booking:
        """The card is accepted: confirm the booking (confirming twice is harmless)."""
        return confirm_booking(reference, now=now, payment_note=None)

    def decline(self, reference: str) -> Declined:
        """The card is declined: no state change."""
        booking = get_booking(reference)
        return Declined(message="Your card was declined.", hold_expires_at=booking.hold_expires_at)

    def abandon(self, reference: str, policy: BookingPolicy, *,
                now: datetime | None = None) -> Booking:
        """The customer gives up at checkout: cancel the hold and free its seats."""
        return cancel_booking(reference, policy=policy, now=now)
