"""Card payments, refunds and provider webhooks.

Modules, each named for what it holds:

* `gateway`: the interface a card provider implements, its dataclasses and errors;
* `stripe_gateway`, `fake_gateway`: the two providers (``PAYMENT_PROVIDER``);
* `breakers`: the circuit breakers (payments, refunds, webhooks) and why their
  calls do not serialise;
* `runtime`: per-application settings, breakers and gateway (`init_app`);
* `checkout`: starting a payment, following it, the retry queue;
* `offline`: invoice and bank transfer, recorded by staff (mark paid, bookings
  taken by phone);
* `webhooks`: verifying and applying provider events once each;
* `settlement`: what a verified fact does (confirm, release, refund);
* `refunds`: refund rows, provider calls, retries, the cancellation handler,
  staff refunds;
* `invoice_card`: paying an invoice by card from its signed link;
* `fake_checkout`: the fake provider's page actions;
* `errors`: the domain errors the web layer maps to pages and JSON.

The web layer imports what it needs from here.
"""
from __future__ import annotations

from datetime import datetime

from app.services.payments.breakers import Breakers, ConcurrentCircuitBreaker
from app.services.payments.checkout import (
    CheckoutLinks, CheckoutRetryReport, CheckoutStart, PaymentProgress, checkout_links,
    payment_progress, retry_queued_checkouts, start_checkout, sync_checkout,
)
from app.services.payments.invoice_card import (
    InvoiceCardStatus, invoice_card_status, invoice_checkout_links, invoice_from_link,
    pay_invoice_by_card,
)
from app.services.payments.errors import CardPaymentsPaused, InvalidWebhookSignature, WebhooksPaused
from app.services.payments.offline import book_on_invoice, create_manual_booking, mark_paid_offline
from app.services.payments.refunds import (
    RefundAttempt, attempt_refund, create_missing_cancellation_refunds, refund_booking,
    refund_cancellation, refunds_for, retry_due_refunds,
)
from app.services.payments.runtime import breaker_states, init_app, runtime
from app.services.payments.webhooks import WebhookOutcome
from app.services.payments.webhooks import receive as receive_webhook

__all__ = [
    "Breakers", "CardPaymentsPaused", "CheckoutLinks", "CheckoutRetryReport", "CheckoutStart",
    "InvoiceCardStatus", "invoice_card_status", "invoice_checkout_links", "invoice_from_link",
    "pay_invoice_by_card",
    "ConcurrentCircuitBreaker", "InvalidWebhookSignature", "PaymentProgress", "RefundAttempt",
    "RetryReport", "WebhookOutcome", "WebhooksPaused", "attempt_refund", "breaker_states",
    "book_on_invoice", "checkout_links", "create_manual_booking", "create_missing_cancellation_refunds", "init_app",
    "mark_paid_offline", "payment_progress", "receive_webhook", "refund_booking",
    "refund_cancellation", "refunds_for", "retry_due_refunds", "retry_queued_checkouts",
    "run_retries", "runtime", "start_checkout", "sync_checkout",
]


class RetryReport:
    """What one `run_retries` pass did."""

    def __init__(self, checkouts: CheckoutRetryReport, cancellations: int,
                 refunds: list[RefundAttempt]):
        self.checkouts = checkouts
        self.cancellation_refunds_created = cancellations
        self.refund_attempts = refunds

    def summary(self) -> str:
        done = sum(1 for a in self.refund_attempts if a.outcome == "succeeded")
        waiting = sum(1 for a in self.refund_attempts if a.outcome == "retry_later")
        return (f"payment links sent: {self.checkouts.links_sent}, still paused: "
                f"{self.checkouts.still_paused}, queued checkouts closed: {self.checkouts.expired}; "
                f"cancellation refunds created: {self.cancellation_refunds_created}; "
                f"refunds attempted: {len(self.refund_attempts)} ({done} succeeded, "
                f"{waiting} to retry)")


def run_retries(*, now: datetime | None = None) -> RetryReport:
    """One pass of everything that waits for the provider: queued checkouts (payment
    links, returning to `checkout_links`), missing cancellation refunds, and due
    refund attempts. Safe to run twice or from several processes (every step claims
    its row first). The scheduler's payments-retry job and the ``payments retry``
    command both run exactly this."""
    checkouts = retry_queued_checkouts(now=now)
    created = create_missing_cancellation_refunds()
    return RetryReport(checkouts, created, retry_due_refunds(now=now))
