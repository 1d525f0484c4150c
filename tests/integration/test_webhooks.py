"""POST /webhooks/stripe: verified with the SDK, each event id applied once,
replays and concurrent duplicates harmless, out-of-order events handled."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import (
    Alert, Booking, BookingStatus, OutboxEvent, Payment, PaymentStatus, Refund, RefundStatus,
    WebhookEvent, WebhookStatus, utcnow,
)
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.bookings import manage
from app.services.bookings.holds import BookingPolicy
from app.services.core import events
from app.services.payments import settlement

from factories import SessionFactory, booking_request
from fakes.stripe_server import (  # noqa: F401
    WEBHOOK_SECRET, event, post_event, sign, stripe_config, stripe_server,
)

LINKS = payments.CheckoutLinks(success_url="https://booking.example.test/done",
                               cancel_url="https://booking.example.test/pay")
POLICY = BookingPolicy()


@pytest.fixture
def app_config(stripe_server):
    return stripe_config(stripe_server, WEBHOOKS_BREAKER_FAIL_MAX=3)


def future_session(**kwargs):
    starts_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    return SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=7), **kwargs)


def held_with_checkout(capacity: int = 5) -> tuple[Booking, str]:
    booking = booking_service.hold_seats(booking_request(future_session(capacity=capacity).id),
                                         policy=POLICY)
    payments.start_checkout(booking.reference, LINKS)
    payment = db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).one()
    return booking, payment.provider_checkout_id


def status_of(booking: Booking) -> BookingStatus:
    return db.session.get(Booking, booking.id, populate_existing=True).status


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def confirmations(reference: str) -> int:
    return count(OutboxEvent, OutboxEvent.event_type == events.BOOKING_CONFIRMED,
                 OutboxEvent.aggregate_id == reference)


# -- signatures ------------------------------------------------------------------------------------
@pytest.fixture
def paid_event(app, stripe_server):
    booking, checkout_id = held_with_checkout()
    return booking, event("checkout.session.completed", stripe_server.complete_session(checkout_id))


@pytest.mark.parametrize("signature", [
    None,                                                   # missing
    "",                                                     # empty
    "not a signature",                                      # malformed
    "t=1700000000",                                         # no v1
    "wrong-secret",                                         # signed with another secret
    "tampered",                                             # body changed after signing
    "stale",                                                # older than the 5 minute tolerance
])
def test_a_missing_wrong_or_stale_signature_is_400_and_changes_nothing(client, paid_event,
                                                                        signature):
    booking, body = paid_event
    headers = {}
    if signature == "wrong-secret":
        headers["Stripe-Signature"] = sign(body, "whsec_not_ours")
    elif signature == "tampered":
        headers["Stripe-Signature"] = sign(body)
        body = body.replace('"paid"', '"paid" ')
    elif signature == "stale":
        headers["Stripe-Signature"] = sign(body, timestamp=int(time.time()) - 301)
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    response = client.post("/webhooks/stripe", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert count(WebhookEvent) == 0
    assert status_of(booking) == BookingStatus.HELD


def test_a_signature_within_the_tolerance_is_accepted(client, paid_event):
    booking, body = paid_event
    response = post_event(client, body, timestamp=int(time.time()) - 240)
    assert response.status_code == 200
    assert status_of(booking) == BookingStatus.CONFIRMED


def test_the_stripe_provider_without_a_webhook_secret_accepts_nothing(app, client, paid_event):
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    payments.init_app(app)  # as a restart with the new settings would
    _, body = paid_event
    assert post_event(client, body, secret="").status_code == 400


def test_the_endpoint_is_exempt_from_csrf(app, client, paid_event):
    app.config["WTF_CSRF_ENABLED"] = True
    booking, body = paid_event
    assert post_event(client, body).status_code == 200
    assert status_of(booking) == BookingStatus.CONFIRMED


# -- once per event --------------------------------------------------------------------------------
def test_a_signed_event_replayed_ten_times_confirms_once(client, paid_event):
    booking, body = paid_event
    results = [post_event(client, body) for _ in range(10)]
    assert [r.status_code for r in results] == [200] * 10
    assert [r.get_json()["result"] for r in results] == ["confirmed"] + ["duplicate"] * 9
    assert status_of(booking) == BookingStatus.CONFIRMED
    assert confirmations(booking.reference) == 1
    assert count(WebhookEvent) == 1


def test_ten_concurrent_deliveries_of_one_event_confirm_once(app, paid_event):
    booking, body = paid_event
    db.session.remove()
    start, answers, errors = threading.Barrier(10), [], []

    def deliver():
        try:
            with app.app_context():
                client = app.test_client()
                start.wait(10)
                response = post_event(client, body)
                answers.append((response.status_code, response.get_json().get("result")))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(answers) == sorted([(200, "confirmed")] + [(200, "duplicate")] * 9)
    assert status_of(booking) == BookingStatus.CONFIRMED
    assert confirmations(booking.reference) == 1  # so one confirmation email
    assert count(WebhookEvent) == 1
    payment = db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).one()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_two_different_events_for_one_payment_settle_it_once(client, app, stripe_server):
    booking, checkout_id = held_with_checkout()
    session = stripe_server.complete_session(checkout_id)
    assert post_event(client, event("checkout.session.completed", session)).status_code == 200
    answer = post_event(client, event("checkout.session.async_payment_succeeded", session))
    assert answer.get_json()["result"] == "already_settled"
    assert confirmations(booking.reference) == 1


def test_an_event_that_fails_to_apply_is_not_recorded_so_stripe_retries_it(
        client, paid_event, monkeypatch):
    booking, body = paid_event
    real = settlement.settle_paid_checkout
    calls = []

    def flaky(session, now):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
        return real(session, now)

    monkeypatch.setattr(settlement, "settle_paid_checkout", flaky)
    assert post_event(client, body).status_code == 503
    assert count(WebhookEvent) == 0 and status_of(booking) == BookingStatus.HELD
    assert post_event(client, body).status_code == 200  # Stripe's retry
    assert status_of(booking) == BookingStatus.CONFIRMED


def test_repeated_database_failures_open_the_webhook_breaker(client, app, paid_event, monkeypatch):
    booking, body = paid_event

    def broken(session, now):
        raise OperationalError("UPDATE", {}, Exception("could not connect"))

    monkeypatch.setattr(settlement, "settle_paid_checkout", broken)
    assert [post_event(client, body).status_code for _ in range(3)] == [503] * 3
    assert payments.breaker_states()["webhooks"] == "open"
    response = post_event(client, body)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "webhooks_paused"


# -- the event types ------------------------------------------------------------------------------
def test_unknown_event_types_get_200_and_are_logged(client, app, caplog):
    body = event("customer.created", {"id": "cus_123", "object": "customer"})
    with caplog.at_level(logging.INFO, logger="app.services.payments.webhooks"):
        response = post_event(client, body)
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.status == WebhookStatus.IGNORED and record.event_type == "customer.created"
    assert "customer.created" in caplog.text


def test_a_completed_but_unpaid_checkout_waits_for_the_async_payment(client, stripe_server):
    booking, checkout_id = held_with_checkout()
    unpaid = stripe_server.complete_session(checkout_id, payment_status="unpaid")
    assert post_event(client, event("checkout.session.completed", unpaid)).get_json()["result"] \
        == "awaiting_async_payment"
    assert status_of(booking) == BookingStatus.HELD
    paid = stripe_server.complete_session(checkout_id, payment_status="paid")
    post_event(client, event("checkout.session.async_payment_succeeded", paid))
    assert status_of(booking) == BookingStatus.CONFIRMED
    assert confirmations(booking.reference) == 1


def test_a_failed_async_payment_tells_the_customer_and_keeps_the_hold(client, stripe_server):
    booking, checkout_id = held_with_checkout()
    session = stripe_server.complete_session(checkout_id, payment_status="unpaid")
    post_event(client, event("checkout.session.completed", session))
    post_event(client, event("checkout.session.async_payment_failed", session))
    assert status_of(booking) == BookingStatus.HELD
    payment = db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).one()
    assert payment.status == PaymentStatus.FAILED
    failed = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.PAYMENT_FAILED)).one()
    assert failed.payload["reference"] == booking.reference and failed.payload["reason"]


def test_an_expired_checkout_releases_a_live_hold(client, stripe_server):
    booking, checkout_id = held_with_checkout(capacity=1)
    answer = post_event(client, event("checkout.session.expired",
                                      stripe_server.expire_session(checkout_id)))
    assert answer.get_json()["result"] == "hold_released"
    assert status_of(booking) in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
    assert booking_service.seats_available(booking.session) == 1


def test_an_expired_old_checkout_does_not_release_a_hold_with_a_newer_one(client, app,
                                                                           stripe_server):
    booking, old_checkout = held_with_checkout()
    payment = db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).one()
    payment.expires_at = utcnow() + timedelta(seconds=30)  # too close to hand out again
    db.session.commit()
    payments.start_checkout(booking.reference, LINKS)  # a new attempt
    assert count(Payment, Payment.booking_id == booking.id) == 2
    post_event(client, event("checkout.session.expired", stripe_server.expire_session(old_checkout)))
    assert status_of(booking) == BookingStatus.HELD


def test_a_paid_checkout_we_do_not_know_is_an_alert_not_an_error(client):
    body = event("checkout.session.completed", {
        "id": "cs_test_unknown", "object": "checkout.session", "status": "complete",
        "payment_status": "paid", "payment_intent": "pi_unknown", "client_reference_id": "NOPE",
        "metadata": {}})
    assert post_event(client, body).status_code == 200
    assert db.session.scalars(select(Alert).where(Alert.kind == "payments.unknown_checkout")).one()


# -- out of order ------------------------------------------------------------------------------------
def refund_object(session: dict, *, refund_id="re_dashboard_1", amount=5000, status="succeeded",
                  metadata=None) -> dict:
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "gbp",
            "payment_intent": session["payment_intent"], "charge": "ch_1", "status": status,
            "metadata": metadata or {}}


def charge_refunded(session: dict, refund: dict) -> str:
    return event("charge.refunded", {
        "id": "ch_1", "object": "charge", "amount": session["amount_total"],
        "amount_refunded": refund["amount"], "payment_intent": session["payment_intent"],
        "refunded": refund["amount"] == session["amount_total"],
        "refunds": {"object": "list", "data": [refund]}})


def test_a_refund_event_before_the_completion_event_is_applied_after_it(client, stripe_server):
    booking, checkout_id = held_with_checkout()
    session = stripe_server.complete_session(checkout_id)
    refund = refund_object(session)

    early = post_event(client, charge_refunded(session, refund))
    assert early.status_code == 200 and early.get_json()["result"] == "waiting"
    assert count(Refund) == 0
    waiting = db.session.scalars(select(WebhookEvent)).one()
    assert waiting.status == WebhookStatus.RECEIVED

    post_event(client, event("checkout.session.completed", session))
    assert status_of(booking) == BookingStatus.CONFIRMED
    recorded = db.session.scalars(select(Refund)).one()
    assert recorded.provider_refund_id == "re_dashboard_1" and recorded.amount_pence == 5000
    assert recorded.status == RefundStatus.SUCCEEDED and recorded.reason == "provider"
    db.session.refresh(waiting)
    assert waiting.status == WebhookStatus.PROCESSED
    assert count(OutboxEvent, OutboxEvent.event_type == events.REFUND_ISSUED) == 1


def test_refund_updated_and_charge_refunded_for_one_refund_record_it_once(client, stripe_server):
    booking, checkout_id = held_with_checkout()
    session = stripe_server.complete_session(checkout_id)
    post_event(client, event("checkout.session.completed", session))
    pending = refund_object(session, status="pending")
    post_event(client, event("refund.created", pending))
    post_event(client, charge_refunded(session, refund_object(session)))
    post_event(client, event("refund.updated", refund_object(session)))
    refund = db.session.scalars(select(Refund)).one()
    assert refund.status == RefundStatus.SUCCEEDED
    assert count(OutboxEvent, OutboxEvent.event_type == events.REFUND_ISSUED) == 1


def test_a_webhook_settles_our_own_refund_whose_answer_was_lost(client, app, stripe_server):
    booking, checkout_id = held_with_checkout()
    session = stripe_server.complete_session(checkout_id)
    post_event(client, event("checkout.session.completed", session))
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    stripe_server.fail_all("unavailable")
    refund = payments.refund_cancellation(booking.reference)
    assert refund.status == RefundStatus.PENDING
    # Stripe did make it (say, from a retry we never heard back from) and tells us:
    made = refund_object(session, refund_id="re_ours", amount=refund.amount_pence,
                         metadata={"refund_id": str(refund.id),
                                   "booking_reference": booking.reference})
    post_event(client, event("refund.updated", made))
    db.session.refresh(refund)
    assert refund.status == RefundStatus.SUCCEEDED and refund.provider_refund_id == "re_ours"
    assert payments.retry_due_refunds(now=utcnow() + timedelta(hours=1)) == []


def test_stored_events_keep_the_payload_as_received(client, paid_event):
    _, body = paid_event
    post_event(client, body)
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.payload == body and json.loads(record.payload)["id"] == record.event_id
    assert record.status == WebhookStatus.PROCESSED and record.processed_at is not None
