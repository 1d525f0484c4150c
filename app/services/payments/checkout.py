"""Starting a card payment for a held booking, following it, and the payment
links queued while the provider is down. (Invoice and bank transfer: `offline`.)

One Payment row per checkout attempt. It is written (and committed) *before*
the provider is called, and the call's ``Idempotency-Key`` and every
parameter are derived from it, so:

* a retry of the same attempt (a second click, a timeout, the retry job) sends
  the same key with byte-identical parameters and gets the same Checkout
  Session back, never a second one;
* an attempt whose call failed is still on record: it is the queued retry.

Stripe wants ``expires_at`` at least 30 minutes ahead while a hold is 30
minutes from when the seats were taken, so a session is set to expire at the
later of the hold's end and now + 30 minutes + a small margin; a payment made
after the hold lapsed is a late payment (confirmed if the seats are still
free, refunded otherwise, see `settlement`). The margin also bounds how long a
queued attempt can be retried with its own key before its ``expires_at``
would be refused; after that a fresh attempt (row and key) replaces it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models import Booking, BookingStatus, Payment, PaymentStatus, Severity, utcnow
from app.monitoring import metrics
from app.repositories import unit_of_work
from app.repositories.payments import PaymentRepository, RefundRepository
from app.services.bookings.holds import confirm_booking, get_booking, lock_booking
from app.services.core import events
from app.services.core.alerts import booking_words, raise_alert
from app.services.core.errors import HoldExpired, InvalidState, PaymentUnavailable
from app.services.core.links import Links
from app.services.core.links import current as current_links
from app.services.core.ukformat import pounds
from app.services.payments import refunds, settlement
from app.services.payments.errors import CardPaymentsPaused
from app.services.payments.gateway import (
    CheckoutRequest, CheckoutSession, GatewayRejected, GatewayUnavailable,
)
from app.services.payments.runtime import runtime

log = logging.getLogger(__name__)

CURRENCY = "gbp"
STRIPE_MIN_EXPIRY = timedelta(minutes=30)
EXPIRY_MARGIN = timedelta(minutes=3)
# An open session is handed out again while it has at least this long to run.
REUSE_MIN_LEFT = timedelta(minutes=2)
# A queued attempt keeps its key while its expires_at is still acceptable to Stripe.
REQUEUE_SLACK = timedelta(seconds=30)


@dataclass(frozen=True)
class CheckoutLinks:
    """Where the provider sends the customer back (absolute URLs)."""

    success_url: str
    cancel_url: str


def checkout_links(reference: str, site: Links | None = None) -> CheckoutLinks:
    """The return URLs of a booking's checkout, on PUBLIC_BASE_URL: the "confirming"
    page after paying, the hold page (seats still held) after cancelling at the
    provider. The pay button and the retry job both use these; `site` defaults to
    the installed app.services.core.links."""
    site = site or current_links()
    return CheckoutLinks(success_url=site.payment_received_link(reference),
                         cancel_url=site.pay_link(reference))


@dataclass(frozen=True)
class CheckoutStart:
    checkout_url: str | None      # None when nothing is due and the booking is confirmed
    payment_id: int | None
    is_reused: bool = False


def _is_invoice_payment(booking: Booking) -> bool:
    """Paying what its invoice still owes: a booking taken on invoice (confirmed, or
    cancelled with part still due) holds no seats, so no hold has to be live."""
    return booking.status in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED) \
        and booking.awaits_payment


def _check_payable(booking: Booking, now: datetime) -> None:
    if _is_invoice_payment(booking):
        return
    if booking.invoice is not None:
        raise InvalidState(f"Invoice {booking.invoice.number} has nothing left to pay.")
    if booking.status == BookingStatus.CONFIRMED:
        raise InvalidState("This booking is already paid for.")
    if booking.status != BookingStatus.HELD:
        raise InvalidState(f"A {booking.status.value} booking cannot be paid for.")
    if not booking.hold_is_live(now):
        raise HoldExpired()


def amount_due(booking: Booking) -> int:
    """What a card payment is for: the invoice's balance after credit notes for a
    booking on invoice, else the booking's amount."""
    return booking.invoice.outstanding_pence if _is_invoice_payment(booking) \
        else booking.amount_pence


def session_expires_at(booking: Booking, now: datetime) -> datetime:
    """The later of the hold's end (when there is a hold) and Stripe's minimum."""
    earliest = now + STRIPE_MIN_EXPIRY + EXPIRY_MARGIN
    if booking.hold_expires_at is None:
        return earliest
    return max(booking.hold_expires_at, earliest)


def _is_open(payment: Payment, now: datetime) -> bool:
    return bool(payment.status == PaymentStatus.PENDING and payment.checkout_url
                and payment.expires_at and payment.expires_at - now >= REUSE_MIN_LEFT)


