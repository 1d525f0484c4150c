"""Alerts for administrators: one open row per (kind, subject), and the emails
the rate limit let through."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, update

from app.models import (
    Alert, AlertEmail, DeliveryStatus, OutboxDelivery, Payment, PaymentStatus, Severity,
)
from app.repositories.base import Repository

# Any constant will do: every process takes the same PostgreSQL advisory lock.
_EMAIL_LOCK_KEY = 0x616C6572  # "aler"


class AlertRepository(Repository[Alert]):
    model = Alert

    def open_for(self, kind: str, subject: str) -> Alert | None:
        """The open alert of this rule and subject (at most one: a unique index)."""
        return self.session.scalar(select(Alert).where(
            Alert.kind == kind, Alert.subject == subject, Alert.resolved_at.is_(None)))

    def open_for_kinds(self, kinds: tuple[str, ...], subject: str) -> list[Alert]:
        """The open alerts of any of these rules about `subject` (one query)."""
        return list(self.session.scalars(select(Alert).where(
            Alert.kind.in_(kinds), Alert.subject == subject, Alert.resolved_at.is_(None))))

    def open_of_kind(self, kind: str) -> list[Alert]:
        return list(self.session.scalars(select(Alert).where(
            Alert.kind == kind, Alert.resolved_at.is_(None)).order_by(Alert.id)))

    def bump(self, alert_id: int, *, message: str, severity: Severity, now: datetime) -> bool:
        """Count one more occurrence on an open alert, in one UPDATE (so concurrent
        raisers add up); False if it was resolved meanwhile."""
        result = self.session.execute(
            update(Alert).where(Alert.id == alert_id, Alert.resolved_at.is_(None))
            .values(count=Alert.count + 1, last_seen_at=now, message=message,
                    severity=severity)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def resolve(self, alert_id: int, user_id: int | None, now: datetime) -> bool:
        """Resolve an open alert (by an admin, or None: by itself); False if it was not open."""
        result = self.session.execute(
            update(Alert).where(Alert.id == alert_id, Alert.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by_id=user_id)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def open_alerts(self, limit: int = 50) -> list[Alert]:
        stmt = (select(Alert).where(Alert.resolved_at.is_(None))
                .order_by(Alert.last_seen_at.desc(), Alert.id.desc()).limit(limit))
        return list(self.session.scalars(stmt))

    # -- the email rate limit ----------------------------------------------------------------
    def lock_alert_emails(self) -> None:
        """Serialise email decisions across processes until the transaction ends.
        PostgreSQL: an advisory transaction lock. SQLite: the caller's first write
        (adding the AlertEmail row) takes the single writer lock before it counts."""
        if self.dialect_name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _EMAIL_LOCK_KEY})

    def email_for_event(self, event_id: int) -> AlertEmail | None:
        return self.session.scalar(select(AlertEmail).where(AlertEmail.event_id == event_id))

    def emails_since(self, since: datetime, *, kind: str | None = None,
                     subject: str | None = None, excluding: int | None = None) -> int:
        stmt = select(func.count()).select_from(AlertEmail).where(AlertEmail.created_at > since)
        if kind is not None:
            stmt = stmt.where(AlertEmail.kind == kind, AlertEmail.subject == subject)
        if excluding is not None:
            stmt = stmt.where(AlertEmail.id != excluding)
        return int(self.session.scalar(stmt) or 0)

    def last_email_at(self, kind: str, subject: str) -> datetime | None:
        return self.session.scalar(select(func.max(AlertEmail.created_at)).where(
            AlertEmail.kind == kind, AlertEmail.subject == subject))


class AlertFiguresRepository(Repository[Alert]):
    """The shared figures some alert rules read straight from their tables."""

    model = Alert

    def card_payment_outcomes(self, since: datetime, until: datetime) -> tuple[int, int]:
        """(succeeded, failed) card payments that reached that outcome in the window."""
        succeeded = self.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.provider.in_(Payment.CARD_PROVIDERS),
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.paid_at > since, Payment.paid_at <= until))
        failed = self.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.provider.in_(Payment.CARD_PROVIDERS),
            Payment.status == PaymentStatus.FAILED,
            Payment.updated_at > since, Payment.updated_at <= until))
        return int(succeeded or 0), int(failed or 0)

    def dead_deliveries_by_handler(self) -> dict[str, int]:
        stmt = (select(OutboxDelivery.handler, func.count())
                .where(OutboxDelivery.status == DeliveryStatus.DEAD)
                .group_by(OutboxDelivery.handler))
        return {handler: int(n) for handler, n in self.session.execute(stmt)}
