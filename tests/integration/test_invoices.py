"""Paying by invoice: the booking confirmed with payment due, invoice numbers without
gaps under concurrency, the invoice PDF's figures, reminders on UK dates, credit
notes, marking paid, and never a word of "paid" to a customer who has not."""
from __future__ import annotations

import io
import re
import time
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    AuditLog, Booking, BookingStatus, CreditNote, DocumentCounter, Invoice, Payment,
    PaymentStatus, SentEmail,
)
from app.repositories import unit_of_work
from app.repositories.invoices import InvoiceRepository
from app.services.background import scheduler
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core import events, switches
from app.services.core.errors import InvalidInput, InvalidState
from app.services.messaging import notifications
from app.services.payments import invoices, offline
from app.services.payments.refunds import refund_cancellation
from app.validation.invoice import BillingInput

from factories import SessionFactory, UserFactory, booking_request
from notify_helpers import BASE_URL, deliver_all, parse, parts, summer_session
from racing import race

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=12)
BILLING = BillingInput(company="Acme Widgets Ltd", name="Jo Accounts",
                       email="accounts@acme.example", address="1 Mill Lane\nLeeds\nLS1 1AA",
                       purchase_order="PO-4471")
# The last Sunday of October 2026: the clocks go back from BST to GMT at 02:00 that day.
CLOCK_CHANGE_SUNDAY = date(2026, 10, 25)


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL, "PROVIDER_VAT_NUMBER": "GB 123 4567 89",
            "INVOICE_BANK_NAME": "Yorkshire Bank", "INVOICE_BANK_SORT_CODE": "12-34-56",
            "INVOICE_BANK_ACCOUNT": "12345678",
            # Enough pooled connections for every racer to hit the database at once.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 45, "max_overflow": 0,
                                          "pool_timeout": 60}}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def settings(app) -> invoices.InvoiceSettings:
    return invoices.InvoiceSettings.from_config(app.config)


def book(app, course_session, seats=6, *, email="priya@example.com", billing=BILLING, now=None):
    return offline.book_on_invoice(booking_request(course_session.id, seats, email=email),
                                   billing, policy=POLICY, settings=settings(app),
                                   actor=manage.Actor.customer(), now=now)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)




# -- the booking ----------------------------------------------------------------------------
def test_an_invoice_booking_is_confirmed_at_once_with_its_invoice_for_the_bookings_amount(app):
    booking = book(app, summer_session(), seats=6)
    booking = db.session.get(Booking, booking.id)
    invoice = booking.invoice
    assert booking.status == BookingStatus.CONFIRMED and booking.hold_expires_at is None
    assert booking.awaits_payment and booking.payment_method == "invoice"
    assert invoice.gross_pence == booking.amount_pence == 6 * 12000
    assert invoice.net_pence + invoice.vat_pence == invoice.gross_pence
    assert (invoice.net_pence, invoice.vat_pence) == (60000, 12000)
    assert invoice.due_on == invoice.issued_on + (date(2026, 1, 31) - date(2026, 1, 1))
    assert invoice.purchase_order == "PO-4471" and invoice.supplier_vat_number == "GB 123 4567 89"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0  # nothing paid


def test_paying_by_invoice_is_refused_on_the_field_when_switched_off_or_too_few_seats(app):
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", False)
    with pytest.raises(InvalidInput) as off:
        book(app, summer_session(), seats=6)
    assert "payment_method" in off.value.fields
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", True)
    app.config["MIN_SEATS_FOR_INVOICE"] = 3
    with pytest.raises(InvalidInput) as few:
        book(app, summer_session(), seats=2)
    assert "payment_method" in few.value.fields
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert book(app, summer_session(), seats=3).invoice is not None


# -- numbering -------------------------------------------------------------------------------
def _numbers() -> list[int]:
    return list(db.session.scalars(select(Invoice.sequence).order_by(Invoice.sequence)))


def test_forty_concurrent_invoice_bookings_with_rollbacks_between_number_without_gaps(app):
    course_session = SessionFactory(capacity=60)
    session_id = course_session.id
    app_settings = settings(app)

    def attempt(i):
        if i % 5 == 0:  # a transaction that takes a number and then fails
            with unit_of_work():
                InvoiceRepository().next_number(invoices.INVOICE_SERIES)
                raise RuntimeError("rolled back on purpose")
        return offline.book_on_invoice(
            booking_request(session_id, 1, email=f"racer{i}@example.com"), BILLING,
            policy=POLICY, settings=app_settings, actor=manage.Actor.customer()).reference

    results = race(app, 48, attempt)
    booked = [r for r in results if isinstance(r, str)]
    unexpected = [r for r in results if isinstance(r, Exception)
                  and str(r) != "rolled back on purpose"]
    assert unexpected == [] and len(booked) == 38
    assert _numbers() == list(range(1, 39))
    assert len(set(db.session.scalars(select(Invoice.number)))) == 38
    assert db.session.get(DocumentCounter, "invoice").last_number == 38


