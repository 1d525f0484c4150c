"""The checkout pages: the fake provider's page, the "payment received,
confirming..." return page with its polled status fragment, and the
"card payments are paused" fallback."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.config import ConfigError, load_config
from app.extensions import db
from app.models import (
    Booking, BookingStatus, OutboxEvent, Payment, WebhookEvent, WebhookStatus, utcnow,
)
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.bookings.holds import BookingPolicy
from app.services.core import events
from app.services.core.tokens import manage_token

from factories import SessionFactory, booking_request
from fakes.stripe_server import event, post_event, stripe_config, stripe_server  # noqa: F401
from production_settings import PRODUCTION_SECRET_KEY

HTMX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


def held(capacity: int = 3, seats: int = 1) -> Booking:
    course_session = SessionFactory(capacity=capacity)
    return booking_service.hold_seats(booking_request(course_session.id, seats),
                                      policy=BookingPolicy())


def signed(app, path: str, reference: str) -> str:
    return f"{path}?token={manage_token(reference, secret_key=app.config['SECRET_KEY'])}"


def start(client, app, booking: Booking):
    return client.post(signed(app, f"/bookings/{booking.reference}/pay", booking.reference),
                       data={"action": "pay"})


def fresh(booking: Booking) -> Booking:
    return db.session.get(Booking, booking.id, populate_existing=True)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# -- the fake provider ------------------------------------------------------------------------------
def test_pay_goes_through_the_fake_checkout_page_and_a_signed_webhook(client, app):
    booking = held(seats=2)
    checkout_url = start(client, app, booking).headers["Location"]
    assert checkout_url.startswith("/checkout/fake/cs_fake_")

    page = client.get(checkout_url)
    html = text(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert booking.reference in html and "£200" in html
    assert "Pay £200" in html and "Decline card" in html and "Abandon" in html

    paid = client.post(checkout_url, data={"action": "pay"})
    assert paid.status_code == 303 and "/payment-received?token=" in paid.headers["Location"]
    assert fresh(booking).status == BookingStatus.CONFIRMED
    # It came in by the webhook path: verified, recorded once, applied.
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.event_type == "checkout.session.completed"
    assert record.status == WebhookStatus.PROCESSED and record.provider == "fake"
    assert count(OutboxEvent, OutboxEvent.event_type == events.BOOKING_CONFIRMED) == 1

    again = client.post(checkout_url, data={"action": "pay"})  # a double click
    assert again.status_code == 303
    assert count(WebhookEvent) == 1
    assert count(OutboxEvent, OutboxEvent.event_type == events.BOOKING_CONFIRMED) == 1


def test_decline_changes_nothing_and_says_until_when_the_seats_are_held(client, app):
    booking = held(capacity=2)
    checkout_url = start(client, app, booking).headers["Location"]
    response = client.post(checkout_url, data={"action": "decline"})
    assert response.status_code == 402
    assert re.search(r"Your card was declined\. Your seats are still held until "
                     r"\d{1,2}:\d\d[ap]m\.", text(response))
    assert fresh(booking).status == BookingStatus.HELD
    assert count(WebhookEvent) == 0
    assert client.post(checkout_url, data={"action": "pay"}).status_code == 303  # try again
    assert fresh(booking).status == BookingStatus.CONFIRMED


def test_abandon_expires_the_checkout_and_releases_the_seats(client, app):
    booking = held(capacity=2)
    checkout_url = start(client, app, booking).headers["Location"]
    response = client.post(checkout_url, data={"action": "abandon"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sessions/{booking.session_id}")
    assert fresh(booking).status == BookingStatus.CANCELLED
    assert booking_service.seats_available(booking.session) == 2
    record = db.session.scalars(select(WebhookEvent)).one()
    assert record.event_type == "checkout.session.expired"
    assert client.post(checkout_url, data={"action": "pay"}).status_code == 410


def test_paying_the_fake_checkout_after_the_hold_lapsed_is_a_late_payment(client, app):
    booking = held(capacity=1)
    checkout_url = start(client, app, booking).headers["Location"]
    lapsed = fresh(booking)
    lapsed.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    booking_service.hold_seats(booking_request(booking.session_id), policy=BookingPolicy())

    paid = client.post(checkout_url, data={"action": "pay"})
    page = client.get(paid.headers["Location"])
    html = text(page)
    assert page.status_code == 200 and 'data-payment-state="refunded"' in html
    assert "could not keep your seats" in html and "hx-trigger" not in html
    assert fresh(booking).status == BookingStatus.REFUNDED
    assert count(OutboxEvent, OutboxEvent.event_type == events.LATE_PAYMENT_REFUNDED) == 1


def test_the_fake_provider_down_shows_the_paused_page_and_keeps_the_seats(client, app):
    booking = held(capacity=2)
    payments.runtime().gateway.simulate_outage = True
    response = start(client, app, booking)
    assert response.status_code == 303 and "/payment-paused?token=" in response.headers["Location"]
    assert "Card payments are paused" in text(client.get(response.headers["Location"]))
    assert fresh(booking).status == BookingStatus.HELD
    assert booking_service.seats_available(booking.session) == 1
    payments.runtime().gateway.simulate_outage = False
    assert "/checkout/fake/" in start(client, app, booking).headers["Location"]  # try again


def test_unknown_checkouts_are_404_and_unknown_actions_400(client, app):
    assert client.get("/checkout/fake/cs_fake_nope").status_code == 404
    checkout_url = start(client, app, held()).headers["Location"]
    assert client.post(checkout_url, data={"action": "steal"}).status_code == 400


def test_the_fake_provider_is_refused_in_production():
    with pytest.raises(ConfigError, match="fake"):
        load_config("/tmp", env={"APP_ENV": "production", "SECRET_KEY": PRODUCTION_SECRET_KEY,
                                 "PAYMENT_PROVIDER": "fake"})


# -- back from the provider: "payment received, confirming..." ------------------------------------
class TestWithStripe:
    @pytest.fixture
    def app_config(self, stripe_server):
        return stripe_config(stripe_server)

    def test_pay_redirects_to_stripe_checkout(self, client, app, stripe_server):
        booking = held()
        response = start(client, app, booking)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
        create = stripe_server.calls("POST", "/v1/checkout/sessions")[0]
        assert create.params["success_url"].startswith(
            f"https://booking.example.test/bookings/{booking.reference}/payment-received?token=")
        assert create.params["cancel_url"].startswith(
            f"https://booking.example.test/bookings/{booking.reference}/pay?token=")

    def test_the_return_page_confirms_nothing_and_polls_until_the_webhook(self, client, app,
                                                                          stripe_server):
        booking = held()
        start(client, app, booking)
        returned_url = signed(app, f"/bookings/{booking.reference}/payment-received",
                              booking.reference)
        page = client.get(returned_url)  # the customer is back, Stripe has not said "paid"
        html = text(page)
        assert page.status_code == 200
        assert "Payment received, confirming your booking..." in html
        assert 'hx-trigger="every 2s"' in html
        status_url = signed(app, f"/bookings/{booking.reference}/payment-status",
                            booking.reference)
        assert f'hx-get="{status_url}"' in html
        assert fresh(booking).status == BookingStatus.HELD

        poll = client.get(status_url, headers=HTMX)
        assert 'data-payment-state="confirming"' in text(poll) and "every 2s" in text(poll)
        assert "HX-Redirect" not in poll.headers

        checkout_id = db.session.scalars(select(Payment.provider_checkout_id)).one()
        post_event(client, event("checkout.session.completed",
                                 stripe_server.complete_session(checkout_id)))
        poll = client.get(status_url, headers=HTMX)
        assert 'data-payment-state="confirmed"' in text(poll) and "hx-trigger" not in text(poll)
        assert "/confirmation?token=" in poll.headers["HX-Redirect"]
        assert client.get(returned_url).status_code == 303

    def test_the_return_page_asks_stripe_once_so_a_slow_webhook_does_not_keep_you_waiting(
            self, client, app, stripe_server):
        booking = held()
        start(client, app, booking)
        checkout_id = db.session.scalars(select(Payment.provider_checkout_id)).one()
        stripe_server.complete_session(checkout_id)  # paid at Stripe, webhook not here yet
        page = client.get(signed(app, f"/bookings/{booking.reference}/payment-received",
                                 booking.reference))
        assert page.status_code == 303 and "/confirmation?token=" in page.headers["Location"]
        assert fresh(booking).status == BookingStatus.CONFIRMED

    def test_pay_while_stripe_is_down_shows_the_paused_page_and_keeps_the_seats(
            self, client, app, stripe_server):
        booking = held(capacity=2)
        stripe_server.fail_all("unavailable")
        response = start(client, app, booking)
        assert response.status_code == 303 and "/payment-paused?token=" in response.headers["Location"]
        page = client.get(response.headers["Location"])
        html = text(page)
        assert page.status_code == 503
        hold_time = re.search(r"your seats are held until <time[^>]*>(\d{1,2}:\d\d[ap]m)</time>",
                              html)
        assert "Card payments are paused for a moment" in html and hold_time
        assert "we will email you a payment link" in html.lower()
        assert fresh(booking).status == BookingStatus.HELD
        assert booking_service.seats_available(booking.session) == 1

    @pytest.mark.parametrize("page", ["payment-received", "payment-status", "payment-paused"])
    def test_a_bad_token_shows_nothing(self, client, app, page):
        booking = held()
        response = client.get(f"/bookings/{booking.reference}/{page}?token=wrong")
        assert response.status_code == 403
        assert booking.reference not in text(response)
