"""Records that make notifications and scheduled jobs happen once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class SentEmail(db.Model):
    """One row per email we intend to send; the unique key stops a second send.
    `status`: sending, sent, failed (retried), or suppressed (over the recipient's
    hourly cap: final, never sent or retried)."""

    __tablename__ = "sent_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # e.g. "booking-confirmed:REF" or "reminder:REF": what makes this email unique.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True,
                                                   index=True)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    template: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="sending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Indexed: the per-recipient email cap counts the last hour's rows.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False,
                                                 index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobRun(db.Model):
    """A scheduled job's run for one time slot; the unique slot stops a double run."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64), nullable=False)
    slot: Mapped[str] = mapped_column(String(32), nullable=False)  # e.g. "2026-11-25T09:00"
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