def test_control_numbering_without_the_lock_gives_duplicates_under_the_same_race(app):
    """Read the counter, then write it back plus one, without locking first: the race
    the locked counter exists for is real on this database."""
    with unit_of_work():
        InvoiceRepository().next_number(invoices.INVOICE_SERIES)  # the row exists

    def attempt(_):
        with unit_of_work() as session:
            seen = session.scalar(select(DocumentCounter.last_number)
                                  .where(DocumentCounter.series == "invoice"))
            time.sleep(0.05)  # widen the window between the read and the write
            session.execute(update(DocumentCounter).where(DocumentCounter.series == "invoice")
                            .values(last_number=seen + 1))
            return seen + 1

    results = race(app, 20, attempt)
    taken = [r for r in results if isinstance(r, int)]
    assert len(set(taken)) < len(taken) or len(taken) < 20


def test_credit_notes_have_their_own_series(app):
    first, second = book(app, summer_session()), book(app, summer_session())
    admin = manage.Actor.staff(UserFactory().id)
    invoices.issue_credit_note(first.invoice.number, {"amount": "100.00", "reason": "Goodwill"},
                               actor=admin, settings=settings(app))
    invoices.issue_credit_note(second.invoice.number, {"amount": "20", "reason": "Goodwill"},
                               actor=admin, settings=settings(app))
    assert list(db.session.scalars(select(CreditNote.number).order_by(CreditNote.id))) == [
        "CN-000001", "CN-000002"]
    assert _numbers() == [1, 2]


# -- the invoice PDF -------------------------------------------------------------------------
def test_the_invoice_pdf_reads_back_net_plus_vat_equals_gross_the_po_and_the_due_date(
        app, outbox):
    booking = book(app, summer_session(), seats=6)
    deliver_all()
    invoice = db.session.get(Booking, booking.id).invoice
    [email] = [m for m in outbox if m.to == ["accounts@acme.example"]]
    text = pdf_text(parts(parse(email))["attachments"][f"invoice-{invoice.number}.pdf"])

    def amount(label):
        match = re.search(label + r"\s*£([\d,]+\.\d\d)", text)
        assert match, f"{label} not in the PDF"
        return round(float(match.group(1).replace(",", "")) * 100)

    net, vat = amount(r"Net \(excluding VAT\)"), amount(r"VAT at 20%")
    gross = amount(r"Total due \(including VAT\)")
    assert net + vat == gross == booking.amount_pence == 72000
    assert "PO-4471" in text and invoice.number in text
    due = invoice.due_on
    assert f"Payment due by {due.day} {due:%B %Y}" in text
    assert "12-34-56" in text and "12345678" in text and "GB 123 4567 89" in text
    assert "Acme Widgets Ltd" in text and "paid" not in text.lower().replace("unpaid", "")


# -- reminders --------------------------------------------------------------------------------
def _reminders(now):
    from flask import current_app

    return scheduler.invoice_reminders_job(now, current_app.config)["sent"]


def test_reminders_go_on_the_uk_due_date_and_days_after_across_the_clock_change(app, outbox):
    booking = book(app, summer_session(), seats=2)
    with unit_of_work():
        db.session.execute(update(Invoice).where(Invoice.booking_id == booking.id)
                           .values(due_on=CLOCK_CHANGE_SUNDAY))
    utc = timezone.utc
    # 23:59 BST on Saturday 24 October: not yet the due date in the UK.
    assert _reminders(datetime(2026, 10, 24, 22, 59, tzinfo=utc)) == 0
    # 00:00 BST on Sunday 25 October (still 24 October in UTC): the due date.
    assert _reminders(datetime(2026, 10, 24, 23, 0, tzinfo=utc)) == 1
    assert _reminders(datetime(2026, 10, 25, 12, 0, tzinfo=utc)) == 0  # once
    # 23:30 GMT on Saturday 31 October: an hour-ahead clock would already call it 1 November.
    assert _reminders(datetime(2026, 10, 31, 23, 30, tzinfo=utc)) == 0
    assert _reminders(datetime(2026, 11, 1, 0, 0, tzinfo=utc)) == 1  # 7 days after, GMT
    subjects = [m.subject for m in outbox if m.to == ["accounts@acme.example"]]
    assert any("is due today" in s for s in subjects) and any("is overdue" in s for s in subjects)
    invoices.mark_invoice_paid(booking.invoice.number, "BACS 991",
                               actor=manage.Actor.staff(UserFactory().id))
    assert _reminders(datetime(2026, 11, 8, 9, 0, tzinfo=utc)) == 0  # paid: no 14-day reminder


