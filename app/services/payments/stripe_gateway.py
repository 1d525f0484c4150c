"""Stripe Checkout through the official SDK (``stripe`` 16).

The client is configured so that failures reach the circuit breaker instead of
being hidden: ``max_network_retries=0`` (the SDK would otherwise retry 409s,
5xx and connection errors with backoff), and a ``RequestsClient`` with short
explicit (connect, read) timeouts instead of the SDK's 80 seconds. The API base
comes from ``STRIPE_API_BASE`` when set (tests point it at a fake Stripe on
loopback); it is passed as ``base_addresses={"api": ...}``, which is how
``StripeClient`` takes it, so no module-level ``stripe.api_base`` is touched.

Every POST carries our own ``Idempotency-Key`` (derived from the payment or
refund row), never the SDK's random one, so a retry after a timeout returns
what the first request created.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass

import stripe

from app.monitoring.tracing import traced
from app.services.payments.breakers import Breakers, CircuitBreakerError, ConcurrentCircuitBreaker
from app.services.payments.gateway import (
    CheckoutRequest, CheckoutSession, GatewayRejected, GatewayUnavailable, RefundRequest,
    RefundResult,
)

# Holds last 30 minutes but the customer reaches Stripe a little later, while
# Stripe refuses an `expires_at` under 30 minutes from now (and over 24 hours).
STRIPE_MIN_EXPIRY_SECONDS = 30 * 60


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    api_base: str | None
    connect_timeout: float
    read_timeout: float

    @classmethod
    def from_config(cls, config: Mapping) -> "StripeSettings":
        return cls(
            secret_key=config.get("STRIPE_SECRET_KEY") or "",
            api_base=config.get("STRIPE_API_BASE") or None,
            connect_timeout=float(config["STRIPE_CONNECT_TIMEOUT_SECONDS"]),
            read_timeout=float(config["STRIPE_TIMEOUT_SECONDS"]),
        )


def build_client(settings: StripeSettings) -> stripe.StripeClient:
    http_client = stripe.RequestsClient(timeout=(settings.connect_timeout, settings.read_timeout))
    return stripe.StripeClient(
        settings.secret_key or "sk_test_missing",
        base_addresses={"api": settings.api_base} if settings.api_base else None,
        max_network_retries=0,
        http_client=http_client,
    )


def checkout_params(request: CheckoutRequest) -> dict:
    """The Checkout Session parameters for `request` (mode payment, GBP, one line)."""
    return {
        "mode": "payment",
        # Holds are short; methods that settle days later (Bacs, SEPA) do not fit them.
        "payment_method_types": ["card"],
        "currency": request.currency,
        "line_items": [{
            "quantity": request.quantity,
            "price_data": {
                "currency": request.currency,
                "unit_amount": request.unit_amount_pence,
                "product_data": {"name": request.description},
            },
        }],
        "client_reference_id": request.booking_reference,
        "customer_email": request.customer_email,
        "metadata": request.metadata,
        "payment_intent_data": {"metadata": request.metadata},
        "expires_at": calendar.timegm(request.expires_at.utctimetuple()),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
    }


class StripeGateway:
    """`PaymentGateway` backed by Stripe Checkout."""

    name = "stripe"

    def __init__(self, settings: StripeSettings, breakers: Breakers,
                 client: stripe.StripeClient | None = None):
        self._settings = settings
        self._breakers = breakers
        self._client = client or build_client(settings)

    @traced("payments.create_checkout", attributes={"payment.provider": "stripe"})
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session = self._call(self._breakers.payments, self._client.v1.checkout.sessions.create,
                             params=checkout_params(request),
                             options={"idempotency_key": request.idempotency_key})
        return CheckoutSession.from_stripe(session.to_dict())

    @traced("payments.retrieve_checkout", attributes={"payment.provider": "stripe"},
            arguments={"payment.checkout_id": "checkout_id"})
    def retrieve_checkout(self, checkout_id: str) -> CheckoutSession:
        session = self._call(self._breakers.payments, self._client.v1.checkout.sessions.retrieve,
                             checkout_id)
        return CheckoutSession.from_stripe(session.to_dict())

    @traced("payments.create_refund", attributes={"payment.provider": "stripe"})
    def create_refund(self, request: RefundRequest) -> RefundResult:
        refund = self._call(self._breakers.refunds, self._client.v1.refunds.create, params={
            "payment_intent": request.payment_intent,
            "amount": request.amount_pence,
            "reason": request.reason,
            "metadata": request.metadata,
        }, options={"idempotency_key": request.idempotency_key})
        return RefundResult(id=refund["id"], status=refund["status"],
                            amount_pence=int(refund["amount"]))

    @staticmethod
    def _call(breaker: ConcurrentCircuitBreaker, func, *args, **kwargs):
        """One SDK call through `breaker`, with the SDK's errors turned into ours."""
        try:
            return breaker.call(func, *args, **kwargs)
        except CircuitBreakerError as exc:
            raise GatewayUnavailable(f"Stripe calls are paused ({breaker.name} breaker open)",
                                     breaker_open=True) from exc
        except (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
            raise GatewayRejected(exc.user_message or str(exc), code=exc.code) from exc
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe unavailable: {type(exc).__name__}: "
                                     f"{exc.user_message or exc}") from exc
