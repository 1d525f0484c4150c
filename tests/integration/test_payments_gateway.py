"""The Stripe gateway through the real SDK against the fake Stripe server on loopback."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from app.config import load_config
from app.models import utcnow
from app.services.payments.breakers import Breakers
from app.services.payments.gateway import (
    CheckoutRequest, GatewayRejected, GatewayUnavailable, RefundRequest,
)
from app.services.payments.stripe_gateway import StripeGateway, StripeSettings

from fakes.stripe_server import SECRET_KEY, stripe_config, stripe_server  # noqa: F401


def make_gateway(server, **overrides) -> StripeGateway:
    config = dict(load_config("/nonexistent", env={}))
    config.update(stripe_config(server, **overrides))
    return StripeGateway(StripeSettings.from_config(config), Breakers(config))


def checkout_request(key="checkout-REF1-1", *, minutes=35, **overrides) -> CheckoutRequest:
    values = dict(
        idempotency_key=key, payment_id=1, booking_reference="REF1",
        customer_email="priya@example.com", description="Emergency First Aid at Work",
        unit_amount_pence=9500, quantity=2, currency="gbp",
        expires_at=(utcnow() + timedelta(minutes=minutes)).replace(microsecond=0),
        success_url="https://booking.example.test/bookings/REF1/payment-received?token=t",
        cancel_url="https://booking.example.test/bookings/REF1/pay?token=t")
    values.update(overrides)
    return CheckoutRequest(**values)


@pytest.fixture
def gateway(stripe_server):
    return make_gateway(stripe_server)


def test_checkout_session_is_created_with_everything_stripe_needs(gateway, stripe_server):
    request = checkout_request()
    session = gateway.create_checkout(request)
    [call] = stripe_server.calls("POST", "/v1/checkout/sessions")
    p = call.params
    assert p["mode"] == "payment" and p["currency"] == "gbp"
    assert p["line_items"] == [{"quantity": "2", "price_data": {
        "currency": "gbp", "unit_amount": "9500",
        "product_data": {"name": "Emergency First Aid at Work"}}}]
    assert p["client_reference_id"] == "REF1"
    assert p["metadata"] == {"booking_reference": "REF1", "payment_id": "1"}
    assert p["payment_intent_data"] == {"metadata": {"booking_reference": "REF1", "payment_id": "1"}}
    assert p["customer_email"] == "priya@example.com"
    assert int(p["expires_at"]) == int(request.expires_at.timestamp())
    assert p["success_url"] == request.success_url and p["cancel_url"] == request.cancel_url
    assert call.idempotency_key == "checkout-REF1-1"
    assert call.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert session.url.startswith("https://checkout.stripe.test/") and session.amount_total == 19000
    assert session.status == "open" and not session.is_paid


def test_the_same_create_retried_returns_the_same_session(gateway, stripe_server):
    request = checkout_request()
    first = gateway.create_checkout(request)
    again = gateway.create_checkout(request)
    assert again.id == first.id
    calls = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert [c.idempotency_key for c in calls] == ["checkout-REF1-1"] * 2
    assert [c.replayed for c in calls] == [False, True]
    assert len(stripe_server.state.sessions) == 1


def test_a_create_whose_answer_timed_out_is_found_again_by_its_key(stripe_server):
    gateway = make_gateway(stripe_server, STRIPE_TIMEOUT_SECONDS=0.3)
    request = checkout_request()
    stripe_server.delay = 1.0  # Stripe does the work, the answer comes too late
    with pytest.raises(GatewayUnavailable):
        gateway.create_checkout(request)
    stripe_server.delay = 0
    session = gateway.create_checkout(request)
    assert list(stripe_server.state.sessions) == [session.id]


def test_a_key_reused_with_other_parameters_is_refused_not_retried(gateway, stripe_server):
    request = checkout_request()
    gateway.create_checkout(request)
    with pytest.raises(GatewayRejected):
        gateway.create_checkout(replace(request, quantity=3))
    assert gateway._breakers.payments.fail_counter == 0


def test_the_sdk_does_not_retry_behind_the_breakers_back(gateway, stripe_server):
    stripe_server.fail_next(1, kind="server_error")
    with pytest.raises(GatewayUnavailable):
        gateway.create_checkout(checkout_request())
    assert len(stripe_server.calls()) == 1


@pytest.mark.parametrize("kind", ["server_error", "unavailable", "rate_limit", "timeout", "reset"])
def test_outages_are_unavailable_and_counted(stripe_server, kind):
    gateway = make_gateway(stripe_server, STRIPE_TIMEOUT_SECONDS=0.3)
    stripe_server.fail_next(1, kind=kind)
    with pytest.raises(GatewayUnavailable) as raised:
        gateway.retrieve_checkout("cs_test_whatever")
    assert not raised.value.breaker_open
    assert gateway._breakers.payments.fail_counter == 1


@pytest.mark.parametrize("kind", ["card_declined", "invalid"])
def test_declines_and_invalid_requests_are_rejected_and_not_counted(gateway, stripe_server, kind):
    stripe_server.fail_next(1, kind=kind)
    with pytest.raises(GatewayRejected):
        gateway.create_checkout(checkout_request())
    assert gateway._breakers.payments.fail_counter == 0


def test_stripe_refuses_an_expiry_under_thirty_minutes(gateway):
    with pytest.raises(GatewayRejected, match="30 minutes"):
        gateway.create_checkout(checkout_request(minutes=20))


def test_retrieve_and_refund(gateway, stripe_server):
    session = gateway.create_checkout(checkout_request())
    paid = stripe_server.complete_session(session.id)
    seen = gateway.retrieve_checkout(session.id)
    assert seen.is_paid and seen.payment_intent == paid["payment_intent"]
    request = RefundRequest(idempotency_key="refund-REF1-7", refund_id=7, booking_reference="REF1",
                            payment_intent=paid["payment_intent"], amount_pence=9500)
    refund = gateway.create_refund(request)
    assert refund.status == "succeeded" and refund.amount_pence == 9500
    again = gateway.create_refund(request)
    assert again.id == refund.id  # the key makes a retry harmless
    [call, _] = stripe_server.calls("POST", "/v1/refunds")
    assert call.idempotency_key == "refund-REF1-7"
    assert call.params["metadata"] == {"booking_reference": "REF1", "refund_id": "7"}
    assert call.params["reason"] == "requested_by_customer"
    assert len(stripe_server.state.refunds) == 1


def test_ten_concurrent_slow_payments_take_about_one_calls_time(gateway, stripe_server):
    """Through the real SDK and breaker: the calls overlap instead of queueing."""
    gateway.create_checkout(checkout_request())  # warm up the connection code paths
    stripe_server.delay = 0.5
    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        sessions = list(pool.map(lambda i: gateway.create_checkout(
            checkout_request(f"checkout-REF1-{100 + i}")), range(10)))
    elapsed = time.monotonic() - started
    assert len({s.id for s in sessions}) == 10
    assert elapsed < 3 * 0.5, f"10 slow calls took {elapsed:.2f}s: they were serialised"
