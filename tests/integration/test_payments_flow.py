"""Card payments end to end through the real Stripe SDK and the fake Stripe server:
checkout, verified webhook, confirmation, late and odd payments, refunds."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Alert, Booking, BookingStatus, OutboxEvent, Payment, PaymentStatus, Refund, RefundStatus,
    utcnow,
)
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.bookings import manage
from app.services.bookings.holds import BookingPolicy
from app.services.core import events
from app.services.core.errors import HoldExpired, InvalidInput, InvalidState, SeatsUnavailable
from app.services.payments import invoices
from app.services.payments.checkout import STRIPE_MIN_EXPIRY

from factories import BookingFactory, SessionFactory, booking_request
from fakes.stripe_server import event, post_event, stripe_config, stripe_server  # noqa: F401

LINKS = payments.CheckoutLinks(success_url="https://booking.example.test/done",
                               cancel_url="https://booking.example.test/pay")
POLICY = BookingPolicy()
SYSTEM = manage.Actor.system()  # the `flask payments ...` commands


@pytest.fixture
def app_config(stripe_server):
    return stripe_config(stripe_server)


# -- helpers -------------------------------------------------------------------------------------
def future_session(**kwargs):
    kwargs.setdefault("starts_at", (utcnow() + timedelta(days=30)).replace(microsecond=0))
    kwargs.setdefault("ends_at", kwargs["starts_at"] + timedelta(hours=7))
    return SessionFactory(**kwargs)


def hold(course_session, seats: int = 1) -> Booking:
    return booking_service.hold_seats(booking_request(course_session.id, seats), policy=POLICY)


def fresh(booking: Booking) -> Booking:
    return db.session.get(Booking, booking.id, populate_existing=True)


def payments_of(booking: Booking) -> list[Payment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)
                                   .order_by(Payment.id)))


def refunds_of(booking: Booking) -> list[Refund]:
    db.session.expire_all()
    return list(db.session.scalars(select(Refund).where(Refund.booking_id == booking.id)
                                   .order_by(Refund.id)))


def recorded(event_type: str, reference: str | None = None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.event_type == event_type)
    if reference:
        stmt = stmt.where(OutboxEvent.aggregate_id == reference)
    return list(db.session.scalars(stmt.order_by(OutboxEvent.id)))


def checkout_id(booking: Booking) -> str:
    return [p for p in payments_of(booking) if p.provider_checkout_id][-1].provider_checkout_id


def pay_at_stripe(client, stripe_server, booking: Booking):
    """The customer pays on Stripe's page; Stripe sends checkout.session.completed."""
    session = stripe_server.complete_session(checkout_id(booking))
    response = post_event(client, event("checkout.session.completed", session))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def lapse_hold(booking: Booking) -> None:
    booking = fresh(booking)
    booking.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def deliver(event_type: str, handler: str) -> None:
    """Run one outbox handler on its deliveries, as the dispatcher does."""
    for outbox_event in recorded(event_type):
        if any(d.handler == handler for d in outbox_event.deliveries):
            events.registry.get(handler).func(outbox_event)


