"""Booking and its Attendees: seats on one session for one customer."""
from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import ClassVar

from sqlalchemy import (
    Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, Text, and_, or_, text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.course_session import SessionStatus
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class BookingStatus(str, enum.Enum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    EXPIRED = "expired"


class Booking(TimestampMixin, db.Model):
    """Seats on one session for one customer.

    The facts every layer asks about a booking live here, each written once and
    usable both on a loaded row and inside a query (``hybrid_method``):
    whether its hold is live, whether it occupies seats, and whether its
    session is history.
    """

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
    # Who asked for the hold: a keyed digest of the client's address (never the address),
    # so open holds can be counted per client (BookingPolicy.hold_limit_per_client).
    hold_client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Raised when staff (or the customer) reissue the manage link: earlier links stop working.
    manage_link_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1,
                                                     server_default="1")
    # amount_pence is what the customer pays, after this discount (app.services.pricing):
    # a code's (discount_code_id) or, with none, the group discount.
    discount_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                                server_default="0")
    discount_code_id: Mapped[int | None] = mapped_column(ForeignKey("discount_codes.id"),
                                                         nullable=True, index=True)
    # When the customer agreed to the terms of booking (None: booked by staff).
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    session = relationship("CourseSession", lazy="joined", innerjoin=True)
    attendees = relationship(
        "Attendee",
        back_populates="booking",
        order_by="Attendee.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    discount_code = relationship("DiscountCode", lazy="joined")
    # Set when the booking is paid by invoice (app.models.invoice).
    invoice = relationship("Invoice", back_populates="booking", uselist=False)

    # Held or confirmed: the booking is still in play (a held one may have lapsed).
    LIVE_STATUSES: ClassVar[tuple[BookingStatus, ...]] = (BookingStatus.HELD,
                                                          BookingStatus.CONFIRMED)

    @hybrid_method
    def hold_is_live(self, now: datetime) -> bool:
        """Held and not yet past its expiry: the seats are the customer's to pay for."""
        return (self.status == BookingStatus.HELD and self.hold_expires_at is not None
                and self.hold_expires_at > now)

    @hold_is_live.expression
    def hold_is_live(cls, now: datetime):
        return and_(cls.status == BookingStatus.HELD, cls.hold_expires_at > now)

    @hybrid_method
    def hold_has_lapsed(self, now: datetime) -> bool:
        """Still marked held, but past its expiry: it no longer counts (the expiry job
        will mark it expired). Exactly the held bookings whose hold is not live."""
        return self.status == BookingStatus.HELD and not self.hold_is_live(now)

    @hold_has_lapsed.expression
    def hold_has_lapsed(cls, now: datetime):
        return and_(cls.status == BookingStatus.HELD,
                    or_(cls.hold_expires_at.is_(None), cls.hold_expires_at <= now))

    @hybrid_method
    def occupies_seats(self, now: datetime) -> bool:
        """Counts against the session's capacity at `now`: confirmed, or a live hold."""
        return self.status == BookingStatus.CONFIRMED or self.hold_is_live(now)

    @occupies_seats.expression
    def occupies_seats(cls, now: datetime):
        return or_(cls.status == BookingStatus.CONFIRMED, cls.hold_is_live(now))

    @property
    def payment_method(self) -> str:
        """"invoice" when the booking has an invoice, else "card" (staff-recorded bank
        transfers included: they are paid on confirmation)."""
        return "invoice" if self.invoice is not None else "card"

    @property
    def awaits_payment(self) -> bool:
        """Confirmed on an invoice that still has money owing: every page, email and
        document must say payment is due, never that it was paid."""
        return self.invoice is not None and self.invoice.outstanding_pence > 0

    @property
    def is_invoice_unpaid(self) -> bool:
        """Booked on an invoice that was never paid (still owed, or credited instead):
        no money was taken, so a cancellation is credited off the invoice, never
        refunded."""
        return self.invoice is not None and not self.invoice.is_paid

    @property
    def full_price_pence(self) -> int:
        """The price before any discount."""
        return self.amount_pence + self.discount_pence

    @property
    def discount_label(self) -> str | None:
        """How receipts, emails and pages name the discount, or None without one."""
        if not self.discount_pence:
            return None
        if self.discount_code is not None:
            return f"Discount code {self.discount_code.code}"
        return "Group discount"

    def payment_status(self, today: date) -> str:
        """due, paid, overdue or refunded (`today` the UK date): the invoice's state for
        an invoiced booking; for a card booking, paid once it was confirmed (its payment
        confirmed it), refunded when refunded, else due."""
        if self.invoice is not None:
            return self.invoice.status(today)
        if self.status == BookingStatus.REFUNDED:
            return "refunded"
        return "paid" if self.confirmed_at is not None else "due"

    def session_is_history(self, now: datetime) -> bool:
        """Its session is completed or has started: the booking is part of the
        session's record (register, attendance, certificates) and is no longer
        moved, cancelled or renamed."""
        course_session = self.session
        return (course_session.status == SessionStatus.COMPLETED
                or course_session.starts_at <= now)

    def manage_link_expires_at(self, days_after_course: int) -> datetime:
        """When this booking's manage links stop working: some weeks after the course
        ends (certificates and receipts are in the emails by then)."""
        return self.session.ends_at + timedelta(days=days_after_course)

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
    # On a requalification course: when the attendee's current certificate expires, as
    # the booker gave it (the trainer checks the certificate on the day).
    prior_certificate_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    booking = relationship("Booking", back_populates="attendees")

    def __repr__(self) -> str:
        return f"<Attendee {self.full_name}>"