def test_the_reminder_job_runs_daily_at_nine_uk_time(app):
    job = scheduler.get_job("invoice-reminders")
    assert job.slot(datetime(2026, 10, 25, 8, 59, tzinfo=timezone.utc)) is None  # 08:59 GMT
    assert job.slot(datetime(2026, 10, 25, 9, 0, tzinfo=timezone.utc)) == "2026-10-25"
    assert job.slot(datetime(2026, 10, 24, 8, 0, tzinfo=timezone.utc)) == "2026-10-24"  # BST


# -- paid, credited, cancelled -----------------------------------------------------------------
def test_marking_paid_records_the_transfer_payment_and_audits_it(app):
    booking = book(app, summer_session(), seats=2)
    admin = UserFactory()
    number = booking.invoice.number
    invoice = invoices.mark_invoice_paid(number, "BACS 991", actor=manage.Actor.staff(admin.id))
    assert invoice.is_paid and invoice.paid_reference == "BACS 991"
    [payment] = db.session.scalars(select(Payment)).all()
    assert payment.provider == "bank_transfer" and payment.status == PaymentStatus.SUCCEEDED
    assert payment.amount_pence == booking.amount_pence
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "invoice.mark_paid")).one()
    assert audit.actor_id == admin.id and audit.entity_id == number
    with pytest.raises(InvalidState):
        invoices.mark_invoice_paid(number, "again", actor=manage.Actor.staff(admin.id))
    assert not db.session.get(Booking, booking.id).awaits_payment


def test_cancelling_an_unpaid_invoice_booking_credits_it_and_refunds_nothing(app):
    booking = book(app, summer_session(), seats=2)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    deliver_all()
    invoice = db.session.get(Booking, booking.id).invoice
    [note] = invoice.credit_notes
    assert note.gross_pence == booking.amount_pence and note.number == "CN-000001"
    assert invoice.status(date.today()) == "refunded"
    assert refund_cancellation(booking.reference) is None
    assert db.session.scalars(select(AuditLog).where(
        AuditLog.action == "invoice.credit_note")).one()


def test_a_credit_note_cannot_exceed_what_the_invoice_still_carries(app):
    booking = book(app, summer_session(), seats=1)
    admin = manage.Actor.staff(UserFactory().id)
    with pytest.raises(InvalidInput) as too_much:
        invoices.issue_credit_note(booking.invoice.number, {"amount": "120.01", "reason": "x"},
                                   actor=admin, settings=settings(app))
    assert "amount" in too_much.value.fields
    with pytest.raises(InvalidInput):
        invoices.issue_credit_note(booking.invoice.number, {"amount": "abc", "reason": "x"},
                                   actor=admin, settings=settings(app))
    assert db.session.scalar(select(func.count()).select_from(CreditNote)) == 0


# -- never "paid" ------------------------------------------------------------------------------
PAID_WORDS = re.compile(r"\bpaid\b|receipt", re.IGNORECASE)


def _words_of(message) -> str:
    found = parts(parse(message))
    texts = [message.subject, found.get("text", ""), found.get("html", "")]
    texts += [pdf_text(data) for name, data in found["attachments"].items()
              if name.endswith(".pdf")]
    return "\n".join(texts)


def test_an_invoice_booking_is_never_described_as_paid_in_any_email(app, outbox):
    booking = book(app, summer_session(), seats=6)
    with unit_of_work():
        events.record_event(events.CONFIRMATION_RESEND_REQUESTED, booking.reference,
                            {"reference": booking.reference, "requested_by": None})
    deliver_all()
    fresh = db.session.get(Booking, booking.id)
    notifications.send_course_reminder(fresh)
    notifications.send_invoice_reminder(fresh.invoice, 0)
    notifications.send_invoice_reminder(fresh.invoice, 7)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy(full_refund_days=0, no_refund_hours=0))
    deliver_all()
    templates = set(db.session.scalars(select(SentEmail.template)))
    assert {"booking_confirmed", "invoice_issued", "course_reminder", "invoice_reminder",
            "booking_cancelled"} <= templates
    assert len(outbox) >= 7
    for message in outbox:
        words = _words_of(message)
        assert not PAID_WORDS.search(words), (message.subject, PAID_WORDS.findall(words))
    confirmation = next(m for m in outbox if m.subject.startswith("Booking confirmed"))
    assert "Payment due" in _words_of(confirmation)


def test_control_a_card_booking_is_described_as_paid(app, outbox):
    course_session = summer_session()
    held = svc.hold_seats(booking_request(course_session.id, 2), policy=POLICY)
    svc.confirm_booking(held.reference)
    deliver_all()
    assert PAID_WORDS.search(_words_of(outbox[0]))


