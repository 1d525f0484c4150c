"""Paying an invoice by card from its signed link: through the real Stripe SDK, the
fake Stripe server and signed webhooks; never a second charge, and what is charged
is what the invoice still owes."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Invoice, Payment, PaymentStatus, Refund, utcnow
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core.tokens import invoice_pay_token, manage_token
from app.web.formatting import pounds
from app.services.messaging import notifications
from app.services.payments import invoices, offline
from app.validation.invoice import BillingInput

from factories import SessionFactory, booking_request
from fakes.stripe_server import event, post_event, stripe_config, stripe_server  # noqa: F401
from notify_helpers import deliver_all, parse, parts

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=12)
BILLING = BillingInput(company="Acme Widgets Ltd", name="Jo Accounts",
                       email="accounts@acme.example", address="1 Mill Lane\nLeeds\nLS1 1AA",
                       purchase_order="PO-4471")
PAY_LINK = re.compile(r"https://booking\.example\.test/invoices/[A-Z0-9-]+/pay\?token=[\w.-]+")


@pytest.fixture
def app_config(stripe_server):
    return stripe_config(stripe_server)


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def book(app, seats=6) -> Invoice:
    course_session = SessionFactory(starts_at=utcnow() + timedelta(days=40), capacity=12,
                                    course__price_pence=12000)
    booking = offline.book_on_invoice(booking_request(course_session.id, seats), BILLING,
                                      policy=POLICY,
                                      settings=invoices.InvoiceSettings.from_config(app.config),
                                      actor=manage.Actor.customer())
    return booking.invoice


def fresh(invoice: Invoice) -> Invoice:
    db.session.expire_all()
    return db.session.get(Invoice, invoice.id)


def pay_path(app, number: str) -> str:
    return f"/invoices/{number}/pay?token=" + invoice_pay_token(
        number, secret_key=app.config["SECRET_KEY"])


def press_pay(client, path: str):
    return client.post(path, data={"action": "pay"})


def checkout_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return urlsplit(response.headers["Location"]).path.rsplit("/", 1)[-1]


def pay_at_stripe(client, stripe_server, checkout_id: str) -> None:
    session = stripe_server.complete_session(checkout_id)
    assert post_event(client, event("checkout.session.completed", session)).status_code == 200


def payments_of(invoice: Invoice) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.booking_id == invoice.booking_id)
                                   .order_by(Payment.id)))


def refunds_of(invoice: Invoice) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.booking_id == invoice.booking_id)))


def invoice_emails(outbox) -> list[dict]:
    return [parts(parse(m)) for m in outbox if "Invoice" in m.subject]


# -- paying -----------------------------------------------------------------------------------
def test_the_link_in_the_invoice_email_pays_it_through_stripe_checkout_and_the_webhook(
        app, client, stripe_server, outbox):
    invoice = book(app)
    deliver_all()
    [email] = invoice_emails(outbox)
    link = PAY_LINK.search(email["text"]).group(0)
    path = link.removeprefix("https://booking.example.test")
    page = client.get(path)
    owed = invoice.gross_pence
    assert page.status_code == 200 and pounds(owed) in page.get_data(as_text=True)

    checkout_id = checkout_id_of(press_pay(client, path))
    [create] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert create.params["line_items"][0]["price_data"]["unit_amount"] == str(owed)
    assert create.params["line_items"][0]["quantity"] == "1"
    assert create.params["customer_email"] == BILLING.email
    assert create.params["success_url"].startswith(link) and "returned=1" in \
        create.params["success_url"]
    pay_at_stripe(client, stripe_server, checkout_id)

    invoice = fresh(invoice)
    assert invoice.is_paid and invoice.paid_reference.startswith("Card payment pi_")
    [payment] = payments_of(invoice)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_pence == owed
    assert refunds_of(invoice) == [] and stripe_server.calls("POST", "/v1/refunds") == []
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "invoice.paid_by_card"))
    assert audit.entity_id == invoice.number
    reference = invoice.booking.reference
    api = client.get(f"/api/v1/bookings/{reference}?token="
                     + manage_token(reference, secret_key=app.config["SECRET_KEY"]))
    assert api.get_json()["payment"]["status"] == "paid"
    assert "This invoice is paid" in client.get(path + "&returned=1").get_data(as_text=True)


def test_paying_in_two_tabs_keeps_the_first_payment_and_refunds_the_second(
        app, client, stripe_server):
    invoice = book(app)
    path = pay_path(app, invoice.number)
    first = checkout_id_of(press_pay(client, path))
    # The first session is too near its end to hand out again: the second tab gets a new one.
    payment = payments_of(invoice)[0]
    payment.expires_at = utcnow() + timedelta(minutes=1)
    db.session.commit()
    second = checkout_id_of(press_pay(client, path))
    assert first != second
    pay_at_stripe(client, stripe_server, first)
    pay_at_stripe(client, stripe_server, second)

    assert fresh(invoice).is_paid
    [refund] = refunds_of(invoice)
    assert refund.reason == "duplicate_payment" and refund.amount_pence == invoice.gross_pence
    [call] = stripe_server.calls("POST", "/v1/refunds")
    assert call.params["reason"] == "duplicate"


def test_paying_a_paid_invoice_says_so_and_charges_nothing(app, client, stripe_server):
    invoice = book(app)
    invoices.mark_invoice_paid(invoice.number, "BACS 991", actor=manage.Actor.system())
    path = pay_path(app, invoice.number)
    assert "This invoice is paid" in client.get(path).get_data(as_text=True)
    response = press_pay(client, path)
    assert response.status_code == 409 and "already paid" in response.get_data(as_text=True)
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []


def test_the_card_is_charged_what_is_owed_after_a_credit_note(app, client, stripe_server):
    invoice = book(app)
    invoices.issue_credit_note(invoice.number, {"amount": "120.00", "reason": "One no-show"},
                               actor=manage.Actor.system(),
                               settings=invoices.InvoiceSettings.from_config(app.config))
    path = pay_path(app, invoice.number)
    owed = invoice.gross_pence - 12000
    assert pounds(owed) in client.get(path).get_data(as_text=True)
    checkout_id = checkout_id_of(press_pay(client, path))
    [create] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert create.params["line_items"][0]["price_data"]["unit_amount"] == str(owed)
    pay_at_stripe(client, stripe_server, checkout_id)
    assert fresh(invoice).is_paid and refunds_of(invoice) == []


def test_a_payment_for_a_balance_credited_meanwhile_is_refunded_and_the_invoice_stays_due(
        app, client, stripe_server):
    invoice = book(app)
    checkout_id = checkout_id_of(press_pay(client, pay_path(app, invoice.number)))
    invoices.issue_credit_note(invoice.number, {"amount": "120.00", "reason": "One no-show"},
                               actor=manage.Actor.system(),
                               settings=invoices.InvoiceSettings.from_config(app.config))
    pay_at_stripe(client, stripe_server, checkout_id)
    gross = invoice.gross_pence
    invoice = fresh(invoice)
    assert not invoice.is_paid and invoice.outstanding_pence == gross - 12000
    [refund] = refunds_of(invoice)
    assert refund.reason == "invoice_changed" and refund.amount_pence == gross


# -- the link ---------------------------------------------------------------------------------
def test_a_forged_or_another_invoices_token_is_refused(app, client, stripe_server):
    one, two = book(app), book(app)
    key = app.config["SECRET_KEY"]
    reference = one.booking.reference
    for token in (invoice_pay_token(two.number, secret_key=key), "forged",
                  manage_token(reference, secret_key=key),
                  invoice_pay_token(one.number, secret_key="another-key"), ""):
        url = f"/invoices/{one.number}/pay?token={token}"
        assert client.get(url).status_code == 403
        assert client.post(url, data={"action": "pay"}).status_code == 403
    assert client.get(pay_path(app, "INV-999999")).status_code == 404
    assert client.get(pay_path(app, one.number)).status_code == 200  # control
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []


def _pdf_links(data: bytes) -> list[str]:
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action and "/URI" in action:
                found.append(str(action["/URI"]))
    return found


def test_the_pay_link_is_in_the_invoice_pdf_and_the_invoice_and_reminder_emails(
        app, client, outbox, stripe_server):
    invoice = book(app)
    deliver_all()
    notifications.send_invoice_reminder(fresh(invoice), 7)
    sent = invoice_emails(outbox)
    assert len(sent) == 2
    path = pay_path(app, invoice.number)
    link = "https://booking.example.test" + path
    for email in sent:
        assert link in email["text"] and link.replace("&", "&amp;") in email["html"]
        [pdf] = email["attachments"].values()
        assert link in _pdf_links(pdf)
    # The page the link opens works (the link is the one the route checks).
    assert client.get(path).status_code == 200
    admin_pdf = invoices.invoice_document(fresh(invoice), invoices.InvoiceSettings.from_config(
        app.config))
    assert link in _pdf_links(admin_pdf)


def test_the_manage_page_of_an_unpaid_invoice_links_to_paying_it_by_card(app, client,
                                                                        stripe_server):
    invoice = book(app)
    reference = invoice.booking.reference
    page = client.get(f"/bookings/{reference}?token="
                      + manage_token(reference, secret_key=app.config["SECRET_KEY"]))
    assert pay_path(app, invoice.number).replace("&", "&amp;") in page.get_data(as_text=True) \
        or pay_path(app, invoice.number) in page.get_data(as_text=True)
