"""Payments, refunds and the webhook event log.

Conditional UPDATEs (`mark_*`, `claim_*`) are how concurrent actors agree on
who performs a transition: the one whose statement changed a row acts, the
others see a row count of 0 and stand back. On PostgreSQL the second UPDATE
waits for the first transaction's row lock and then re-checks its WHERE; on
SQLite the writer lock serialises them.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update

from app.models import (
    Booking, BookingStatus, Invoice, Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent,
    WebhookStatus,
)
from app.repositories.base import Repository


class PaymentRepository(Repository[Payment]):
    model = Payment

    def get_by_checkout_id(self, checkout_id: str) -> Payment | None:
        return self.session.scalar(select(Payment).where(Payment.provider_checkout_id == checkout_id))

    def get_by_payment_intent(self, payment_intent: str) -> Payment | None:
        return self.session.scalar(
            select(Payment).where(Payment.provider_payment_id == payment_intent)
            .order_by(Payment.id.desc()).limit(1))

    def for_booking(self, booking_id: int) -> list[Payment]:
        return list(self.session.scalars(
            select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)).unique())

    def latest_for_booking(self, booking_id: int) -> Payment | None:
        return self.session.scalar(
            select(Payment).where(Payment.booking_id == booking_id)
            .order_by(Payment.id.desc()).limit(1))

    def succeeded_for_booking(self, booking_id: int, *, excluding: int | None = None) -> list[Payment]:
        stmt = select(Payment).where(Payment.booking_id == booking_id,
                                     Payment.status == PaymentStatus.SUCCEEDED)
        if excluding is not None:
            stmt = stmt.where(Payment.id != excluding)
        return list(self.session.scalars(stmt.order_by(Payment.id.desc())).unique())

    def refundable_pence(self, payment: Payment) -> int:
        """What `payment` can still give back (Payment.refundable_pence), counting its
        refunds as the database has them now: under the booking's session lock that
        includes every refund committed before."""
        refunded = self.session.scalar(
            select(func.coalesce(func.sum(Refund.amount_pence), 0))
            .where(Refund.payment_id == payment.id, Refund.status.in_(Refund.COUNTED_STATUSES)))
        return payment.refundable_pence(int(refunded))

    def card_payment_for(self, booking_id: int) -> Payment | None:
        """The booking's card payment with the most left to refund (the one that paid
        for it); None when no card payment has anything left."""
        candidates = [(self.refundable_pence(p), p) for p in self.succeeded_for_booking(booking_id)
                      if p.is_card]
        candidates = [c for c in candidates if c[0] > 0]
        return max(candidates, key=lambda c: (c[0], c[1].id))[1] if candidates else None

    def mark_succeeded(self, payment_id: int, *, payment_intent: str | None,
                       now: datetime) -> bool:
        """Move a payment to succeeded unless it already is; True for the caller that did it."""
        values = {"status": PaymentStatus.SUCCEEDED, "paid_at": now, "updated_at": now}
        if payment_intent:
            values["provider_payment_id"] = payment_intent
        result = self.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status != PaymentStatus.SUCCEEDED)
            .values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def mark_status_if_pending(self, payment_id: int, status: PaymentStatus, now: datetime) -> bool:
        result = self.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING)
            .values(status=status, updated_at=now).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def queued_checkouts(self, now: datetime, *, limit: int = 100) -> list[Payment]:
        """Card payments that could not be started (the provider was down) for holds
        that are still live: the retry queue."""
        stmt = (
            select(Payment).join(Booking, Booking.id == Payment.booking_id)
            .where(Payment.status == PaymentStatus.PENDING,
                   Payment.provider_checkout_id.is_(None),
                   Payment.provider.in_(Payment.CARD_PROVIDERS),
                   Booking.hold_is_live(now))
            .order_by(Payment.id).limit(limit))
        return list(self.session.scalars(stmt).unique())

    def stale_queued_checkouts(self, now: datetime, *, limit: int = 500) -> list[Payment]:
        """Queued checkouts whose hold has gone: nothing left to retry."""
        stmt = (
            select(Payment).join(Booking, Booking.id == Payment.booking_id)
            .where(Payment.status == PaymentStatus.PENDING,
                   Payment.provider_checkout_id.is_(None),
                   ~Booking.hold_is_live(now))
            .order_by(Payment.id).limit(limit))
        return list(self.session.scalars(stmt).unique())


class RefundRepository(Repository[Refund]):
    model = Refund

    def get_by_provider_id(self, provider_refund_id: str) -> Refund | None:
        return self.session.scalar(select(Refund).where(Refund.provider_refund_id == provider_refund_id))

    def get_by_idempotency_key(self, key: str) -> Refund | None:
        return self.session.scalar(select(Refund).where(Refund.idempotency_key == key))

    def for_booking(self, booking_id: int) -> list[Refund]:
        return list(self.session.scalars(
            select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.id)).unique())

    def cancelled_without_refund(self, purpose: str, *, limit: int = 100) -> list[str]:
        """References of cancelled bookings owed a refund that have no refund row
        with the key ``refund-<reference>-<purpose>`` yet."""
        key = Refund.idempotency_key == ("refund-" + Booking.reference + "-" + purpose)
        stmt = (select(Booking.reference)
                .where(Booking.status == BookingStatus.CANCELLED, Booking.refund_due_pence > 0,
                       ~exists().where(and_(Refund.booking_id == Booking.id, key)),
                       # an unpaid invoice is credited, not refunded
                       ~exists().where(and_(Invoice.booking_id == Booking.id,
                                            Invoice.paid_at.is_(None))))
                .order_by(Booking.id).limit(limit))
        return list(self.session.scalars(stmt))

    def due(self, now: datetime, *, limit: int = 100) -> list[Refund]:
        """Pending refunds whose next attempt is due (oldest first)."""
        stmt = (select(Refund)
                .where(Refund.status == RefundStatus.PENDING, Refund.next_attempt_at.is_not(None),
                       Refund.next_attempt_at <= now)
                .order_by(Refund.next_attempt_at, Refund.id).limit(limit))
        return list(self.session.scalars(stmt).unique())

    def claim(self, refund_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take the next attempt of a due refund: push `next_attempt_at` to the
        lease's end and count the attempt. False if it is not due or not pending
        (someone else has it, or it is settled)."""
        result = self.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING,
                   Refund.next_attempt_at.is_not(None), Refund.next_attempt_at <= now)
            .values(next_attempt_at=lease_until, attempts=Refund.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def mark_status(self, refund_id: int, status: RefundStatus, now: datetime, *,
                    from_statuses: Iterable[RefundStatus] = (RefundStatus.PENDING,),
                    **values) -> bool:
        """Move a refund to `status` if it is in one of `from_statuses`; True if it moved."""
        result = self.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status.in_(tuple(from_statuses)))
            .values(status=status, updated_at=now, **values)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1


class WebhookEventRepository(Repository[WebhookEvent]):
    model = WebhookEvent

    def get_by_event_id(self, event_id: str) -> WebhookEvent | None:
        return self.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))

    def waiting(self, event_types: Iterable[str]) -> list[WebhookEvent]:
        """Verified events stored but not yet applied (they arrived before what they
        refer to), oldest first."""
        stmt = (select(WebhookEvent)
                .where(WebhookEvent.status == WebhookStatus.RECEIVED,
                       WebhookEvent.event_type.in_(tuple(event_types)))
                .order_by(WebhookEvent.id))
        return list(self.session.scalars(stmt))
