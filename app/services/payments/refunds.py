"""Refunds: a row first, then the provider call with a key derived from the row.

Lifecycle of a Refund
---------------------
1. ``create_refund_row`` writes the row (``pending``, due now) in the caller's
   transaction, under the booking's session lock, after checking that the
   payment still has that much to give back: money is never refunded twice
   and never more than was paid.
2. ``attempt_refund`` (outside any transaction) claims the due row with a
   conditional UPDATE (so two workers never call at once), calls the gateway
   with ``Refund.idempotency_key``, and records the answer: ``succeeded``
   (RefundIssued is recorded for the customer's email), ``pending`` at the
   provider (settled later by a ``refund.updated`` / ``charge.refunded``
   webhook), or refused for good (``failed`` plus an admin alert).
3. An outage leaves the row ``pending`` with ``next_attempt_at`` pushed back
   (exponential, capped); ``retry_due_refunds`` (the ``payments retry``
   command or a scheduled job) tries again with the *same* key, so a call that
   did reach Stripe before the connection dropped returns the same refund.
   A refund is never dropped; after a few failed attempts an admin is alerted.

Keys are ``refund-<booking reference>-<purpose>``: the booking's cancellation
refund (one per booking) and the refund of a payment we cannot keep (one per
payment) have fixed purposes, so a handler delivered twice finds the row it
made; an admin's refunds use the row id.

Where cancellation refunds come from
------------------------------------
``cancel_booking`` records what the policy owes (``refund_due_pence``) and a
BookingCancelled event in its transaction. The ``payments.refund_cancellation``
outbox handler below turns that into a refund. That covers every way a booking
is cancelled (manage page, API, admin pages, a cancelled session) without the
web layer having to remember, keeps the Stripe call out of the customer's
request, and inherits the outbox's at-least-once delivery; the handler is
idempotent through the fixed key. ``create_missing_cancellation_refunds``
(part of ``payments retry``) is the safety net for bookings cancelled before
this handler existed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from app.models import (
    Booking, BookingStatus, OutboxEvent, Payment, Refund, RefundStatus, Severity, utcnow,
)
from app.monitoring import metrics
from app.repositories import SessionRepository, unit_of_work
from app.repositories.payments import PaymentRepository, RefundRepository
from app.services.bookings.holds import get_booking, lock_booking
from app.services.bookings.manage import Actor
from app.services.core import events
from app.services.core.alerts import booking_words, raise_alert
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput, InvalidState
from app.services.core.ukformat import pounds
from app.services.payments.gateway import (
    GatewayRejected, GatewayUnavailable, RefundRequest, RefundResult,
)
from app.services.payments.runtime import runtime
from app.validation.admin import validate_pounds

log = logging.getLogger(__name__)

handlers = events.HandlerSet()

# Our reasons (Refund.reason) and the one Stripe is told.
REASON_CANCELLATION = "cancellation"
REASON_ADMIN = "admin"
REASON_LATE_PAYMENT = "late_payment"              # paid after the hold, seats gone
REASON_BOOKING_CLOSED = "booking_closed"          # paid for a cancelled booking
REASON_DUPLICATE = "duplicate_payment"            # paid twice for one booking
REASON_INVOICE_CHANGED = "invoice_changed"        # paid what an invoice no longer owed
REASON_PROVIDER = "provider"                      # made at the provider (dashboard)
UNKEPT_PAYMENT_REASONS = (REASON_LATE_PAYMENT, REASON_BOOKING_CLOSED, REASON_DUPLICATE,
                          REASON_INVOICE_CHANGED)
STRIPE_REASONS = {REASON_DUPLICATE: "duplicate"}

# How long a claimed attempt owns the row; a worker that dies mid-call gives it
# back when this passes.
ATTEMPT_LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
ALERT_AFTER_ATTEMPTS = 5

# An admin's refund as typed in pounds (blank: everything still refundable).
REFUND_AMOUNT_RULE = partial(validate_pounds, field_label="refund amount", required=False,
                             allow_zero=False)


def backoff(attempts: int) -> timedelta:
    """Delay after `attempts` failed tries: 1, 2, 4 ... minutes, at most six hours."""
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


# -- reading -----------------------------------------------------------------------------
def refunds_for(reference: str) -> list[Refund]:
    return RefundRepository().for_booking(get_booking(reference).id)


# -- writing rows --------------------------------------------------------------------------
def create_refund_row(booking: Booking, payment: Payment | None, amount_pence: int, *,
                      reason: str, purpose: str | None = None,
                      requested_by_id: int | None = None, now: datetime | None = None) -> Refund:
    """Write a pending refund in the caller's transaction (which must hold the
    session lock of `booking`). With a `purpose`, the key is fixed and a second
    call returns the first row. The amount is capped at what `payment` can still
    give back; InvalidState if that is nothing."""
    now = now or utcnow()
    repo = RefundRepository()
    key = f"refund-{booking.reference}-{purpose}" if purpose else None
    if key:
        existing = repo.get_by_idempotency_key(key)
        if existing is not None:
            return existing
    if payment is None or not payment.is_card:
        # Nothing to refund through the gateway (paid by invoice or bank transfer):
        # keep the debt on record and hand it to an admin.
        refund = repo.add(Refund(
            booking_id=booking.id, payment_id=payment.id if payment else None,
            amount_pence=amount_pence, reason=reason, status=RefundStatus.FAILED,
            idempotency_key=key, requested_by_id=requested_by_id,
            last_error="No card payment to refund through the provider: pay it back by "
                       "bank transfer."))
        metrics.count_refund(repo.session, "manual")
        raise_alert("payments.refund_needs_admin",
                    f"Refund of {pounds(amount_pence)} owed to {booking_words(booking)}. "
                    "There is no card payment to refund it to: please pay it back by bank "
                    "transfer.",
                    severity=Severity.WARNING, subject=f"refund:{refund.id}")
        return refund
    available = PaymentRepository().refundable_pence(payment)
    if available <= 0:
        raise InvalidState("This payment has already been refunded in full.")
    refund = repo.add(Refund(
        booking_id=booking.id, payment_id=payment.id, amount_pence=min(amount_pence, available),
        reason=reason, status=RefundStatus.PENDING, idempotency_key=key, attempts=0,
        next_attempt_at=now, requested_by_id=requested_by_id))
    if refund.idempotency_key is None:
        refund.idempotency_key = f"refund-{booking.reference}-{refund.id}"
        repo.flush()
    return refund


# -- the provider call ------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundAttempt:
    refund_id: int
    status: RefundStatus
    outcome: str      # succeeded, pending_at_provider, retry_later, failed, not_due


def attempt_refund(refund_id: int, *, now: datetime | None = None) -> RefundAttempt:
    """Call the gateway for one due refund (never raises for a provider problem).

    Call it outside any transaction: it commits the claim before the call.
    """
    now = now or utcnow()
    repo = RefundRepository()
    with unit_of_work():
        claimed = repo.claim(refund_id, now, now + ATTEMPT_LEASE)
    refund = repo.get_fresh(refund_id)
    if not claimed:
        return RefundAttempt(refund_id, refund.status, "not_due")
    payment = refund.payment
    if payment is None or not payment.provider_payment_id:
        _fail(refund, "The payment has no provider reference to refund.", now)
        return RefundAttempt(refund_id, RefundStatus.FAILED, "failed")
    request = RefundRequest(
        idempotency_key=refund.idempotency_key, refund_id=refund.id,
        booking_reference=refund.booking.reference, payment_intent=payment.provider_payment_id,
        amount_pence=refund.amount_pence,
        reason=STRIPE_REASONS.get(refund.reason, "requested_by_customer"))
    try:
        result = runtime().gateway.create_refund(request)
    except GatewayUnavailable as exc:
        _retry_later(refund, str(exc), now)
        return RefundAttempt(refund_id, RefundStatus.PENDING, "retry_later")
    except GatewayRejected as exc:
        _fail(refund, f"The provider refused the refund: {exc}", now)
        return RefundAttempt(refund_id, RefundStatus.FAILED, "failed")
    with unit_of_work():
        status = record_provider_result(refund, result, now)
    outcome = {RefundStatus.SUCCEEDED: "succeeded", RefundStatus.FAILED: "failed"}.get(
        status, "pending_at_provider")
    return RefundAttempt(refund_id, status, outcome)


def _retry_later(refund: Refund, error: str, now: datetime) -> None:
    with unit_of_work():
        repo = RefundRepository()
        refund = repo.get_fresh(refund.id)
        refund.next_attempt_at = now + backoff(refund.attempts)
        refund.last_error = error
        metrics.count_refund(repo.session, "retry_later")
        log.warning("refund %s for %s: attempt %d failed, retrying at %s: %s", refund.id,
                    refund.booking.reference, refund.attempts, refund.next_attempt_at, error)
        if refund.attempts >= ALERT_AFTER_ATTEMPTS:
            raise_alert("payments.refund_delayed",
                        f"Refund of {pounds(refund.amount_pence)} owed to "
                        f"{booking_words(refund.booking)} has failed {refund.attempts} times "
                        f"({error}). It stays queued and is retried automatically.",
                        severity=Severity.WARNING, subject=f"refund:{refund.id}")


def _fail(refund: Refund, error: str, now: datetime) -> None:
    with unit_of_work():
        repo = RefundRepository()
        if repo.mark_status(refund.id, RefundStatus.FAILED, now, last_error=error,
                            next_attempt_at=None):
            metrics.count_refund(repo.session, "failed")
            raise_alert("payments.refund_failed",
                        f"Refund of {pounds(refund.amount_pence)} owed to "
                        f"{booking_words(refund.booking)} failed for good: {error} Please "
                        "refund the customer another way.",
                        severity=Severity.CRITICAL, subject=f"refund:{refund.id}")
    RefundRepository().refresh(refund)


def record_provider_result(refund: Refund, result: RefundResult, now: datetime) -> RefundStatus:
    """Apply what the provider says about one of our refunds (API answer or webhook),
    in the caller's transaction. Returns the refund's status afterwards."""
    repo = RefundRepository()
    if refund.provider_refund_id is None:
        refund.provider_refund_id = result.id
    if result.status == "succeeded":
        # From failed too: the provider's word that the money went back wins.
        if repo.mark_status(refund.id, RefundStatus.SUCCEEDED, now, next_attempt_at=None,
                            last_error=None,
                            from_statuses=(RefundStatus.PENDING, RefundStatus.FAILED)):
            metrics.count_refund(repo.session, "succeeded")
            _announce_refund(refund)
    elif result.status in ("failed", "canceled"):
        if repo.mark_status(refund.id, RefundStatus.FAILED, now, next_attempt_at=None,
                            last_error=f"The provider reports the refund {result.status}."):
            metrics.count_refund(repo.session, "failed")
            what = "cancelled" if result.status == "canceled" else result.status
            raise_alert("payments.refund_failed",
                        f"Refund of {pounds(refund.amount_pence)} owed to "
                        f"{booking_words(refund.booking)} was {what} by Stripe. Please refund "
                        "the customer another way.",
                        severity=Severity.CRITICAL, subject=f"refund:{refund.id}")
    else:  # pending / requires_action: the provider will send refund.updated
        repo.mark_status(refund.id, RefundStatus.PENDING, now, next_attempt_at=None)
    repo.flush()
    repo.refresh(refund)
    return refund.status


def _announce_refund(refund: Refund) -> None:
    """RefundIssued, for the customer's email. Unkept late payments were announced
    when we decided to refund them (LatePaymentRefunded), so not again here."""
    if refund.reason == REASON_LATE_PAYMENT:
        return
    booking = refund.booking
    events.record_event(events.REFUND_ISSUED, booking.reference, {
        "reference": booking.reference, "refund_id": refund.id,
        "amount_pence": refund.amount_pence, "reason": refund.reason,
        "contact_name": booking.contact_name, "contact_email": booking.contact_email,
    })


def record_provider_refund(obj: dict, payment: Payment | None, now: datetime) -> bool:
    """Apply a Stripe Refund object from a webhook (inside the webhook's transaction).

    Our own refunds are found by their provider id or the ``refund_id`` we put in
    their metadata; a refund made elsewhere (the Stripe dashboard) gets a row of
    its own. Returns False when it cannot be placed yet: the payment it belongs
    to has not been recorded (its completion event has not arrived).
    """
    repo = RefundRepository()
    refund = repo.get_by_provider_id(obj["id"])
    metadata = obj.get("metadata") or {}
    if refund is None and str(metadata.get("refund_id", "")).isdigit():
        candidate = repo.get(int(metadata["refund_id"]))
        if candidate is not None and candidate.booking.reference == metadata.get("booking_reference"):
            refund = candidate
    if refund is None:
        if payment is None:
            return False
        SessionRepository().lock(payment.booking.session_id)
        refund = repo.get_by_provider_id(obj["id"])
        if refund is None:
            refund = repo.add(Refund(
                booking_id=payment.booking_id, payment_id=payment.id,
                amount_pence=int(obj["amount"]), reason=REASON_PROVIDER,
                status=RefundStatus.PENDING, provider_refund_id=obj["id"], attempts=0,
                next_attempt_at=None))
    record_provider_result(refund, RefundResult(id=obj["id"], status=obj.get("status") or "pending",
                                                amount_pence=int(obj.get("amount") or 0)), now)
    return True


# -- what triggers refunds ----------------------------------------------------------------------
def refund_cancellation(reference: str, *, now: datetime | None = None) -> Refund | None:
    """Refund what the cancellation policy owes a cancelled booking (idempotent).

    Returns the refund (made now, queued, or made before), or None if nothing is owed.
    """
    now = now or utcnow()
    with unit_of_work():
        booking = lock_booking(reference)
        if booking.status != BookingStatus.CANCELLED or booking.refund_due_pence <= 0:
            return None
        if booking.invoice is not None and not booking.invoice.is_paid:
            return None  # nothing was paid: a credit note takes it off the invoice
        payment = PaymentRepository().card_payment_for(booking.id)
        if payment is None:  # paid another way, or refunded already: create_refund_row decides
            paid = PaymentRepository().succeeded_for_booking(booking.id)
            payment = paid[0] if paid else None
        try:
            refund = create_refund_row(booking, payment, booking.refund_due_pence,
                                       reason=REASON_CANCELLATION, purpose=REASON_CANCELLATION,
                                       now=now)
        except InvalidState:
            log.info("cancellation of %s: its payment is already refunded in full", reference)
            return None
        refund_id = refund.id
    if refund.status == RefundStatus.PENDING:
        attempt_refund(refund_id, now=now)
    return RefundRepository().get_fresh(refund_id)


@handlers.on(events.BOOKING_CANCELLED, name="payments.refund_cancellation")
def on_booking_cancelled(event: OutboxEvent) -> None:
    """Outbox handler: a cancelled, paid booking gets its refund through the gateway."""
    if not int(event.payload.get("refund_due_pence") or 0):
        return
    refund_cancellation(event.payload.get("reference") or event.aggregate_id)


def refund_booking(reference: str, amount_pence: int | None = None, *, actor: Actor,
                   now: datetime | None = None) -> Refund:
    """Staff (the admin's Refund page, or the ``payments refund`` command as the
    system) refund part (`amount_pence`) or all (None) of what is left of a
    booking's card payment; a goodwill refund after the course too. Money only:
    the booking's status and seats are unchanged (cancel it separately).
    InvalidInput (at `amount`) for an amount that is not there to refund. A staff
    refund is audited as ``booking.refund`` with the refund row it wrote, in the
    same transaction (the provider's answer is on that row)."""
    now = now or utcnow()
    payments = PaymentRepository()
    with unit_of_work():
        booking = lock_booking(reference)
        payment = payments.card_payment_for(booking.id)
        if payment is None:
            raise InvalidState("This booking has no card payment left to refund.")
        available = payments.refundable_pence(payment)
        amount = available if amount_pence is None else int(amount_pence)
        if not 0 < amount <= available:
            message = f"Enter an amount between £0.01 and £{available / 100:.2f}."
            raise InvalidInput(message, fields={"amount": message})
        refund = create_refund_row(booking, payment, amount, reason=REASON_ADMIN,
                                   requested_by_id=actor.user_id, now=now)
        if actor.is_staff:
            record_audit(actor.user_id, "booking.refund", "booking", booking.reference, after={
                "refund_id": refund.id, "amount_pence": refund.amount_pence})
        refund_id = refund.id
    attempt_refund(refund_id, now=now)
    return RefundRepository().get_fresh(refund_id)


# -- the retry queue ---------------------------------------------------------------------------
def retry_due_refunds(*, now: datetime | None = None, limit: int = 100) -> list[RefundAttempt]:
    """Attempt every pending refund whose next attempt is due."""
    now = now or utcnow()
    repo = RefundRepository()
    due_ids = [r.id for r in repo.due(now, limit=limit)]
    repo.end_read()  # no transaction held across the provider calls
    return [attempt_refund(refund_id, now=now) for refund_id in due_ids]


def create_missing_cancellation_refunds(*, limit: int = 100) -> int:
    """Safety net: cancelled bookings owed money that have no cancellation refund yet."""
    repo = RefundRepository()
    references = repo.cancelled_without_refund(REASON_CANCELLATION, limit=limit)
    repo.end_read()
    for reference in references:
        refund_cancellation(reference)
    return len(references)
