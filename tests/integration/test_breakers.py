"""Circuit breakers around Stripe, end to end: they open after fail_max outages,
fail fast while open (nothing reaches Stripe), half-open after reset_timeout and
close on success; bookings keep their seats meanwhile and nothing is lost."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Alert, Booking, BookingStatus, JobRun, OutboxEvent, Payment, PaymentStatus, Refund,
    RefundStatus, utcnow,
)
from app.services import payments
from app.services.background import scheduler
from app.services.bookings import holds as booking_service
from app.services.bookings import manage
from app.services.bookings.holds import BookingPolicy
from app.services.core import events
from app.services.core.errors import PaymentUnavailable

from factories import SessionFactory, booking_request
from fakes.stripe_server import event, post_event, stripe_config, stripe_server  # noqa: F401

LINKS = payments.CheckoutLinks(success_url="https://booking.example.test/done",
                               cancel_url="https://booking.example.test/pay")
FAIL_MAX = 3


@pytest.fixture
def app_config(stripe_server):
    return stripe_config(stripe_server, PAYMENTS_BREAKER_FAIL_MAX=FAIL_MAX,
                         PAYMENTS_BREAKER_RESET_TIMEOUT=60, REFUNDS_BREAKER_FAIL_MAX=FAIL_MAX)


def held(capacity: int = 10) -> Booking:
    course_session = SessionFactory(capacity=capacity)
    return booking_service.hold_seats(booking_request(course_session.id), policy=BookingPolicy())


def try_to_pay(booking: Booking) -> bool:
    try:
        payments.start_checkout(booking.reference, LINKS)
    except payments.CardPaymentsPaused:
        return False
    return True


def paid_then_cancelled(client, stripe_server) -> Booking:
    """A booking paid by card (confirmed by the webhook) that its customer then
    cancelled: a refund is owed."""
    booking = held()
    payments.start_checkout(booking.reference, LINKS)
    checkout_id = db.session.scalars(select(Payment.provider_checkout_id)).one()
    post_event(client, event("checkout.session.completed",
                             stripe_server.complete_session(checkout_id)))
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=BookingPolicy())
    return booking


def breaker():
    return payments.runtime().breakers.payments


def reset_timeout_passes() -> None:
    breaker().force_open_since(datetime.now(timezone.utc) - timedelta(seconds=61))


def test_opens_after_fail_max_failures_and_then_fails_fast_without_calling_stripe(
        app, stripe_server):
    stripe_server.fail_all("unavailable")
    bookings = [held() for _ in range(FAIL_MAX + 2)]
    for booking in bookings[:FAIL_MAX]:
        assert not try_to_pay(booking)
    assert payments.breaker_states()["payments"] == "open"
    calls_when_opened = len(stripe_server.calls())
    assert calls_when_opened == FAIL_MAX

    for booking in bookings[FAIL_MAX:]:
        assert not try_to_pay(booking)
    assert len(stripe_server.calls()) == calls_when_opened  # failed fast


def test_half_opens_after_reset_timeout_and_closes_on_a_good_trial(app, stripe_server):
    stripe_server.fail_all("timeout")
    stripe_server.hang_seconds = 1.5
    for _ in range(FAIL_MAX):
        try_to_pay(held())
    assert breaker().current_state == "open"
    stripe_server.recover()
    assert not try_to_pay(held())  # still open: nothing reaches Stripe
    reset_timeout_passes()
    assert try_to_pay(held())  # the trial call goes through and succeeds
    assert breaker().current_state == "closed"
    assert try_to_pay(held())


def test_a_failed_trial_opens_it_again(app, stripe_server):
    stripe_server.fail_all("server_error")
    for _ in range(FAIL_MAX):
        try_to_pay(held())
    reset_timeout_passes()
    calls = len(stripe_server.calls())
    assert not try_to_pay(held())
    assert len(stripe_server.calls()) == calls + 1  # exactly one trial
    assert breaker().current_state == "open"


def test_declined_and_invalid_requests_do_not_open_it(app, stripe_server):
    for _ in range(FAIL_MAX + 1):
        stripe_server.fail_next(1, kind="invalid")
        with pytest.raises(PaymentUnavailable) as refused:
            payments.start_checkout(held().reference, LINKS)
        assert not isinstance(refused.value, payments.CardPaymentsPaused)
    assert breaker().current_state == "closed"


def test_bookings_keep_their_seats_while_payments_are_down(app, stripe_server):
    booking = held(capacity=2)
    stripe_server.fail_all("unavailable")
    with pytest.raises(payments.CardPaymentsPaused) as paused:
        payments.start_checkout(booking.reference, LINKS)
    assert paused.value.hold_expires_at == booking.hold_expires_at
    booking = db.session.get(Booking, booking.id, populate_existing=True)
    assert booking.status == BookingStatus.HELD
    assert booking_service.seats_available(booking.session) == 1
    queued = db.session.scalars(select(Payment)).one()  # the queued retry
    assert queued.status == PaymentStatus.PENDING and queued.provider_checkout_id is None


def test_an_alert_is_raised_once_when_it_opens(app, stripe_server):
    stripe_server.fail_all("unavailable")
    for _ in range(FAIL_MAX + 3):
        try_to_pay(held())
    alerts = db.session.scalars(select(Alert).where(Alert.kind == "payments.breaker_open")).all()
    assert len(alerts) == 1 and alerts[0].subject == "payments"
    assert "Card payments (Stripe Checkout) are failing" in alerts[0].message
    assert alerts[0].severity.value == "critical"


def test_the_retry_sends_a_payment_link_once_stripe_is_back(app, stripe_server):
    booking = held()
    stripe_server.fail_all("unavailable")
    assert not try_to_pay(booking)
    report = payments.retry_queued_checkouts(lambda ref: LINKS)
    assert report.links_sent == 0 and report.still_paused == 1

    stripe_server.recover()
    report = payments.retry_queued_checkouts(lambda ref: LINKS)
    assert report.links_sent == 1
    payment = db.session.scalars(select(Payment)).one()  # the same attempt, now with a session
    assert payment.provider_checkout_id in stripe_server.state.sessions
    keys = {c.idempotency_key for c in stripe_server.calls("POST", "/v1/checkout/sessions")}
    assert keys == {f"checkout-{booking.reference}-{payment.id}"}
    link = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.PAYMENT_LINK_READY)).one()
    assert link.payload["reference"] == booking.reference
    assert payments.retry_queued_checkouts(lambda ref: LINKS).links_sent == 0  # once


def test_queued_checkouts_whose_hold_lapsed_are_closed_not_retried(app, stripe_server):
    booking = held()
    stripe_server.fail_all("unavailable")
    try_to_pay(booking)
    stripe_server.recover()
    report = payments.retry_queued_checkouts(lambda ref: LINKS, now=utcnow() + timedelta(hours=1))
    assert report.expired == 1 and report.links_sent == 0
    assert db.session.scalars(select(Payment)).one().status == PaymentStatus.EXPIRED


def test_the_retry_command_runs_every_queue(app, stripe_server):
    booking = held()
    stripe_server.fail_all("unavailable")
    try_to_pay(booking)
    stripe_server.recover()
    result = app.test_cli_runner().invoke(args=["payments", "retry"])
    assert result.exit_code == 0, result.output
    assert "payment links sent: 1" in result.output
    payment = db.session.scalars(select(Payment)).one()
    create = stripe_server.calls("POST", "/v1/checkout/sessions")[-1]
    assert create.params["success_url"].startswith(
        f"https://booking.example.test/bookings/{booking.reference}/payment-received?token=")
    assert payment.provider_checkout_id is not None


def test_refunds_have_their_own_breaker_and_are_queued_while_it_is_open(app, client,
                                                                         stripe_server):
    booking = paid_then_cancelled(client, stripe_server)

    refunds_breaker = payments.runtime().breakers.refunds
    refunds_breaker.force_open_since(datetime.now(timezone.utc))
    assert payments.breaker_states() == {"payments": "closed", "refunds": "open",
                                         "webhooks": "closed"}
    refund = payments.refund_cancellation(booking.reference)
    assert refund.status == RefundStatus.PENDING and refund.next_attempt_at > utcnow()
    assert stripe_server.calls("POST", "/v1/refunds") == []  # failed fast, kept

    refunds_breaker.force_open_since(datetime.now(timezone.utc) - timedelta(days=1))
    [attempt] = payments.retry_due_refunds(now=utcnow() + timedelta(minutes=5))
    assert attempt.outcome == "succeeded"
    assert refunds_breaker.current_state == "closed"
    assert db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.REFUND_ISSUED)).one()


# -- the scheduler runs the retries itself (no outside cron) --------------------------------------
def test_the_worker_sends_the_payment_link_itself_once_stripe_is_back(app, stripe_server):
    from app.worker import Worker

    booking = held()
    stripe_server.fail_all("unavailable")
    assert not try_to_pay(booking)
    stripe_server.recover()

    Worker(app).run_once()  # one scheduler tick of the worker process

    create = stripe_server.calls("POST", "/v1/checkout/sessions")[-1]
    assert create.params["success_url"].startswith(
        f"https://booking.example.test/bookings/{booking.reference}/payment-received?token=")
    assert create.params["cancel_url"].startswith(
        f"https://booking.example.test/bookings/{booking.reference}/pay?token=")
    link = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.PAYMENT_LINK_READY)).one()
    assert link.payload["reference"] == booking.reference
    run = db.session.scalars(select(JobRun).where(JobRun.job == "payments-retry")).one()
    assert run.status == "done" and json.loads(run.result)["payment_links_sent"] == 1


def test_the_payments_retry_job_retries_a_queued_refund_once_per_slot(app, client,
                                                                      stripe_server):
    booking = paid_then_cancelled(client, stripe_server)
    payments.runtime().breakers.refunds.force_open_since(datetime.now(timezone.utc))
    assert payments.refund_cancellation(booking.reference).status == RefundStatus.PENDING
    payments.runtime().breakers.refunds.force_open_since(
        datetime.now(timezone.utc) - timedelta(days=1))  # Stripe is back
    job = scheduler.get_job("payments-retry")
    later = utcnow() + timedelta(minutes=5)

    outcome = scheduler.run_job(job, app.config, now=later)
    again = scheduler.run_job(job, app.config, now=later)

    assert (outcome.status, outcome.result["refunds_succeeded"]) == ("done", 1)
    assert again.status == "skipped"
    assert len(stripe_server.calls("POST", "/v1/refunds")) == 1
    assert db.session.scalars(select(Refund)).one().status == RefundStatus.SUCCEEDED
