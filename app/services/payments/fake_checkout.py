"""The fake provider's checkout page: "pay", "decline" and "abandon".

Nothing here changes a booking directly. "Pay" and "abandon" build the event
Stripe would send (``checkout.session.completed`` with ``payment_status:
paid``, or ``checkout.session.expired``), sign it with the webhook secret as
Stripe does, and pass it to `webhooks.receive`, the function behind
``POST /webhooks/stripe``: the same verification, the same once-per-event
record, the same settlement (late payments and all). "Decline" is what a
declined card is at Stripe's page: nothing happens, the hold stays.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from app.models import Booking, Payment, PaymentStatus, utcnow
from app.repositories.payments import PaymentRepository
from app.services.core.errors import NotFound
from app.services.payments import webhooks
from app.services.payments.fake_gateway import FakeGateway
from app.services.payments.runtime import runtime
from app.services.payments.webhooks import WebhookOutcome


@dataclass(frozen=True)
class FakeCheckout:
    """What the fake checkout page shows."""

    checkout_id: str
    payment: Payment
    booking: Booking
    is_open: bool             # the session has not expired or been paid

    @property
    def amount_pence(self) -> int:
        return self.payment.amount_pence


@dataclass(frozen=True)
class Declined:
    """A declined card: nothing changed; the seats stay held until `hold_expires_at`."""

    message: str
    hold_expires_at: datetime | None


def _gateway() -> FakeGateway:
    gateway = runtime().gateway
    if not isinstance(gateway, FakeGateway):
        raise NotFound("There is no such checkout.")
    return gateway


def open_checkout(checkout_id: str, *, now: datetime | None = None) -> FakeCheckout:
    """The fake session `checkout_id`; NotFound unless the fake provider made it."""
    _gateway()
    payment = PaymentRepository().get_by_checkout_id(checkout_id)
    if payment is None or payment.provider != "fake":
        raise NotFound("There is no such checkout.")
    now = now or utcnow()
    is_open = payment.status == PaymentStatus.PENDING and payment.expires_at is not None \
        and payment.expires_at > now
    return FakeCheckout(checkout_id, payment, payment.booking, is_open)


def _session_object(checkout: FakeCheckout, gateway: FakeGateway, *, paid: bool) -> dict:
    payment, booking = checkout.payment, checkout.booking
    return {
        "id": checkout.checkout_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete" if paid else "expired",
        "payment_status": "paid" if paid else "unpaid",
        "payment_intent": gateway.payment_intent_for(checkout.checkout_id) if paid else None,
        "amount_total": payment.amount_pence,
        "currency": payment.currency,
        "client_reference_id": booking.reference,
        "customer_email": booking.contact_email,
        "metadata": {"booking_reference": booking.reference, "payment_id": str(payment.id)},
        "expires_at": calendar.timegm(payment.expires_at.utctimetuple())
        if payment.expires_at else None,
        "url": None,
    }


def _send(checkout: FakeCheckout, event_type: str, *, paid: bool,
          now: datetime | None) -> WebhookOutcome:
    gateway = _gateway()
    body, signature = gateway.signed_event(
        event_type, _session_object(checkout, gateway, paid=paid),
        webhook_secret=runtime().settings.webhook_secret,
        event_id=gateway.event_id_for(checkout.checkout_id, event_type))
    return webhooks.receive(body, signature, now=now)


def pay(checkout_id: str, *, now: datetime | None = None) -> WebhookOutcome:
    """The card is accepted: Stripe would now send checkout.session.completed."""
    return _send(open_checkout(checkout_id, now=now), "checkout.session.completed", paid=True,
                 now=now)


def decline(checkout_id: str, *, now: datetime | None = None) -> Declined:
    """The card is declined: the customer may try again; nothing changes."""
    checkout = open_checkout(checkout_id, now=now)
    return Declined(message="Your card was declined.",
                    hold_expires_at=checkout.booking.hold_expires_at)


def abandon(checkout_id: str, *, now: datetime | None = None) -> WebhookOutcome:
    """The customer gives up: the session expires (as Stripe's would, or as an
    expire call makes it), which releases the hold at once."""
    return _send(open_checkout(checkout_id, now=now), "checkout.session.expired", paid=False,
                 now=now)
