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
* **Signed but malformed** events (see `event_problem`) are stored as
  ``rejected`` with the reason, logged at error level, and never applied.
  Retrying the same bytes can never succeed, so: an event with its own id and
  type (a type we act on whose ``data.object`` we cannot read: no ``data``, an
  object that is a string or null, a huge ``expires_at``, list ``metadata``...)
  is acknowledged with 200 ``rejected``, or Stripe would retry it for three
  days and then disable the endpoint, stopping the good events too (the payment
  is still settled by the server-side retrieve); a body that is no event at all
  (not a JSON object, or no usable id or type: Stripe never sends one) is
  answered 400 ``malformed_event``, stored under a digest of its bytes.

The whole application step runs through the ``webhooks`` circuit breaker:
when our database keeps failing, events are refused fast with 503 (Stripe
retries for days) instead of piling up on a dead connection pool.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.models import WebhookEvent, WebhookStatus, utcnow
from app.repositories import unit_of_work
from app.repositories.payments import WebhookEventRepository
from app.services.payments import refunds, settlement
from app.services.payments.breakers import CircuitBreakerError
from app.services.payments.errors import (
    InvalidWebhookSignature, MalformedWebhookEvent, WebhooksPaused,
)
from app.services.payments.gateway import CheckoutSession
from app.services.payments.runtime import runtime
from app.services.payments.settlement import Settlement
from app.validation.json_text import UnreadableJSON
from app.validation.json_text import loads as strict_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    event_type: str
    result: str          # what applying it did, or "duplicate" / "ignored" / "rejected"
    status: str          # the WebhookEvent status: processed, received (waiting), ignored,
                         # rejected


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


def verify(payload: bytes, signature: str | None, secret: str) -> str:
    """The body as text, if `signature` is Stripe's for `payload` and no older than the
    SDK's tolerance (300 s); else InvalidWebhookSignature. Nothing is parsed before.
    (The SDK is imported on the first delivery, not when the app starts.)"""
    import stripe

    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret,
                                              stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        log.warning("webhook refused: %s", exc)
        raise InvalidWebhookSignature() from exc
    return text


# -- the shape of the events we act on -------------------------------------------------------
# Stripe ids and event types fit these columns (webhook_events.event_id, .event_type).
MAX_EVENT_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 100
EVENT_INTEGER_DIGITS = 1000
LATEST_TIMESTAMP = 253402300799      # 9999-12-31T23:59:59Z, the last a datetime can hold
CHECKOUT_EVENT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                        "checkout.session.async_payment_failed", "checkout.session.expired")


