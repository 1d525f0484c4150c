"""Paying by invoice in the customer's pages: the choice on the booking form (offered
by the switch and the seat count), billing errors at their fields, the booking
confirmed at once, and pages that say payment is due, never paid or refunded."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingStatus, Invoice, utcnow
from app.services.core import switches
from app.services.payments import invoices

from factories import SessionFactory
from test_web_booking import HTMX, book, error_for, form_data, text, token_of

BILLING = {"payment_method": "invoice", "billing-company": "Acme Widgets Ltd",
           "billing-name": "Jo Accounts", "billing-email": "accounts@acme.example",
           "billing-address": "1 Mill Lane\r\nLeeds\r\nLS1 1AA", "purchase_order": "PO-4471"}
# What a customer who has not paid must never read about their money.
PAID_WORDS = re.compile(r"amount paid|you paid|\bpaid\b|refunded|refund of|to the card",
                        re.I)


def visible(html: str) -> str:
    """The page's words, without markup, scripts or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def main_text(html: str) -> str:
    match = re.search(r"<main\b.*?</main>", html, re.S)
    return visible(match.group(0) if match else html)


def offers_invoice(html: str) -> bool:
    return 'name="payment_method"' in html and 'id="billing-company"' in html


def future_session(**kwargs):
    return SessionFactory(starts_at=utcnow() + timedelta(days=40), capacity=12,
                          course__price_pence=12000, **kwargs)


def book_on_invoice_page(client, session_id: int, seats: int = 6, **overrides):
    return book(client, session_id, seats, **{**BILLING, **overrides})


# -- the form ---------------------------------------------------------------------------------
def test_the_form_offers_invoice_my_company_only_while_switched_on_and_for_enough_seats(
        app, client):
    course_session = future_session()
    url = f"/sessions/{course_session.id}/book"
    assert offers_invoice(text(client.get(url)))
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", False)
    assert not offers_invoice(text(client.get(f"{url}?seats=6")))
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", True)
    app.config["MIN_SEATS_FOR_INVOICE"] = 3
    assert not offers_invoice(text(client.get(f"{url}?seats=2")))
    assert offers_invoice(text(client.get(f"{url}?seats=3")))


def booked_on_invoice(client, seats: int) -> tuple:
    """A future session booked on invoice through the form: the booking and the URL of
    its confirmation page (which carries the manage token)."""
    response = book_on_invoice_page(client, future_session().id, seats=seats)
    return db.session.scalars(select(Booking)).one(), response.headers["Location"]


def test_choosing_more_seats_brings_the_invoice_choice_in_out_of_band(app, client):
    app.config["MIN_SEATS_FOR_INVOICE"] = 3
    course_session = future_session()
    fewer = client.post(f"/sessions/{course_session.id}/book", headers=HTMX,
                        data=form_data(2, action="resize"))
    more = client.post(f"/sessions/{course_session.id}/book", headers=HTMX,
                       data=form_data(3, action="resize"))
    assert 'id="payment-choice"' in text(fewer) and not offers_invoice(text(fewer))
    assert re.search(r'id="payment-choice"[^>]*hx-swap-oob', text(more))
    assert offers_invoice(text(more))


def test_billing_mistakes_are_reported_at_their_fields_and_nothing_is_booked(app, client):
    course_session = future_session()
    response = book_on_invoice_page(client, course_session.id, **{
        "billing-company": "", "billing-email": "not-an-email", "purchase_order": "P" * 65})
    html = text(response)
    assert response.status_code == 422
    for field_id in ("billing-company", "billing-email", "purchase_order"):
        assert error_for(html, field_id), field_id
    assert error_for(html, "billing-name") == ""
    assert 'href="#billing-email"' in html  # the error summary links to the field
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_a_card_booking_ignores_the_billing_fields(app, client):
    course_session = future_session()
    response = book(client, course_session.id, 2, **{**BILLING, "payment_method": "card",
                                                     "billing-email": "not-an-email"})
    assert response.status_code == 303 and "/pay?" in response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_an_unknown_payment_method_or_invoicing_switched_off_is_an_error_at_the_choice(
        app, client):
    course_session = future_session()
    bogus = book_on_invoice_page(client, course_session.id, payment_method="cheque")
    assert bogus.status_code == 422 and error_for(text(bogus), "payment_method")
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", False)
    off = book_on_invoice_page(client, course_session.id)
    assert off.status_code == 422
    assert "not available" in error_for(text(off), "payment_method")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_billing_fields_are_checked_as_you_type(app, client):
    course_session = future_session()
    bad = client.post(f"/sessions/{course_session.id}/book/validate",
                      data={"field": "billing-email", "billing-email": "nope"})
    good = client.post(f"/sessions/{course_session.id}/book/validate",
                       data={"field": "billing-company", "billing-company": "Acme Ltd"})
    assert bad.status_code == 200 and bad.headers["X-Field-Valid"] == "false"
    assert 'id="billing-email-error"' in text(bad)
    assert good.headers["X-Field-Valid"] == "true"


