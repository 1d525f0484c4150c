"""The transactional outbox: domain events written in the same transaction as
the change they describe, and their delivery to each handler."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # What the event is about, e.g. a booking reference or a session id.
    aggregate_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # W3C trace context headers ({"traceparent": ...}) of the span that recorded the event,
    # so its handlers' spans join that trace; None when tracing was off.
    trace_context: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    deliveries = relationship("OutboxDelivery", back_populates="event", lazy="selectin")


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxDelivery(db.Model):
    """One event for one handler: retried with backoff, dead-lettered after N attempts."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "handler", name="uq_outbox_deliveries_event_id_handler"),
        Index("ix_outbox_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"),
                                          nullable=False)
    handler: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, name="delivery_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False, default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # A lease, so that on SQLite (no SKIP LOCKED) two workers never run one delivery at once.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    event = relationship("OutboxEvent", back_populates="deliveries", lazy="joined")