# -- the API ---------------------------------------------------------------------------------
def _api_body(session_id, seats=6, **extra):
    return {"session_id": session_id, "accept_terms": True,
            "contact": {"name": "Priya Shah", "email": "priya@example.com",
                        "phone": "07700 900123", "postcode": "LS1 4AP", "company": "Acme"},
            "attendees": [{"name": f"Learner {chr(65 + i)}"} for i in range(seats)], **extra}


INVOICE_FIELDS = {"payment_method": "invoice", "purchase_order": "PO-77",
                  "billing": {"company": "Acme Widgets Ltd", "name": "Jo Accounts",
                              "email": "accounts@acme.example", "address": "1 Mill Lane, Leeds"}}


def test_the_api_books_on_invoice_and_shows_the_payment_due(app, client):
    course_session = summer_session()
    answer = client.post("/api/v1/bookings", json=_api_body(course_session.id, **INVOICE_FIELDS))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "confirmed" and body["hold_expires_at"] is None
    payment = body["payment"]
    assert payment["method"] == "invoice" and payment["status"] == "due"
    assert payment["invoice_number"] == "INV-000001" and payment["due_date"]
    shown = client.get(answer.headers["Location"].replace(BASE_URL, "")
                       .replace("/bookings/", "/api/v1/bookings/"))
    assert shown.get_json()["payment"] == payment


def test_the_api_refuses_invoice_without_billing_or_with_a_bad_method_on_the_fields(app, client):
    course_session = summer_session()
    answer = client.post("/api/v1/bookings", json=_api_body(
        course_session.id, payment_method="invoice", billing={"company": ""}))
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert {"billing.company", "billing.name", "billing.email", "billing.address"} <= set(fields)
    bad = client.post("/api/v1/bookings", json=_api_body(course_session.id,
                                                         payment_method="cheque"))
    assert bad.status_code == 422 and "payment_method" in bad.get_json()["error"]["fields"]
    switches.set_switch(None, "INVOICE_PAYMENTS_ENABLED", False)
    off = client.post("/api/v1/bookings", json=_api_body(course_session.id, **INVOICE_FIELDS))
    assert off.status_code == 422 and "payment_method" in off.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_a_card_booking_in_the_api_shows_card_payment_due_until_paid(app, client):
    answer = client.post("/api/v1/bookings", json=_api_body(summer_session().id, seats=1))
    assert answer.status_code == 201
    assert answer.get_json()["payment"] == {"method": "card", "status": "due",
                                            "invoice_number": None, "due_date": None}


# -- the admin pages -----------------------------------------------------------------------------
def test_admin_lists_unpaid_and_overdue_invoices_marks_one_paid_and_credits_another(
        app, admin_client, admin_user):
    paid_later, overdue = book(app, summer_session(), seats=2), book(app, summer_session())
    with unit_of_work():
        db.session.execute(update(Invoice).where(Invoice.booking_id == overdue.id)
                           .values(due_on=date(2020, 1, 31)))
    number, late_number = paid_later.invoice.number, overdue.invoice.number
    unpaid = admin_client.get("/admin/invoices").get_data(as_text=True)
    assert number in unpaid and late_number in unpaid and "Overdue" in unpaid
    only_overdue = admin_client.get("/admin/invoices?show=overdue").get_data(as_text=True)
    assert late_number in only_overdue and number not in only_overdue

    blank = admin_client.post(f"/admin/invoices/{number}/mark-paid", data={"reference": ""})
    assert blank.status_code == 422
    done = admin_client.post(f"/admin/invoices/{number}/mark-paid",
                             data={"reference": "BACS 991"})
    assert done.status_code == 303
    admin_client.get("/admin/invoices/INV-000001")  # shows the flashed confirmation
    assert f'/admin/invoices/{number}"' not in admin_client.get("/admin/invoices").get_data(
        as_text=True)

    too_much = admin_client.post(f"/admin/invoices/{late_number}/credit-notes",
                                 data={"amount": "9999", "reason": "Refund"})
    assert too_much.status_code == 422
    credited = admin_client.post(f"/admin/invoices/{late_number}/credit-notes",
                                 data={"amount": "720.00", "reason": "Course moved online"})
    assert credited.status_code == 303
    detail = admin_client.get(f"/admin/invoices/{late_number}").get_data(as_text=True)
    assert "CN-000001" in detail and "Refunded" in detail
    pdf = admin_client.get("/admin/credit-notes/CN-000001.pdf")
    assert pdf.status_code == 200 and "Course moved online" in pdf_text(pdf.data)
    assert admin_client.get(f"/admin/invoices/{number}.pdf").status_code == 200
    assert admin_client.get("/admin/invoices/INV-999999").status_code == 404
    actions = set(db.session.scalars(select(AuditLog.action).where(
        AuditLog.actor_id == admin_user.id)))
    assert {"invoice.mark_paid", "invoice.credit_note"} <= actions