# -- booked -----------------------------------------------------------------------------------
def test_invoice_my_company_books_at_once_and_the_confirmation_says_payment_is_due(
        app, client):
    course_session = future_session()
    response = book_on_invoice_page(client, course_session.id, seats=6)
    assert response.status_code == 303 and "/confirmation?" in response.headers["Location"]
    booking = db.session.scalars(select(Booking)).one()
    invoice = booking.invoice
    assert booking.status == BookingStatus.CONFIRMED and booking.awaits_payment
    assert (invoice.billing_company, invoice.purchase_order, invoice.gross_pence) == (
        "Acme Widgets Ltd", "PO-4471", 6 * 12000)
    assert invoice.billing_address == "1 Mill Lane\nLeeds\nLS1 1AA"
    page = main_text(text(client.get(response.headers["Location"])))
    assert "Payment due: £720" in page and invoice.number in page and "PO-4471" in page
    assert "Amount due" in page
    assert not PAID_WORDS.search(page), PAID_WORDS.search(page)


def test_the_manage_and_cancel_pages_of_an_unpaid_invoice_say_due_and_credit_never_refund(
        app, client):
    booking, confirmation = booked_on_invoice(client, seats=2)
    reference, token = booking.reference, token_of(confirmation)
    manage = main_text(text(client.get(f"/bookings/{reference}?token={token}")))
    assert "Payment due: £240" in manage and booking.invoice.number in manage
    assert not PAID_WORDS.search(manage), PAID_WORDS.search(manage)

    ask = main_text(text(client.get(f"/bookings/{reference}/cancel?token={token}")))
    assert f"take £240 off invoice {booking.invoice.number}" in ask
    assert not PAID_WORDS.search(ask), PAID_WORDS.search(ask)

    assert client.post(f"/bookings/{reference}/cancel?token={token}").status_code == 303
    invoices.credit_cancellation(reference, settings=invoices.current())
    cancelled = main_text(text(client.get(f"/bookings/{reference}?token={token}")))
    assert "Cancelled" in cancelled and "Credit note CN-" in cancelled
    assert "Nothing is owed on invoice" in cancelled
    assert not PAID_WORDS.search(cancelled), PAID_WORDS.search(cancelled)


# -- paying the invoice by card (the fake provider) --------------------------------------------
PAY_INVOICE_LINK = re.compile(r'href="(/invoices/[A-Z0-9-]+/pay\?token=[^"]+)"')


def test_the_pay_by_card_link_on_the_booking_pays_the_invoice_and_abandoning_releases_nothing(
        app, client):
    booking, confirmation = booked_on_invoice(client, seats=2)
    reference, token = booking.reference, token_of(confirmation)
    assert PAY_INVOICE_LINK.search(text(client.get(confirmation)))
    pay_link = unescape(PAY_INVOICE_LINK.search(
        text(client.get(f"/bookings/{reference}?token={token}"))).group(1))

    fake_page = client.post(pay_link, data={"action": "pay"}).headers["Location"]
    assert "/checkout/fake/" in fake_page and client.get(fake_page).status_code == 200
    back = client.post(fake_page, data={"action": "abandon"})
    assert back.status_code == 303 and back.headers["Location"] == pay_link
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.CONFIRMED and booking.awaits_payment

    fake_page = client.post(pay_link, data={"action": "pay"}).headers["Location"]
    returned = client.post(fake_page, data={"action": "pay"}).headers["Location"]
    assert "returned=1" in returned
    assert "This invoice is paid" in text(client.get(returned))
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.invoice.is_paid and not booking.awaits_payment
    manage = main_text(text(client.get(f"/bookings/{reference}?token={token}")))
    assert "Payment due" not in manage and not PAY_INVOICE_LINK.search(manage)