# -- the happy path ---------------------------------------------------------------------------------
def test_full_flow_hold_checkout_webhook_confirm_cancel_refund(app, client, stripe_server):
    course_session = future_session(capacity=5)
    booking = hold(course_session, seats=2)

    started = payments.start_checkout(booking.reference, LINKS)
    [payment] = payments_of(booking)
    [create] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert started.checkout_url == stripe_server.session(payment.provider_checkout_id)["url"]
    assert create.idempotency_key == f"checkout-{booking.reference}-{payment.id}"
    assert create.params["client_reference_id"] == booking.reference
    assert create.params["metadata"]["booking_reference"] == booking.reference
    assert create.params["customer_email"] == booking.contact_email
    assert create.params["line_items"][0]["quantity"] == "2"
    assert int(create.params["line_items"][0]["price_data"]["unit_amount"]) * 2 == booking.amount_pence
    assert create.params["success_url"] == LINKS.success_url
    assert payment.status == PaymentStatus.PENDING and payment.provider == "stripe"

    pay_at_stripe(client, stripe_server, booking)
    assert fresh(booking).status == BookingStatus.CONFIRMED
    [payment] = payments_of(booking)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.provider_payment_id.startswith("pi_")
    assert len(recorded(events.BOOKING_CONFIRMED, booking.reference)) == 1

    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    deliver(events.BOOKING_CANCELLED, "payments.refund_cancellation")
    [refund] = refunds_of(booking)
    assert refund.status == RefundStatus.SUCCEEDED and refund.amount_pence == booking.amount_pence
    assert refund.reason == "cancellation" and refund.provider_refund_id.startswith("re_")
    [call] = stripe_server.calls("POST", "/v1/refunds")
    assert call.idempotency_key == refund.idempotency_key == f"refund-{booking.reference}-cancellation"
    assert call.params["payment_intent"] == payment.provider_payment_id
    assert int(call.params["amount"]) == booking.amount_pence
    [issued] = recorded(events.REFUND_ISSUED, booking.reference)
    assert issued.payload["amount_pence"] == booking.amount_pence
    assert issued.payload["refund_id"] == refund.id


def test_pressing_pay_again_reuses_the_open_checkout(app, stripe_server):
    booking = hold(future_session())
    first = payments.start_checkout(booking.reference, LINKS)
    again = payments.start_checkout(booking.reference, LINKS)
    assert again.checkout_url == first.checkout_url and again.is_reused
    assert len(stripe_server.calls("POST", "/v1/checkout/sessions")) == 1
    assert len(payments_of(booking)) == 1


def test_a_create_that_timed_out_is_retried_with_its_key_and_gets_the_same_session(
        app, stripe_server):
    booking = hold(future_session())
    stripe_server.delay = 1.5  # longer than the client's 1 s timeout; Stripe did the work
    with pytest.raises(payments.CardPaymentsPaused):
        payments.start_checkout(booking.reference, LINKS)
    stripe_server.delay = 0
    started = payments.start_checkout(booking.reference, LINKS)
    calls = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key
    assert calls[1].replayed
    assert len(stripe_server.state.sessions) == 1
    [payment] = payments_of(booking)
    assert payment.provider_checkout_id == next(iter(stripe_server.state.sessions))
    assert started.checkout_url == payment.checkout_url


def test_checkout_expiry_is_clamped_to_stripes_thirty_minute_minimum(app, stripe_server):
    booking = hold(future_session())
    booking = fresh(booking)
    booking.hold_expires_at = utcnow() + timedelta(minutes=10)
    db.session.commit()
    payments.start_checkout(booking.reference, LINKS)  # the fake refuses < 30 min, like Stripe
    [payment] = payments_of(booking)
    assert payment.expires_at >= utcnow() + STRIPE_MIN_EXPIRY
    [create] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert int(create.params["expires_at"]) == int(payment.expires_at.timestamp())


def test_an_expired_hold_cannot_start_a_checkout(app, stripe_server):
    booking = hold(future_session())
    lapse_hold(booking)
    with pytest.raises(HoldExpired):
        payments.start_checkout(booking.reference, LINKS)
    assert stripe_server.calls() == []


