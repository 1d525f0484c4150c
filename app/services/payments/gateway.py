"""The payment gateway interface: what the payment services need from a card
provider, with two implementations chosen by ``PAYMENT_PROVIDER``:

* ``stripe`` (`StripeGateway`): Stripe Checkout through the official SDK;
* ``fake`` (`FakeGateway`): the embedded default, a local checkout page whose
  buttons send signed Stripe-shaped webhook events through the same code path.

Gateways speak in plain dataclasses and raise only the two errors below, so
the services never see an SDK type. Every call goes through a circuit breaker
(see `breakers`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Protocol


class GatewayError(Exception):
    """A gateway call did not do what was asked."""

    category, severity = "payment", "error"  # in the error taxonomy (app.monitoring.errors)


class GatewayUnavailable(GatewayError):
    """The provider could not be reached or answered with an outage (timeout,
    connection error, 5xx, rate limit), or its breaker is open. Retry later."""

    category, severity = "external_service", "error"

    def __init__(self, message: str, *, breaker_open: bool = False):
        super().__init__(message)
        self.breaker_open = breaker_open


class GatewayRejected(GatewayError):
    """The provider refused the request for good (card declined, invalid request,
    idempotency key reused with other parameters). Retrying will not help."""

    category, severity = "payment", "warning"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CheckoutRequest:
    """Everything a Checkout Session is created from. Derived from the payment row
    only, so a retry sends byte-identical parameters with the same key (Stripe
    refuses a reused key with different parameters)."""

    idempotency_key: str
    payment_id: int
    booking_reference: str
    customer_email: str
    description: str           # the line item's name
    unit_amount_pence: int
    quantity: int
    currency: str
    expires_at: datetime
    success_url: str
    cancel_url: str

    @property
    def amount_pence(self) -> int:
        return self.unit_amount_pence * self.quantity

    @property
    def metadata(self) -> dict[str, str]:
        return {"booking_reference": self.booking_reference, "payment_id": str(self.payment_id)}


@dataclass(frozen=True)
class CheckoutSession:
    """A provider's checkout session, as much of it as we use."""

    id: str
    url: str | None
    status: str                    # open, complete, expired
    payment_status: str            # paid, unpaid, no_payment_required
    payment_intent: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    client_reference_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None

    @property
    def is_paid(self) -> bool:
        return self.payment_status == "paid"

    @classmethod
    def from_stripe(cls, obj: Mapping[str, Any]) -> "CheckoutSession":
        """From a Checkout Session object (an SDK object or the JSON of an event)."""
        expires = obj.get("expires_at")
        payment_intent = obj.get("payment_intent")
        if isinstance(payment_intent, Mapping):  # expanded
            payment_intent = payment_intent.get("id")
        return cls(
            id=obj["id"],
            url=obj.get("url"),
            status=obj.get("status") or "open",
            payment_status=obj.get("payment_status") or "unpaid",
            payment_intent=payment_intent,
            amount_total=obj.get("amount_total"),
            currency=obj.get("currency"),
            client_reference_id=obj.get("client_reference_id"),
            metadata=dict(obj.get("metadata") or {}),
            expires_at=datetime.fromtimestamp(expires, tz=timezone.utc) if expires else None,
        )


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    refund_id: int
    booking_reference: str
    payment_intent: str
    amount_pence: int
    reason: str = "requested_by_customer"   # Stripe's: duplicate, fraudulent, requested_by_customer

    @property
    def metadata(self) -> dict[str, str]:
        return {"booking_reference": self.booking_reference, "refund_id": str(self.refund_id)}


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str                    # succeeded, pending, requires_action, failed, canceled
    amount_pence: int


class PaymentGateway(Protocol):
    """What a card provider must do for us."""

    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Create (or, for a repeated idempotency key, return) a checkout session."""

    def retrieve_checkout(self, checkout_id: str) -> CheckoutSession:
        """The session as the provider sees it now (a verified, server-side read)."""

    def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a payment; a repeated key returns the same refund."""