def _can_retry_with_own_key(payment: Payment, now: datetime) -> bool:
    return bool(payment.status == PaymentStatus.PENDING and payment.provider_checkout_id is None
                and payment.expires_at
                and payment.expires_at >= now + STRIPE_MIN_EXPIRY + REQUEUE_SLACK)


def _description(booking: Booking, *, per_seat: bool) -> str:
    course_session = booking.session
    starts = course_session.starts_at.strftime("%d %b %Y")
    what = "one seat" if per_seat else f"{booking.seats} seats"
    if booking.discount_pence:
        what += f", after {booking.discount_label.lower()}"
    return f"{course_session.course.title}, {starts}, {course_session.venue.town} ({what})"


def checkout_request(payment: Payment, booking: Booking, links: CheckoutLinks) -> CheckoutRequest:
    # One line per seat when the total divides evenly; a discounted total that does not
    # is one line for the booking, so the card is charged exactly the booking's amount.
    # An invoice is one line for what it still owes.
    invoice = booking.invoice
    per_seat = invoice is None and payment.amount_pence % booking.seats == 0
    description = _description(booking, per_seat=per_seat)
    if invoice is not None:
        description = f"Invoice {invoice.number}: {description}"
    return CheckoutRequest(
        idempotency_key=f"checkout-{booking.reference}-{payment.id}",
        payment_id=payment.id,
        booking_reference=booking.reference,
        customer_email=invoice.billing_email if invoice is not None else booking.contact_email,
        description=description,
        unit_amount_pence=payment.amount_pence // booking.seats if per_seat
        else payment.amount_pence,
        quantity=booking.seats if per_seat else 1,
        currency=payment.currency,
        expires_at=payment.expires_at,
        success_url=links.success_url,
        cancel_url=links.cancel_url,
    )


def start_checkout(reference: str, links: CheckoutLinks, *, now: datetime | None = None,
                   announce_link: bool = False) -> CheckoutStart:
    """The provider's checkout page for a held booking, or for what the invoice of a
    booking taken on invoice still owes: an open one (for that amount) if there is
    one, otherwise a new attempt.

    Raises HoldExpired / InvalidState when the booking cannot be paid for, and
    CardPaymentsPaused when the provider is down: the seats stay held and the
    attempt stays queued for `retry_queued_checkouts` (an invoice's attempt is not
    retried: the invoice stays due and its link works again later). With
    `announce_link` (the retry job) a PaymentLinkReady event asks for the link to
    be emailed.
    """
    now = now or utcnow()
    gateway = runtime().gateway
    payments = PaymentRepository()
    with unit_of_work():
        booking = lock_booking(reference)
        _check_payable(booking, now)
        amount = amount_due(booking)
        if booking.amount_pence == 0:
            confirm_booking(reference, now=now, payment_note="No charge")
            return CheckoutStart(checkout_url=None, payment_id=None)
        payment = payments.latest_for_booking(booking.id)
        same = payment is not None and payment.provider == gateway.name \
            and payment.amount_pence == amount
        if same and _is_open(payment, now):
            return CheckoutStart(payment.checkout_url, payment.id, is_reused=True)
        if not same or not _can_retry_with_own_key(payment, now):
            if payment is not None:
                payments.mark_status_if_pending(payment.id, PaymentStatus.EXPIRED, now)
            payment = payments.add(Payment(
                booking_id=booking.id, provider=gateway.name, amount_pence=amount,
                currency=CURRENCY, status=PaymentStatus.PENDING,
                expires_at=session_expires_at(booking, now)))
        request = checkout_request(payment, booking, links)
        hold_expires_at = booking.hold_expires_at
    try:
        session = gateway.create_checkout(request)
    except GatewayUnavailable as exc:
        log.warning("checkout for %s queued: %s", reference, exc)
        raise CardPaymentsPaused(reference, hold_expires_at) from exc
    except GatewayRejected as exc:
        _reject(request, gateway.name, str(exc), now)
        raise PaymentUnavailable("We could not start the card payment. Please try again, "
                                 "or call us to pay another way.") from exc
    _store_session(request.payment_id, session, announce_link=announce_link)
    return CheckoutStart(session.url, request.payment_id)


def _store_session(payment_id: int, session: CheckoutSession, *, announce_link: bool) -> None:
    with unit_of_work():
        payment = PaymentRepository().get_fresh(payment_id)
        payment.provider_checkout_id = session.id
        payment.checkout_url = session.url
        metrics.count_payment(PaymentRepository().session, payment.provider, "checkout_created")
        if announce_link:
            booking = payment.booking
            events.record_event(events.PAYMENT_LINK_READY, booking.reference, {
                "reference": booking.reference, "amount_pence": payment.amount_pence,
                "hold_expires_at": booking.hold_expires_at.isoformat()
                if booking.hold_expires_at else None,
                "contact_name": booking.contact_name, "contact_email": booking.contact_email,
            })


