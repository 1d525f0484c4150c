"""The fake card provider of the embedded mode (``PAYMENT_PROVIDER=fake``).

It behaves like Stripe Checkout as far as the rest of the system can tell:

* a checkout "session" is a page of our own under ``FAKE_CHECKOUT_PATH``; its
  id is an HMAC of the idempotency key, so the same key gives the same session
  (as Stripe's idempotency does) and nobody can guess another customer's;
* its buttons do not change bookings: they build the Stripe-shaped event that
  Stripe would send (``checkout.session.completed`` for "pay",
  ``checkout.session.expired`` for "abandon"), sign it exactly as Stripe signs
  webhooks, and hand it to the same verification and processing function as
  ``POST /webhooks/stripe`` (see `fake_checkout`);
* refunds succeed at once.

It is refused when ``APP_ENV=production`` (see app.config).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from app.monitoring.tracing import traced
from app.services.payments.breakers import (
    Breakers, CircuitBreakerError, ConcurrentCircuitBreaker, GatewayOutage,
)
from app.services.payments.gateway import (
    CheckoutRequest, CheckoutSession, GatewayUnavailable, RefundRequest, RefundResult,
)

FAKE_CHECKOUT_PATH = "/checkout/fake/"


def _digest(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for `payload`: ``t=<unix time>,v1=<hex HMAC-SHA256
    of "<t>.<payload>" keyed with the endpoint secret>``, as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode("utf-8"),
                         hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def stripe_event(event_type: str, obj: Mapping, *, event_id: str,
                 created: int | None = None) -> dict:
    """A webhook event body shaped like Stripe's (API version of the SDK)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": dict(obj)},
    }


class FakeGateway:
    """`PaymentGateway` for development and tests: no network, same shapes as Stripe."""

    name = "fake"

    def __init__(self, secret: str, breakers: Breakers):
        self._secret = secret
        self._breakers = breakers
        # Set to make every call fail like a Stripe outage (demos of the breaker
        # and the "card payments are paused" page).
        self.simulate_outage = False

    # -- PaymentGateway --------------------------------------------------------------------
    @traced("payments.create_checkout", attributes={"payment.provider": "fake"})
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        checkout_id = "cs_fake_" + _digest(self._secret, "checkout", request.idempotency_key)[:32]
        return self._call(self._breakers.payments, lambda: CheckoutSession(
            id=checkout_id,
            url=FAKE_CHECKOUT_PATH + checkout_id,
            status="open",
            payment_status="unpaid",
            amount_total=request.amount_pence,
            currency=request.currency,
            client_reference_id=request.booking_reference,
            metadata=request.metadata,
            expires_at=request.expires_at,
        ))

    @traced("payments.retrieve_checkout", attributes={"payment.provider": "fake"},
            arguments={"payment.checkout_id": "checkout_id"})
    def retrieve_checkout(self, checkout_id: str) -> CheckoutSession:
        """The fake keeps no state of its own: what happened at its page arrives as
        events, so a server-side read only ever sees an open, unpaid session."""
        return self._call(self._breakers.payments, lambda: CheckoutSession(
            id=checkout_id, url=FAKE_CHECKOUT_PATH + checkout_id, status="open",
            payment_status="unpaid"))

    @traced("payments.create_refund", attributes={"payment.provider": "fake"})
    def create_refund(self, request: RefundRequest) -> RefundResult:
        refund_id = "re_fake_" + _digest(self._secret, "refund", request.idempotency_key)[:24]
        return self._call(self._breakers.refunds, lambda: RefundResult(
            id=refund_id, status="succeeded", amount_pence=request.amount_pence))

    # -- what the fake checkout page needs ---------------------------------------------------
    def payment_intent_for(self, checkout_id: str) -> str:
        return "pi_fake_" + _digest(self._secret, "payment_intent", checkout_id)[:24]

    def event_id_for(self, checkout_id: str, event_type: str) -> str:
        """One id per (session, event type): Stripe sends one completion per session,
        so a second click on "pay" replays the same event and changes nothing."""
        return "evt_fake_" + _digest(self._secret, "event", checkout_id, event_type)[:24]

    def signed_event(self, event_type: str, obj: Mapping, *, webhook_secret: str,
                     event_id: str) -> tuple[bytes, str]:
        """(body, Stripe-Signature header) for one event, ready for webhook processing."""
        payload = json.dumps(stripe_event(event_type, obj, event_id=event_id))
        return payload.encode("utf-8"), sign_payload(payload, webhook_secret)

    def _call(self, breaker: ConcurrentCircuitBreaker, func):
        def guarded():
            if self.simulate_outage:
                raise GatewayOutage("the fake provider is simulating an outage")
            return func()
        try:
            return breaker.call(guarded)
        except CircuitBreakerError as exc:
            raise GatewayUnavailable(f"card payments are paused ({breaker.name} breaker open)",
                                     breaker_open=True) from exc
        except GatewayOutage as exc:
            raise GatewayUnavailable(str(exc)) from exc
