"""Daily counts for the refresh-analytics job (a stand-in until analytics has its own tables)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.models import Booking, BookingStatus
from app.repositories.base import Repository


class AnalyticsRepository(Repository[Booking]):
    model = Booking

    def daily_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Bookings confirmed and cancelled in [start, end), with seats and revenue."""
        confirmed = self.session.execute(
            select(func.count(), func.coalesce(func.sum(Booking.seats), 0),
                   func.coalesce(func.sum(Booking.amount_pence), 0))
            .where(Booking.confirmed_at >= start, Booking.confirmed_at < end)).one()
        cancelled = self.session.scalar(
            select(func.count()).where(Booking.cancelled_at >= start, Booking.cancelled_at < end))
        expired = self.session.scalar(
            select(func.count()).where(Booking.status == BookingStatus.EXPIRED,
                                       Booking.hold_expires_at >= start,
                                       Booking.hold_expires_at < end))
        return {"bookings_confirmed": int(confirmed[0]), "seats_confirmed": int(confirmed[1]),
                "revenue_pence": int(confirmed[2]), "bookings_cancelled": int(cancelled or 0),
                "holds_expired": int(expired or 0)}