def _reject(request: CheckoutRequest, provider: str, error: str, now: datetime) -> None:
    with unit_of_work():
        payments = PaymentRepository()
        if payments.mark_status_if_pending(request.payment_id, PaymentStatus.FAILED, now):
            metrics.count_payment(payments.session, provider, "failed")
        booking = get_booking(request.booking_reference)
        amount = pounds(request.unit_amount_pence * request.quantity)
        raise_alert("payments.checkout_rejected",
                    f"Stripe refused to take a card payment of {amount} from "
                    f"{booking_words(booking)}: {error}",
                    severity=Severity.CRITICAL, subject=f"payment:{request.payment_id}")


# -- following a payment ------------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentProgress:
    """Where a booking's payment stands, for the return page and its polling fragment."""

    state: str    # confirmed, confirming, refunded, failed, released, paused
    booking: Booking
    refund_pence: int = 0

    @property
    def is_final(self) -> bool:
        return self.state != "confirming" and self.state != "paused"


def payment_progress(reference: str) -> PaymentProgress:
    booking = get_booking(reference)
    if booking.status == BookingStatus.CONFIRMED:
        return PaymentProgress("confirmed", booking)
    unkept = [r for r in RefundRepository().for_booking(booking.id)
              if r.reason == refunds.REASON_LATE_PAYMENT]
    if unkept:
        return PaymentProgress("refunded", booking, sum(r.amount_pence for r in unkept))
    latest = PaymentRepository().latest_for_booking(booking.id)
    if latest is not None and latest.status == PaymentStatus.FAILED:
        return PaymentProgress("failed", booking)
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.REFUNDED):
        return PaymentProgress("released", booking)
    if latest is not None and latest.status == PaymentStatus.PENDING \
            and latest.provider_checkout_id is None:
        return PaymentProgress("paused", booking)
    return PaymentProgress("confirming", booking)


def sync_checkout(reference: str, *, now: datetime | None = None) -> PaymentProgress:
    """Ask the provider about the booking's open checkout (a verified server-side read)
    and settle it if paid, so the customer is not left waiting on a slow webhook.
    Provider trouble is not the customer's problem here: the webhook will come."""
    now = now or utcnow()
    booking = get_booking(reference)
    payments = PaymentRepository()
    latest = payments.latest_for_booking(booking.id)
    if (booking.status == BookingStatus.CONFIRMED and not booking.awaits_payment) \
            or latest is None or latest.status != PaymentStatus.PENDING \
            or not latest.provider_checkout_id:
        return payment_progress(reference)
    checkout_id = latest.provider_checkout_id
    payments.end_read()  # no transaction (or connection) held across the call
    try:
        session = runtime().gateway.retrieve_checkout(checkout_id)
    except (GatewayUnavailable, GatewayRejected) as exc:
        log.info("retrieve of %s for %s failed: %s", checkout_id, reference, exc)
        return payment_progress(reference)
    if session.is_paid:
        with unit_of_work():
            result = settlement.settle_paid_checkout(session, now)
        for refund_id in result.refund_ids:
            refunds.attempt_refund(refund_id)
    return payment_progress(reference)


# -- the retry queue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckoutRetryReport:
    links_sent: int = 0
    still_paused: int = 0
    expired: int = 0


def retry_queued_checkouts(links_for: Callable[[str], CheckoutLinks] = checkout_links, *,
                           now: datetime | None = None, limit: int = 100) -> CheckoutRetryReport:
    """Try again the checkouts that could not be started while the provider was
    down; each that works records PaymentLinkReady (the customer is emailed the
    link). `links_for(reference)` builds the return URLs (`checkout_links`).
    Queued attempts whose hold has lapsed are closed (HoldExpired tells the customer)."""
    now = now or utcnow()
    payments = PaymentRepository()
    with unit_of_work():
        expired = 0
        for payment in payments.stale_queued_checkouts(now):
            expired += payments.mark_status_if_pending(payment.id, PaymentStatus.EXPIRED, now)
    references = [p.booking.reference for p in payments.queued_checkouts(now, limit=limit)]
    payments.end_read()
    sent = paused = 0
    for reference in dict.fromkeys(references):
        try:
            start_checkout(reference, links_for(reference), now=now, announce_link=True)
            sent += 1
        except CardPaymentsPaused:
            paused += 1
            break  # the provider is still down: the rest would fail the same way
        except (HoldExpired, InvalidState, PaymentUnavailable) as exc:
            log.info("queued checkout for %s dropped: %s", reference, exc)
    return CheckoutRetryReport(links_sent=sent, still_paused=paused, expired=expired)

