"""What a verified provider fact does to our payments and bookings.

Each function runs inside the caller's transaction (the webhook's, or the
server-side retrieve's) and returns the refunds it queued, which the caller
attempts after its commit (a Stripe call never runs inside a transaction).

Lock order: every transaction that changes a booking's payments or refunds
first takes the booking's session lock (the same UPDATE that serialises seat
changes), then touches payment and refund rows. Seat changes, checkouts,
webhooks and refunds therefore queue on one lock per session and can never
deadlock each other.

A paid checkout, in order:

1. the payment moves to ``succeeded`` by a conditional UPDATE: only the first
   of any number of concurrent deliveries (webhook, replay, retrieve) goes on;
2. the booking is confirmed (``confirm_booking`` records BookingConfirmed only
   on the real transition, so one email);
3. if that is impossible, the money is not kept: the hold expired and the
   seats are gone (``SeatsUnavailable``), or the booking was cancelled meanwhile
   (``InvalidState``), or it was already paid (a second payment): a refund row
   is written for the whole payment, the customer is told (LatePaymentRefunded
   for a late payment; RefundIssued once the refund lands otherwise) and an
   admin alert is raised.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from app.models import Booking, BookingStatus, Payment, PaymentStatus, Severity, WebhookStatus
from app.monitoring import metrics
from app.repositories.invoices import InvoiceRepository
from app.repositories.payments import PaymentRepository, WebhookEventRepository
from app.services.bookings.holds import confirm_booking, lock_booking
from app.services.bookings.manage import Actor, cancel_booking
from app.services.core import events
from app.services.core.alerts import booking_words, raise_alert
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidState, SeatsUnavailable
from app.services.core.ukformat import pounds
from app.services.payments import refunds
from app.services.payments.gateway import CheckoutSession
from app.services.payments.runtime import runtime

log = logging.getLogger(__name__)

REFUND_EVENT_TYPES = ("charge.refunded", "charge.refund.updated", "refund.created",
                      "refund.updated", "refund.failed")


@dataclass
class Settlement:
    """What applying one fact did."""

    outcome: str
    status: WebhookStatus = WebhookStatus.PROCESSED
    note: str | None = None
    refund_ids: list[int] = field(default_factory=list)


def find_payment(session: CheckoutSession) -> Payment | None:
    """Our payment row for a provider checkout session: by its id, or by the
    ``payment_id`` we put in its metadata (if we crashed before storing the id)."""
    payments = PaymentRepository()
    payment = payments.get_by_checkout_id(session.id)
    if payment is not None:
        return payment
    payment_id = str(session.metadata.get("payment_id", ""))
    if not payment_id.isdigit():
        return None
    payment = payments.get(int(payment_id))
    reference = session.metadata.get("booking_reference") or session.client_reference_id
    if payment is None or payment.booking.reference != reference \
            or payment.provider_checkout_id not in (None, session.id):
        return None
    return payment


def _lock(payment: Payment, session: CheckoutSession) -> Booking:
    """Take the booking's session lock, re-read the rows, and adopt the checkout id
    if we crashed before storing it."""
    booking = lock_booking(payment.booking.reference)
    PaymentRepository().refresh(payment)
    if payment.provider_checkout_id is None:
        payment.provider_checkout_id = session.id
        payment.checkout_url = session.url
    return booking


def _unknown(session: CheckoutSession, what: str) -> Settlement:
    log.error("checkout session %s (%s) matches no payment of ours", session.id, what)
    if session.is_paid:
        amount = (f"of {pounds(session.amount_total)} " if session.amount_total is not None
                  else "")
        raise_alert("payments.unknown_checkout",
                    f"Stripe took a card payment {amount}that matches no booking of ours. "
                    f"Please find checkout {session.id} in the Stripe dashboard and refund it "
                    "if needed.",
                    severity=Severity.CRITICAL, subject=f"checkout:{session.id}")
    return Settlement("unknown_payment", note=f"no payment for checkout {session.id}")


# -- paid ------------------------------------------------------------------------------------
def settle_paid_checkout(session: CheckoutSession, now: datetime) -> Settlement:
    """A checkout the provider says is paid: confirm the booking, or refund."""
    payment = find_payment(session)
    if payment is None:
        return _unknown(session, "paid")
    booking = _lock(payment, session)
    payments = PaymentRepository()
    if not payments.mark_succeeded(payment.id, payment_intent=session.payment_intent, now=now):
        return Settlement("already_settled")
    metrics.count_payment(payments.session, payment.provider, "succeeded")
    payments.refresh(payment)
    settlement = _confirm_or_refund(booking, payment, now)
    if payment.provider_payment_id:
        replay_waiting_refund_events(payment, now)
    return settlement


def _confirm_or_refund(booking: Booking, payment: Payment, now: datetime) -> Settlement:
    if booking.invoice is not None:
        return _settle_invoice(booking, payment, now)
    if booking.status == BookingStatus.CONFIRMED:
        if PaymentRepository().succeeded_for_booking(booking.id, excluding=payment.id):
            return _refund_unkept(booking, payment, refunds.REASON_DUPLICATE, now)
        return Settlement("confirmed")
    try:
        confirm_booking(booking.reference, now=now)
    except SeatsUnavailable:
        # confirm_booking raises before it writes anything but the session lock.
        return _refund_unkept(booking, payment, refunds.REASON_LATE_PAYMENT, now)
    except InvalidState:
        return _refund_unkept(booking, payment, refunds.REASON_BOOKING_CLOSED, now)
    return Settlement("confirmed")


def _settle_invoice(booking: Booking, payment: Payment, now: datetime) -> Settlement:
    """A card payment for a booking taken on invoice (its seats are not at stake): it
    pays the invoice when it is exactly what the invoice still owes; a second payment,
    or one for a balance credited meanwhile, is refunded in full."""
    invoice = booking.invoice
    InvoiceRepository().expire(invoice)  # re-read under the booking's lock
    if invoice.is_paid or PaymentRepository().succeeded_for_booking(booking.id,
                                                                    excluding=payment.id):
        return _refund_unkept(booking, payment, refunds.REASON_DUPLICATE, now)
    if payment.amount_pence != invoice.outstanding_pence:
        return _refund_unkept(booking, payment, refunds.REASON_INVOICE_CHANGED, now)
    invoice.paid_at = now
    invoice.paid_reference = f"Card payment {payment.provider_payment_id or payment.id}"[:100]
    booking.payment_note = f"Invoice {invoice.number} paid by card"
    record_audit(None, "invoice.paid_by_card", "invoice", invoice.number,
                 before={"paid_at": None},
                 after={"paid_at": now.isoformat(), "payment_id": payment.id,
                        "amount_pence": payment.amount_pence, "booking": booking.reference})
    log.info("invoice %s paid by card (payment %s)", invoice.number, payment.id)
    return Settlement("invoice_paid")


_UNKEPT_MESSAGES = {
    refunds.REASON_LATE_PAYMENT: "arrived after the hold expired and the seats had gone",
    refunds.REASON_BOOKING_CLOSED: "arrived after the booking was cancelled or closed",
    refunds.REASON_DUPLICATE: "was a second payment for a booking already paid",
    refunds.REASON_INVOICE_CHANGED: "did not match what its invoice still owed (the invoice "
                                    "was credited meanwhile)",
}


def _refund_unkept(booking: Booking, payment: Payment, reason: str, now: datetime) -> Settlement:
    """Money we cannot keep goes back in full, the customer is told, an admin alerted."""
    refund = refunds.create_refund_row(booking, payment, payment.amount_pence, reason=reason,
                                       purpose=f"unkept-{payment.id}", now=now)
    metrics.count_payment(PaymentRepository().session, payment.provider, "late_refunded")
    course_session = booking.session
    if reason == refunds.REASON_LATE_PAYMENT:
        if booking.status in (BookingStatus.HELD, BookingStatus.EXPIRED):
            booking.status = BookingStatus.REFUNDED
            booking.hold_expires_at = None
            metrics.count_booking(PaymentRepository().session, "refunded", booking.seats)
        events.record_event(events.LATE_PAYMENT_REFUNDED, booking.reference, {
            "reference": booking.reference, "refund_id": refund.id,
            "amount_pence": refund.amount_pence, "reason": "seats_gone",
            "contact_name": booking.contact_name, "contact_email": booking.contact_email,
            "session_id": booking.session_id, "course_title": course_session.course.title,
            "starts_at": course_session.starts_at.isoformat(),
        })
    raise_alert("payments.payment_refunded_automatically",
                f"A card payment of {pounds(payment.amount_pence)} from {booking_words(booking)} "
                f"{_UNKEPT_MESSAGES[reason]}. It is being refunded in full automatically and "
                "the customer has been told.",
                severity=Severity.WARNING, subject=f"payment:{payment.id}")
    log.warning("booking %s %s: refunding payment %s", booking.reference,
                _UNKEPT_MESSAGES[reason], payment.id)
    return Settlement(f"refunded_{reason}", refund_ids=[refund.id])


# -- not (yet) paid ---------------------------------------------------------------------------
def record_unpaid_completion(session: CheckoutSession, now: datetime) -> Settlement:
    """Completed but not paid yet (a delayed payment method): wait for the async events."""
    payment = find_payment(session)
    if payment is None:
        return _unknown(session, "awaiting payment")
    _lock(payment, session)
    if payment.status == PaymentStatus.PENDING and session.payment_intent \
            and not payment.provider_payment_id:
        payment.provider_payment_id = session.payment_intent
    return Settlement("awaiting_async_payment")


def settle_failed_async(session: CheckoutSession, now: datetime) -> Settlement:
    """A delayed payment failed: the customer is told; the hold runs its course."""
    payment = find_payment(session)
    if payment is None:
        return _unknown(session, "async payment failed")
    booking = _lock(payment, session)
    if not PaymentRepository().mark_status_if_pending(payment.id, PaymentStatus.FAILED, now):
        return Settlement("already_settled")
    metrics.count_payment(PaymentRepository().session, payment.provider, "failed")
    events.record_event(events.PAYMENT_FAILED, booking.reference, {
        "reference": booking.reference, "amount_pence": payment.amount_pence,
        "reason": "Your bank did not complete the payment.",
        "hold_expires_at": booking.hold_expires_at.isoformat() if booking.hold_expires_at else None,
        "contact_name": booking.contact_name, "contact_email": booking.contact_email,
    })
    return Settlement("payment_failed")


def settle_expired_checkout(session: CheckoutSession, now: datetime) -> Settlement:
    """The checkout expired unpaid (or was abandoned): release the hold now if it is
    still live and no newer checkout of the booking is open."""
    payment = find_payment(session)
    if payment is None:
        return _unknown(session, "expired")
    booking = _lock(payment, session)
    PaymentRepository().mark_status_if_pending(payment.id, PaymentStatus.EXPIRED, now)
    latest = PaymentRepository().latest_for_booking(booking.id)
    if not booking.hold_is_live(now) or (latest is not None and latest.id != payment.id):
        return Settlement("checkout_expired")
    cancel_booking(booking.reference, actor=Actor.system(), policy=runtime().booking_policy,
                   now=now)
    return Settlement("hold_released")


# -- refunds reported by the provider ------------------------------------------------------------
def settle_refund_event(obj: dict, now: datetime) -> Settlement:
    """``charge.refunded`` (a Charge) or ``refund.*`` (a Refund). A refund that
    arrives before the payment it belongs to waits (status received) and is
    replayed when the payment is recorded."""
    payment_intent = obj.get("payment_intent")
    payment = PaymentRepository().get_by_payment_intent(payment_intent) if payment_intent else None
    if obj.get("object") == "charge":
        listed = (obj.get("refunds") or {}).get("data") or []
    else:
        listed = [obj]
    if not listed:
        # Newer API versions do not embed refunds in the charge; refund.* events carry them.
        if payment is None:
            return Settlement("waiting", status=WebhookStatus.RECEIVED,
                              note=f"waiting for payment {payment_intent}")
        return Settlement("nothing_to_record")
    placed = [refunds.record_provider_refund(dict(r), payment, now) for r in listed]
    if not all(placed):
        return Settlement("waiting", status=WebhookStatus.RECEIVED,
                          note=f"waiting for payment {payment_intent}")
    return Settlement("refund_recorded")


def replay_waiting_refund_events(payment: Payment, now: datetime) -> int:
    """Apply the refund events that arrived before `payment` was recorded as paid;
    returns how many were applied."""
    applied = 0
    for record in WebhookEventRepository().waiting(REFUND_EVENT_TYPES):
        obj = json.loads(record.payload)["data"]["object"]
        if obj.get("payment_intent") != payment.provider_payment_id:
            continue
        settlement = settle_refund_event(obj, now)
        if settlement.status == WebhookStatus.PROCESSED:
            record.status = WebhookStatus.PROCESSED
            record.processed_at = now
            record.error = None
            applied += 1
            log.info("webhook %s (%s) applied late, after its payment", record.event_id,
                     record.event_type)
    return applied