def _is_name(value: object, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length


def _is_whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _strings_or_none(obj: Mapping, *keys: str) -> str | None:
    for key in keys:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return f"{key} is not a string"
    return None


def _metadata_problem(obj: Mapping) -> str | None:
    metadata = obj.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        return "metadata is not an object of strings"
    return None


def _checkout_problem(obj: Mapping) -> str | None:
    if not _is_name(obj.get("id"), MAX_EVENT_ID_LENGTH):
        return "the checkout session has no id"
    payment_intent = obj.get("payment_intent")
    if isinstance(payment_intent, Mapping):
        payment_intent = payment_intent.get("id")
    if payment_intent is not None and not isinstance(payment_intent, str):
        return "payment_intent is not an id"
    if obj.get("amount_total") is not None and not _is_whole(obj["amount_total"], 0, 10**12):
        return "amount_total is not a whole number of pence"
    if obj.get("expires_at") is not None and not _is_whole(obj["expires_at"], 0, LATEST_TIMESTAMP):
        return "expires_at is not a Unix time"
    return (_strings_or_none(obj, "url", "status", "payment_status", "currency",
                             "client_reference_id") or _metadata_problem(obj))


def _refund_problem(obj: Mapping) -> str | None:
    problem = _strings_or_none(obj, "object", "payment_intent")
    if problem:
        return problem
    if obj.get("object") == "charge":
        refund_list = obj.get("refunds") or {}
        if not isinstance(refund_list, Mapping) or not isinstance(refund_list.get("data") or [],
                                                                   list):
            return "refunds is not a list object"
        listed = refund_list.get("data") or []
    else:
        listed = [obj]
    for refund in listed:
        if not isinstance(refund, Mapping) or not _is_name(refund.get("id"), MAX_EVENT_ID_LENGTH):
            return "a refund has no id"
        if refund.get("amount") is not None and not _is_whole(refund["amount"], 0, 10**12):
            return "a refund amount is not a whole number of pence"
        problem = _strings_or_none(refund, "status") or _metadata_problem(refund)
        if problem:
            return problem
    return None


def event_problem(event: object) -> str | None:
    """Why a verified body cannot be applied as an event, or None if it can. Only
    types we act on are read past their id and type (others are stored as ignored)."""
    if not isinstance(event, Mapping):
        return "the body is not a JSON object"
    if not _is_name(event.get("id"), MAX_EVENT_ID_LENGTH):
        return "the event has no id"
    if not _is_name(event.get("type"), MAX_EVENT_TYPE_LENGTH):
        return "the event has no type"
    if event["type"] not in HANDLERS:
        return None
    data = event.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
        return "data.object is not an object"
    if event["type"] in CHECKOUT_EVENT_TYPES:
        return _checkout_problem(data["object"])
    return _refund_problem(data["object"])


def _identifiable(event: object) -> bool:
    """Whether the body names itself: an object with a usable id and type."""
    return (isinstance(event, Mapping) and _is_name(event.get("id"), MAX_EVENT_ID_LENGTH)
            and _is_name(event.get("type"), MAX_EVENT_TYPE_LENGTH))


def receive(payload: bytes, signature: str | None, *, now: datetime | None = None) -> WebhookOutcome:
    """Verify and apply one delivery (see the module docstring). Call outside a transaction."""
    payments = runtime()
    text = verify(payload, signature, payments.settings.webhook_secret)
    try:
        # Long integers parse, so that one out of range (a huge expires_at) is named
        # by event_problem and its event stored as rejected under its own id.
        event = strict_json(text, max_integer_digits=EVENT_INTEGER_DIGITS)
        problem = event_problem(event)
    except UnreadableJSON as exc:
        event, problem = None, str(exc)
    try:
        if problem is None:
            outcome, refund_ids = payments.breakers.webhooks.call(
                _apply_once, event, text, payments.settings.provider, now or utcnow())
        else:
            outcome, refund_ids = payments.breakers.webhooks.call(
                _store_rejected, event, text, problem, payments.settings.provider,
                now or utcnow()), []
    except CircuitBreakerError as exc:
        raise WebhooksPaused() from exc
    if problem is not None and not _identifiable(event):
        raise MalformedWebhookEvent(f"The body is signed but is not a Stripe event: {problem}.")
    for refund_id in refund_ids:
        refunds.attempt_refund(refund_id)
    return outcome


def _store_rejected(event: object, text: str, problem: str, provider: str, now: datetime
                    ) -> WebhookOutcome:
    """Keep a signed but malformed body, with why, for a person to read; apply nothing.
    A body without its own id is stored under a digest of its bytes, so a redelivery
    is one row."""
    if _identifiable(event):
        event_id, event_type = event["id"], event["type"]
    else:
        event_id = "malformed:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        event_type = "unknown"
    repo = WebhookEventRepository()
    try:
        with unit_of_work():
            repo.add(WebhookEvent(provider=provider, event_id=event_id, event_type=event_type,
                                  payload=text, status=WebhookStatus.REJECTED, error=problem,
                                  received_at=now, processed_at=now))
    except IntegrityError:
        if repo.get_by_event_id(event_id) is None:
            raise
        log.info("webhook %s (%s): already stored, redelivery ignored", event_id, event_type)
        return WebhookOutcome(event_id, event_type, "duplicate", "duplicate")
    log.error("webhook %s (%s) is signed but malformed, stored as rejected: %s",
              event_id, event_type, problem)
    return WebhookOutcome(event_id, event_type, "rejected", WebhookStatus.REJECTED.value)


def _apply_once(event: dict, payload: str, provider: str, now: datetime
                ) -> tuple[WebhookOutcome, list[int]]:
    repo = WebhookEventRepository()
    event_id, event_type = event["id"], event["type"]
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
