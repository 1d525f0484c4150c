"""Payments, refunds and the log of provider webhook events."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime, utcnow


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"        # checkout created, customer paying
    SUCCEEDED = "succeeded"    # money received
    FAILED = "failed"          # declined or async payment failed
    EXPIRED = "expired"        # checkout expired unpaid


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_pence >= 0", name="amount_not_negative"),)

    # Providers that take cards (and so can refund through the gateway); the
    # others are invoice and bank_transfer, recorded by staff.
    CARD_PROVIDERS = ("stripe", "fake")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)  # stripe, fake, invoice, bank_transfer
    provider_checkout_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    checkout_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="gbp")
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"),
                                                  nullable=False, default=PaymentStatus.PENDING)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    booking = relationship("Booking", lazy="joined")

    @property
    def is_card(self) -> bool:
        return self.provider in self.CARD_PROVIDERS

    def refundable_pence(self, refunded_pence: int) -> int:
        """What this payment can still give back once `refunded_pence` (its refunds
        made or on their way, Refund.COUNTED_STATUSES) are counted: nothing unless
        the money was received."""
        if self.status != PaymentStatus.SUCCEEDED:
            return 0
        return max(0, self.amount_pence - refunded_pence)


class RefundStatus(str, enum.Enum):
    PENDING = "pending"        # row written, provider call not yet confirmed
    SUCCEEDED = "succeeded"
    FAILED = "failed"          # the provider refused it for good; an admin must act


class Refund(TimestampMixin, db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="amount_positive"),)

    # Refunds that count against what their payment can still give back.
    COUNTED_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True,
                                                   index=True)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus, "refund_status"),
                                                 nullable=False, default=RefundStatus.PENDING)
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    # Derived from the row id, so a retried API call can never refund twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    booking = relationship("Booking", lazy="joined")
    payment = relationship("Payment", lazy="joined")


class WebhookStatus(str, enum.Enum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"        # an event type we do not act on
    FAILED = "failed"
    REJECTED = "rejected"      # signed but malformed: kept for a person to read, never applied


class WebhookEvent(db.Model):
    """Every verified provider event, once: the unique event id makes replays harmless."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False, default="stripe")
    event_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[WebhookStatus] = mapped_column(_enum(WebhookStatus, "webhook_status"),
                                                  nullable=False, default=WebhookStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