# -- late and odd payments ------------------------------------------------------------------------
def test_late_payment_with_the_seats_gone_is_refunded_automatically(app, client, stripe_server):
    course_session = future_session(capacity=1)
    late = hold(course_session)
    payments.start_checkout(late.reference, LINKS)
    lapse_hold(late)
    other = hold(course_session)  # the freed seat is taken by someone else

    pay_at_stripe(client, stripe_server, late)

    late = fresh(late)
    assert late.status == BookingStatus.REFUNDED
    [payment] = payments_of(late)
    assert payment.status == PaymentStatus.SUCCEEDED  # the money came in...
    [refund] = refunds_of(late)  # ...and went straight back
    assert refund.status == RefundStatus.SUCCEEDED and refund.amount_pence == payment.amount_pence
    assert refund.reason == "late_payment"
    [call] = stripe_server.calls("POST", "/v1/refunds")
    assert call.idempotency_key == refund.idempotency_key
    assert recorded(events.BOOKING_CONFIRMED, late.reference) == []
    [told] = recorded(events.LATE_PAYMENT_REFUNDED, late.reference)
    assert told.payload["amount_pence"] == payment.amount_pence
    assert told.payload["contact_email"] == late.contact_email
    assert recorded(events.REFUND_ISSUED, late.reference) == []  # told once, not twice
    alert = db.session.scalars(select(Alert).where(Alert.kind == "payments.payment_refunded_automatically")).one()
    assert late.reference in alert.message
    assert fresh(other).status == BookingStatus.HELD
    assert booking_service.seats_available(course_session) == 0


def test_late_payment_with_seats_still_free_confirms(app, client, stripe_server):
    course_session = future_session(capacity=2)
    booking = hold(course_session)
    payments.start_checkout(booking.reference, LINKS)
    lapse_hold(booking)
    pay_at_stripe(client, stripe_server, booking)
    assert fresh(booking).status == BookingStatus.CONFIRMED
    [confirmed] = recorded(events.BOOKING_CONFIRMED, booking.reference)
    assert confirmed.payload["late"] is True
    assert refunds_of(booking) == []


def test_payment_for_a_booking_cancelled_meanwhile_is_refunded(app, client, stripe_server):
    booking = hold(future_session())
    payments.start_checkout(booking.reference, LINKS)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    pay_at_stripe(client, stripe_server, booking)
    assert fresh(booking).status == BookingStatus.CANCELLED
    [refund] = refunds_of(booking)
    assert refund.reason == "booking_closed" and refund.status == RefundStatus.SUCCEEDED
    assert len(recorded(events.REFUND_ISSUED, booking.reference)) == 1


def test_a_second_payment_for_a_paid_booking_is_refunded(app, client, stripe_server):
    booking = hold(future_session())
    payments.start_checkout(booking.reference, LINKS)
    payments.mark_paid_offline(booking.reference, "bank_transfer", note="BACS ref 991",
                               actor=SYSTEM)
    pay_at_stripe(client, stripe_server, booking)
    [refund] = refunds_of(booking)
    assert refund.reason == "duplicate_payment" and refund.status == RefundStatus.SUCCEEDED
    assert stripe_server.calls("POST", "/v1/refunds")[0].params["reason"] == "duplicate"
    assert fresh(booking).status == BookingStatus.CONFIRMED
    assert len(recorded(events.BOOKING_CONFIRMED, booking.reference)) == 1


def test_server_side_retrieve_confirms_when_the_webhook_is_slow(app, client, stripe_server):
    booking = hold(future_session())
    payments.start_checkout(booking.reference, LINKS)
    session = stripe_server.complete_session(checkout_id(booking))  # no webhook yet
    progress = payments.sync_checkout(booking.reference)
    assert progress.state == "confirmed"
    assert stripe_server.calls("GET", "/v1/checkout/sessions/")
    post_event(client, event("checkout.session.completed", session))  # arrives later
    assert len(recorded(events.BOOKING_CONFIRMED, booking.reference)) == 1


def test_an_unpaid_retrieve_confirms_nothing(app, stripe_server):
    booking = hold(future_session())
    payments.start_checkout(booking.reference, LINKS)
    assert payments.sync_checkout(booking.reference).state == "confirming"
    assert fresh(booking).status == BookingStatus.HELD


# -- refunds ----------------------------------------------------------------------------------------
def paid_booking(client, stripe_server, *, seats=1) -> Booking:
    booking = hold(future_session(), seats=seats)
    payments.start_checkout(booking.reference, LINKS)
    pay_at_stripe(client, stripe_server, booking)
    return fresh(booking)


