"""Stripe webhook events: verify, apply each event id once, then attempt refunds.

`receive(payload, signature)` is the one way an event gets in: the
``POST /webhooks/stripe`` endpoint calls it with the raw body and the
``Stripe-Signature`` header, and the fake provider's checkout page calls it
with an event it built and signed the same way.

* **Verification** is the SDK's ``stripe.Webhook.construct_event`` with
  ``STRIPE_WEBHOOK_SECRET`` and its default tolerance (300 s): a missing,
  malformed, wrong or stale signature raises `InvalidWebhookSignature` (400)
  before anything is read or written.
* **Once per event id**: the WebhookEvent row is inserted *first*, in the same
  transaction as the changes the event makes (the pattern of
  app.services.bookings.idempotency). A replay finds the unique ``event_id`` taken and
  changes nothing. Concurrent duplicate deliveries queue on the unique index
  (PostgreSQL) or the writer lock (SQLite); the loser's insert fails after the
  winner commits and it answers "duplicate". If applying fails, the whole
  transaction (row included) rolls back and the endpoint answers 500, so Stripe
  delivers the event again later.
* **Out of order**: facts are applied by state, not by arrival: a payment is
  settled by whichever of completed / async_payment_succeeded / a server-side
  retrieve arrives first, and a refund event that arrives before its payment is
  stored as ``received`` and replayed when the payment is recorded.
* Unknown event types are stored as ``ignored``, logged, and answered 200.

The whole application step runs through the ``webhooks`` circuit breaker:
when our database keeps failing, events are refused fast with 503 (Stripe
retries for days) instead of piling up on a dead connection pool.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.models import WebhookEvent, WebhookStatus, utcnow
from app.repositories import unit_of_work
from app.repositories.payments import WebhookEventRepository
from app.services.payments import refunds, settlement
from app.services.payments.breakers import CircuitBreakerError
from app.services.payments.errors import InvalidWebhookSignature, WebhooksPaused
from app.services.payments.gateway import CheckoutSession
from app.services.payments.runtime import runtime
from app.services.payments.settlement import Settlement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    event_type: str
    result: str          # what applying it did, or "duplicate" / "ignored"
    status: str          # the WebhookEvent status: processed, received (waiting), ignored


def _checkout_completed(obj: dict, now: datetime) -> Settlement:
    session = CheckoutSession.from_stripe(obj)
    if session.is_paid:
        return settlement.settle_paid_checkout(session, now)
    return settlement.record_unpaid_completion(session, now)


def _async_succeeded(obj: dict, now: datetime) -> Settlement:
    return settlement.settle_paid_checkout(CheckoutSession.from_stripe(obj), now)


def _async_failed(obj: dict, now: datetime) -> Settlement:
    return settlement.settle_failed_async(CheckoutSession.from_stripe(obj), now)


def _expired(obj: dict, now: datetime) -> Settlement:
    return settlement.settle_expired_checkout(CheckoutSession.from_stripe(obj), now)


HANDLERS: dict[str, Callable[[dict, datetime], Settlement]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _async_succeeded,
    "checkout.session.async_payment_failed": _async_failed,
    "checkout.session.expired": _expired,
    **{event_type: settlement.settle_refund_event for event_type in settlement.REFUND_EVENT_TYPES},
}


def verify(payload: bytes, signature: str | None, secret: str) -> dict:
    """The event, if `signature` is Stripe's for `payload`; else InvalidWebhookSignature.
    (The SDK is imported on the first delivery, not when the app starts.)"""
    import stripe

    try:
        stripe.Webhook.construct_event(payload, signature, secret)
        body = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        log.warning("webhook refused: %s", exc)
        raise InvalidWebhookSignature() from exc
    if not isinstance(body, dict) or not body.get("id") or not body.get("type"):
        raise InvalidWebhookSignature("The event has no id or type.")
    return body


def receive(payload: bytes, signature: str | None, *, now: datetime | None = None) -> WebhookOutcome:
    """Verify and apply one delivery (see the module docstring). Call outside a transaction."""
    payments = runtime()
    event = verify(payload, signature, payments.settings.webhook_secret)
    try:
        outcome, refund_ids = payments.breakers.webhooks.call(
            _apply_once, event, payload.decode("utf-8"), payments.settings.provider, now or utcnow())
    except CircuitBreakerError as exc:
        raise WebhooksPaused() from exc
    for refund_id in refund_ids:
        refunds.attempt_refund(refund_id)
    return outcome


def _apply_once(event: dict, payload: str, provider: str, now: datetime
                ) -> tuple[WebhookOutcome, list[int]]:
    repo = WebhookEventRepository()
    event_id, event_type = str(event["id"]), str(event["type"])
    try:
        with unit_of_work():
            record = repo.add(WebhookEvent(provider=provider, event_id=event_id,
                                           event_type=event_type, payload=payload,
                                           status=WebhookStatus.RECEIVED, received_at=now))
            handler = HANDLERS.get(event_type)
            if handler is None:
                log.info("webhook %s: event type %s is not one we act on", event_id, event_type)
                result = Settlement("ignored", status=WebhookStatus.IGNORED)
            else:
                result = handler(dict(event["data"]["object"]), now)
            record.status = result.status
            record.error = result.note
            if result.status != WebhookStatus.RECEIVED:
                record.processed_at = now
    except IntegrityError:
        if repo.get_by_event_id(event_id) is None:
            raise  # not the event id: a real conflict
        log.info("webhook %s (%s): already applied, replay ignored", event_id, event_type)
        return WebhookOutcome(event_id, event_type, "duplicate", "duplicate"), []
    log.info("webhook %s (%s): %s", event_id, event_type, result.outcome)
    return WebhookOutcome(event_id, event_type, result.outcome, result.status.value), \
        result.refund_ids
