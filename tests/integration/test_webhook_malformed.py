"""Signed but malformed webhook events: logged, stored as rejected, never applied,
and answered so that Stripe stops retrying what can never succeed (200 `rejected`
for an event with its own id; 400 `malformed_event` for a body that is no event)."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingStatus, Payment, WebhookEvent, WebhookStatus, utcnow
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.bookings.holds import BookingPolicy

from factories import SessionFactory, booking_request
from fakes.stripe_server import (  # noqa: F401
    event, post_event, sign, stripe_config, stripe_server,
)

LINKS = payments.CheckoutLinks(success_url="https://booking.example.test/done",
                               cancel_url="https://booking.example.test/pay")


@pytest.fixture
def app_config(stripe_server):
    return stripe_config(stripe_server)


@pytest.fixture
def paid(app, stripe_server):
    """A held booking and the completed checkout session Stripe would send for it."""
    starts_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    session = SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    booking = booking_service.hold_seats(booking_request(session.id), policy=BookingPolicy())
    payments.start_checkout(booking.reference, LINKS)
    payment = db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).one()
    return booking, stripe_server.complete_session(payment.provider_checkout_id)


def status_of(booking) -> BookingStatus:
    return db.session.get(Booking, booking.id, populate_existing=True).status


def stored() -> list[WebhookEvent]:
    return list(db.session.scalars(select(WebhookEvent).execution_options(populate_existing=True)))


def completed(obj, **changes) -> dict:
    body = json.loads(event("checkout.session.completed", obj))
    for path, value in changes.items():
        target = body
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return body


DELETE = object()
# name -> (how the event is broken, answer)
WITH_AN_ID = {
    "no data": dict(data=DELETE),
    "object a string": dict(data__object="cs_test_123"),
    "object null": dict(data__object=None),
    "huge expires_at": dict(data__object__expires_at=99999999999999999999),
    "expires_at past year 9999": dict(data__object__expires_at=10**15),
    "list metadata": dict(data__object__metadata=["booking_reference", "BK7Q2M"]),
    "amount_total a string": dict(data__object__amount_total="1000"),
    "session without an id": dict(data__object__id=DELETE),
}


@pytest.mark.parametrize("case", WITH_AN_ID)
def test_a_signed_event_with_an_unreadable_object_is_stored_rejected_and_acknowledged(
        client, paid, case, caplog):
    booking, obj = paid
    body = json.dumps(completed(obj, **WITH_AN_ID[case]))
    with caplog.at_level(logging.ERROR, logger="app.services.payments.webhooks"):
        response = post_event(client, body)
    assert response.status_code == 200
    assert response.get_json()["result"] == "rejected"
    [row] = stored()
    assert row.status == WebhookStatus.REJECTED
    assert row.event_id == json.loads(body)["id"] and row.payload == body and row.error
    assert status_of(booking) == BookingStatus.HELD
    assert any("stored as rejected" in r.getMessage() for r in caplog.records)


def test_a_rejected_event_delivered_again_is_one_row_and_still_200(client, paid):
    booking, obj = paid
    body = json.dumps(completed(obj, data__object__metadata=[1, 2]))
    answers = [post_event(client, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.get_json()["result"] for a in answers] == ["rejected", "duplicate", "duplicate"]
    assert len(stored()) == 1


NOT_AN_EVENT = {
    "a top-level array": "[1, 2, 3]",
    "no id": json.dumps({"type": "checkout.session.completed", "data": {"object": {}}}),
    "no type": json.dumps({"id": "evt_1", "data": {"object": {}}}),
    "an id that is a number": json.dumps({"id": 7, "type": "checkout.session.completed"}),
    "nesting 1000 deep": "[" * 1000 + "]" * 1000,
    "NaN": '{"id": "evt_nan", "type": "refund.created", "data": {"object": NaN}}',
    "not JSON": "{this is not json",
}


@pytest.mark.parametrize("case", NOT_AN_EVENT)
def test_a_signed_body_that_is_no_event_is_400_and_stored_rejected(client, paid, case):
    booking, _ = paid
    body = NOT_AN_EVENT[case]
    response = post_event(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_event"
    [row] = stored()
    assert row.status == WebhookStatus.REJECTED and row.payload == body and row.error
    assert row.event_id.startswith("malformed:")
    assert status_of(booking) == BookingStatus.HELD
    assert post_event(client, body).status_code == 400  # again: still 400, still one row
    assert len(stored()) == 1


@pytest.mark.parametrize("broken", [
    {"refunds": "all of them"},
    {"refunds": {"data": [{"id": 5}]}},
    {"refunds": {"data": [{"id": "re_1", "amount": "100"}]}},
    {"payment_intent": {"id": "pi_1"}},
])
def test_a_signed_refund_event_with_an_unreadable_charge_is_rejected(client, broken):
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_1", **broken}
    response = post_event(client, event("charge.refunded", charge))
    assert response.status_code == 200 and response.get_json()["result"] == "rejected"
    assert [r.status for r in stored()] == [WebhookStatus.REJECTED]


def test_an_unsigned_malformed_body_is_refused_and_not_stored(client):
    response = client.post("/webhooks/stripe", data="[" * 1000 + "]" * 1000,
                           content_type="application/json",
                           headers={"Stripe-Signature": sign("something else")})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_an_event_type_we_do_not_act_on_is_ignored_whatever_its_data(client):
    response = post_event(client, json.dumps({"id": "evt_x", "type": "customer.created",
                                              "data": "nothing"}))
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    assert [r.status for r in stored()] == [WebhookStatus.IGNORED]