def test_a_refund_that_cannot_be_made_is_queued_and_retried_with_the_same_key(
        app, client, stripe_server):
    booking = paid_booking(client, stripe_server)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    stripe_server.fail_all("unavailable")
    refund = payments.refund_cancellation(booking.reference)
    assert refund.status == RefundStatus.PENDING and refund.attempts == 1
    assert refund.next_attempt_at > utcnow() and "unavailable" in refund.last_error.lower()
    assert payments.retry_due_refunds() == []  # not due yet

    stripe_server.recover()
    [attempt] = payments.retry_due_refunds(now=utcnow() + timedelta(minutes=5))
    assert attempt.outcome == "succeeded"
    [refund] = refunds_of(booking)
    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 2
    keys = [c.idempotency_key for c in stripe_server.calls("POST", "/v1/refunds")]
    assert keys == [refund.idempotency_key] * 2
    assert len(recorded(events.REFUND_ISSUED, booking.reference)) == 1


def test_a_refund_whose_answer_was_lost_is_not_made_twice(app, client, stripe_server):
    booking = paid_booking(client, stripe_server)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    stripe_server.delay = 1.5  # Stripe refunds, the answer times out
    assert payments.refund_cancellation(booking.reference).status == RefundStatus.PENDING
    stripe_server.delay = 0
    payments.retry_due_refunds(now=utcnow() + timedelta(minutes=5))
    assert len(stripe_server.state.refunds) == 1
    assert refunds_of(booking)[0].status == RefundStatus.SUCCEEDED


def test_a_refund_refused_for_good_fails_and_alerts_an_admin(app, client, stripe_server):
    booking = paid_booking(client, stripe_server)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    stripe_server.fail_next(1, kind="invalid")
    refund = payments.refund_cancellation(booking.reference)
    assert refund.status == RefundStatus.FAILED and refund.next_attempt_at is None
    assert db.session.scalars(select(Alert).where(Alert.kind == "payments.refund_failed")).one()
    assert payments.retry_due_refunds(now=utcnow() + timedelta(days=1)) == []


def test_the_cancellation_handler_delivered_twice_refunds_once(app, client, stripe_server):
    booking = paid_booking(client, stripe_server)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    deliver(events.BOOKING_CANCELLED, "payments.refund_cancellation")
    deliver(events.BOOKING_CANCELLED, "payments.refund_cancellation")
    assert len(refunds_of(booking)) == 1
    assert len(stripe_server.calls("POST", "/v1/refunds")) == 1


def test_cancelling_inside_the_half_refund_window_refunds_half(app, client, stripe_server):
    course_session = future_session(starts_at=(utcnow() + timedelta(days=7)).replace(microsecond=0))
    booking = hold(course_session, seats=2)
    payments.start_checkout(booking.reference, LINKS)
    pay_at_stripe(client, stripe_server, booking)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    refund = payments.refund_cancellation(booking.reference)
    assert refund.amount_pence == booking.amount_pence // 2


def test_admins_refund_part_then_the_rest_and_never_more_than_was_paid(app, client, stripe_server):
    booking = paid_booking(client, stripe_server, seats=2)
    part = payments.refund_booking(booking.reference, 3000, actor=SYSTEM)
    assert part.status == RefundStatus.SUCCEEDED and part.amount_pence == 3000
    with pytest.raises(InvalidInput):
        payments.refund_booking(booking.reference, booking.amount_pence, actor=SYSTEM)
    with pytest.raises(InvalidInput):
        payments.refund_booking(booking.reference, 0, actor=SYSTEM)
    rest = payments.refund_booking(booking.reference, actor=SYSTEM)
    assert rest.amount_pence == booking.amount_pence - 3000
    with pytest.raises(InvalidState):
        payments.refund_booking(booking.reference, 1, actor=SYSTEM)
    assert [int(c.params["amount"]) for c in stripe_server.calls("POST", "/v1/refunds")] == \
        [3000, booking.amount_pence - 3000]
    assert fresh(booking).status == BookingStatus.CONFIRMED  # money only
    # A later cancellation owes nothing more: the payment is already refunded in full.
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    assert payments.refund_cancellation(booking.reference) is None


