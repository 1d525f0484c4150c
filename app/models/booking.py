"""Booking and its Attendees: seats on one session for one customer."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, Text, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class BookingStatus(str, enum.Enum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    EXPIRED = "expired"


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("seats > 0", name="seats_positive"),
        CheckConstraint("amount_pence >= 0", name="amount_not_negative"),
        Index("ix_bookings_session_id_status", "session_id", "status"),
        Index(
            "ix_bookings_active_holds",
            "session_id",
            "hold_expires_at",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"), nullable=False)
    contact_name: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    contact_postcode: Mapped[str] = mapped_column(String(8), nullable=False)
    company: Mapped[str | None] = mapped_column(String(120), nullable=True)
    seats: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, name="booking_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False,
        default=BookingStatus.HELD,
    )
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the cancellation policy says the customer is owed; the payments
    # issue turns it into a refund.
    refund_due_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # A payment method other than the card flow (invoice, bank transfer).
    payment_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    session = relationship("CourseSession", lazy="joined", innerjoin=True)
    attendees = relationship(
        "Attendee",
        back_populates="booking",
        order_by="Attendee.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"<Booking {self.reference} {self.status.value}>"


class Attendee(TimestampMixin, db.Model):
    __tablename__ = "attendees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Exactly as it must appear on the certificate.
    full_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Only what the customer chooses to share; no medical data is collected.
    access_needs: Mapped[str | None] = mapped_column(Text, nullable=True)
    attended: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    certificate_number: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    certificate_issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    certificate_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    booking = relationship("Booking", back_populates="attendees")

    def __repr__(self) -> str:
        return f"<Attendee {self.full_name}>"
