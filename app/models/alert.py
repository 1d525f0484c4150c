"""Alert: something an administrator must look at (late refunds, open breakers, ...).

One row per rule (`kind`) and `subject` while it is open: a repeat of the same
condition counts on that row (`count`, `last_seen_at`) instead of adding one.
The database enforces it with a partial unique index on (kind, subject) where
``resolved_at IS NULL`` (PostgreSQL and SQLite both have them), so two processes
raising the same alert at once still leave one open row. Once resolved, a
recurrence opens a new row.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Higher is worse (for sorting the most urgent first)."""
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class AlertKind:
    """What a rule is called on the admin pages, and whether its alerts resolve
    themselves when the condition clears (rules the worker re-evaluates) or wait
    for an administrator (one-off events such as a failed refund)."""

    title: str
    resolves_itself: bool = False


ALERT_KINDS: dict[str, AlertKind] = {
    "error_rate": AlertKind("High error rate", resolves_itself=True),
    "database_errors": AlertKind("Database connection errors", resolves_itself=True),
    "payments.breaker_open": AlertKind("Card payments paused", resolves_itself=True),
    "payment_failure_rate": AlertKind("Many card payments failing", resolves_itself=True),
    "outbox_backlog": AlertKind("Emails and background tasks delayed", resolves_itself=True),
    "outbox_dead_letter": AlertKind("Background task gave up", resolves_itself=True),
    "low_availability": AlertKind("Few seats left", resolves_itself=True),
    "fully_booked": AlertKind("Session fully booked", resolves_itself=True),
    "payments.checkout_rejected": AlertKind("Stripe refused a checkout"),
    "payments.unknown_checkout": AlertKind("Payment with no booking"),
    "payments.payment_refunded_automatically": AlertKind("Payment refunded automatically"),
    "payments.refund_needs_admin": AlertKind("Refund to pay by bank transfer"),
    "payments.refund_delayed": AlertKind("Refund delayed"),
    "payments.refund_failed": AlertKind("Refund failed"),
}


def kind_title(kind: str) -> str:
    """The readable name of a rule; an unknown kind is made readable from its code."""
    known = ALERT_KINDS.get(kind)
    if known is not None:
        return known.title
    words = kind.rsplit(".", 1)[-1].replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "Alert"


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_kind_subject", "kind", "subject", unique=True,
              sqlite_where=text("resolved_at IS NULL"),
              postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # What the alert is about within its rule ("session:12", "refunds", "refund:7");
    # "" for a rule with a single subject.
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    severity: Mapped[Severity] = mapped_column(
        Enum(Severity, name="alert_severity", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False, default=Severity.WARNING)
    # The latest occurrence's message (figures change while an alert stays open).
    message: Mapped[str] = mapped_column(Text, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False,
                                                 index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False,
                                                   index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # None on a resolved alert: it resolved itself when its condition cleared.
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id], lazy="joined")
    resolved_by = relationship("User", foreign_keys=[resolved_by_id], lazy="joined")

    @hybrid_property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls):
        return cls.resolved_at.is_(None)

    @property
    def status(self) -> str:
        """"open", "acknowledged" (open, someone is on it) or "resolved"."""
        if self.resolved_at is not None:
            return "resolved"
        return "acknowledged" if self.acknowledged_at is not None else "open"

    @property
    def can_acknowledge(self) -> bool:
        return self.resolved_at is None and self.acknowledged_at is None

    @property
    def can_resolve(self) -> bool:
        return self.resolved_at is None

    @property
    def resolved_automatically(self) -> bool:
        return self.resolved_at is not None and self.resolved_by_id is None

    @property
    def title(self) -> str:
        return kind_title(self.kind)

    @property
    def resolves_itself(self) -> bool:
        """True when the worker resolves it once the condition clears."""
        known = ALERT_KINDS.get(self.kind)
        return known is not None and known.resolves_itself


class AlertEmail(db.Model):
    """One alert email the rate limit let through: the per-rule-and-subject
    interval and the hourly cap count these rows, so every worker process
    sees the same figures. `event_id` is the AlertRaised event it answers
    (unique: a retried delivery sends its email rather than counting again)."""

    __tablename__ = "alert_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False,
                                                 index=True)