def test_the_retry_sweep_creates_missing_cancellation_refunds(app, client, stripe_server):
    booking = paid_booking(client, stripe_server)
    # The payments handler is never delivered:
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    assert payments.create_missing_cancellation_refunds() == 1
    assert payments.create_missing_cancellation_refunds() == 0
    assert refunds_of(booking)[0].status == RefundStatus.SUCCEEDED


def test_a_refund_owed_on_an_invoice_paid_booking_goes_to_an_admin(app, stripe_server):
    booking = hold(future_session())
    payments.mark_paid_offline(booking.reference, "invoice", note="PO 4471", actor=SYSTEM)
    invoices.mark_invoice_paid(fresh(booking).invoice.number, "BACS 4471", actor=SYSTEM)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(), policy=POLICY)
    refund = payments.refund_cancellation(booking.reference)
    assert refund.status == RefundStatus.FAILED and "bank transfer" in refund.last_error
    assert db.session.scalars(select(Alert).where(Alert.kind == "payments.refund_needs_admin")).one()
    assert stripe_server.calls("POST", "/v1/refunds") == []


# -- paying another way ------------------------------------------------------------------------------
def test_an_admin_marks_a_booking_paid_by_invoice(app):
    """Invoicing is money owed, not money received: the booking is confirmed with its
    invoice issued to the contact and payment due, and no payment is recorded until
    the invoice is paid."""
    booking = hold(future_session())
    payments.mark_paid_offline(booking.reference, "invoice", note="PO 4471", actor=SYSTEM)
    booking = fresh(booking)
    invoice = booking.invoice
    assert booking.status == BookingStatus.CONFIRMED and booking.awaits_payment
    assert booking.payment_note == f"Invoice {invoice.number}: payment due; PO 4471"
    assert (invoice.billing_email, invoice.billing_name, invoice.gross_pence) == (
        booking.contact_email, booking.contact_name, booking.amount_pence)
    assert payments_of(booking) == []
    assert db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.INVOICE_ISSUED)).one().aggregate_id == invoice.number
    with pytest.raises(InvalidState):
        payments.mark_paid_offline(booking.reference, "invoice", actor=SYSTEM)
    with pytest.raises(InvalidInput):
        payments.mark_paid_offline(hold(future_session()).reference, "cheque", actor=SYSTEM)


def test_a_bank_transfer_marked_by_an_admin_is_paid_with_no_invoice(app):
    booking = hold(future_session())
    payments.mark_paid_offline(booking.reference, "bank_transfer", note="BACS 12",
                               actor=SYSTEM)
    booking = fresh(booking)
    assert booking.status == BookingStatus.CONFIRMED and booking.invoice is None
    assert not booking.awaits_payment and booking.payment_note == "Paid by bank transfer: BACS 12"
    [payment] = payments_of(booking)
    assert payment.provider == "bank_transfer" and payment.status == PaymentStatus.SUCCEEDED


def test_marking_a_lapsed_hold_paid_needs_the_seats_to_be_free(app):
    course_session = future_session(capacity=1)
    booking = hold(course_session)
    lapse_hold(booking)
    hold(course_session)
    with pytest.raises(SeatsUnavailable):
        payments.mark_paid_offline(booking.reference, "bank_transfer", actor=SYSTEM)
    assert payments_of(booking) == []  # nothing half-recorded


def test_factory_confirmed_bookings_have_no_card_payment_to_refund(app):
    booking = BookingFactory(session=future_session())
    with pytest.raises(InvalidState):
        payments.refund_booking(booking.reference, actor=SYSTEM)
