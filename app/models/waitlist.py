"""WaitlistEntry: someone who wants seats on a full session.

An offer is a hold: the Booking (status held) made for the entry under the
session's seat lock (app.services.bookings.waitlist_offers), linked here as
`booking`. The entry's offer state is read from that booking, so the seats an
offer holds are counted by the one rule every hold is counted by.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.booking import BookingStatus
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class WaitlistStatus(str, enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    CANCELLED = "cancelled"      # left the list (the customer) or removed (staff)
    DECLINED = "declined"        # said no to an offer; the seats went to the next entry
    LAPSED = "lapsed"            # an offer nobody answered; the seats went to the next entry


class WaitlistEntry(TimestampMixin, db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("seats > 0", name="seats_positive"),
        Index("ix_waitlist_entries_session_id_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    seats: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[WaitlistStatus] = mapped_column(
        Enum(WaitlistStatus, name="waitlist_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False, default=WaitlistStatus.WAITING)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The hold that is the current (or last) offer.
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True,
                                                   index=True)

    session = relationship("CourseSession", lazy="joined")
    booking = relationship("Booking", lazy="joined")

    OPEN_STATUSES: ClassVar[tuple[WaitlistStatus, ...]] = (WaitlistStatus.WAITING,
                                                             WaitlistStatus.OFFERED)

    @property
    def is_open(self) -> bool:
        """Still on the list: waiting, or holding an offer."""
        return self.status in self.OPEN_STATUSES

    def offer_is_live(self, now: datetime) -> bool:
        """Offered, and the offer's hold still holds the seats: they are this person's."""
        return (self.status == WaitlistStatus.OFFERED and self.booking is not None
                and self.booking.hold_is_live(now))

    def offer_outcome(self, now: datetime) -> WaitlistStatus:
        """What an offered entry has become by `now`, read from its hold: still
        OFFERED while the hold is live, BOOKED once paid, else LAPSED (expired,
        cancelled or never answered). Other states are returned unchanged."""
        if self.status != WaitlistStatus.OFFERED:
            return self.status
        booking = self.booking
        if booking is not None and booking.status == BookingStatus.CONFIRMED:
            return WaitlistStatus.BOOKED
        if self.offer_is_live(now):
            return WaitlistStatus.OFFERED
        return WaitlistStatus.LAPSED

    def offer_has_lapsed(self, now: datetime) -> bool:
        return self.status == WaitlistStatus.OFFERED and not self.offer_is_live(now)
