"""Domain errors of the payment services (mapped to responses by app.web.errors)."""
from __future__ import annotations

from datetime import datetime

from app.services.core.errors import DomainError, PaymentUnavailable


class CardPaymentsPaused(PaymentUnavailable):
    """The card provider is down (or its breaker is open). The seats stay held
    until `hold_expires_at` and a retry is queued: the customer will be emailed
    a payment link."""

    code = "payments_paused"

    def __init__(self, reference: str, hold_expires_at: datetime | None):
        if hold_expires_at is None:  # an invoice: no seats held, no link to email
            message = ("Card payments are paused for a moment. Nothing has been charged: "
                       "please try again in a few minutes, or pay by bank transfer.")
        else:
            message = ("Card payments are paused for a moment. Your seats are still held "
                       "and we will email you a payment link.")
        super().__init__(message)
        self.reference = reference
        self.hold_expires_at = hold_expires_at


class InvalidWebhookSignature(DomainError):
    category, severity = "auth", "warning"
    code = "invalid_signature"
    status = 400
    message = "The Stripe-Signature header is missing, wrong or too old."


class MalformedWebhookEvent(DomainError):
    """A correctly signed body that is not an event at all (not a JSON object, or no
    id or type). It is stored as rejected; retrying the same bytes cannot help."""

    category, severity = "validation", "warning"
    code = "malformed_event"
    status = 400
    message = "The body is signed but is not a Stripe event."


class WebhooksPaused(DomainError):
    """The webhook breaker is open (our database is failing): Stripe will retry."""

    category, severity = "database", "error"

    code = "webhooks_paused"
    status = 503
    message = "Webhook processing is paused; please retry later."
