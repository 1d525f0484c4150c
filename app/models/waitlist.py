"""WaitlistEntry: someone who wants seats on a full session."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class WaitlistStatus(str, enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    CANCELLED = "cancelled"


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

    session = relationship("CourseSession", lazy="joined")

    def offer_is_live(self, now: datetime) -> bool:
        """Offered and not yet past the offer's expiry: those seats are this person's."""
        return (self.status == WaitlistStatus.OFFERED and self.offer_expires_at is not None
                and self.offer_expires_at > now)

    def offer_has_lapsed(self, now: datetime) -> bool:
        return self.status == WaitlistStatus.OFFERED and not self.offer_is_live(now)
