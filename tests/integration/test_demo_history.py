"""The demo's past, present and future: true to every rule, quiet, and the same each time."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.demo_data import seed_demo
from app.extensions import db
from app.models import (
    Attendee, Booking, BookingStatus, CourseSession, Invoice, InvoiceStatus, OutboxEvent,
    Payment, PaymentStatus, Refund, RefundStatus, Role, SentEmail, SessionStatus, User,
    WaitlistEntry, WaitlistStatus,
)
from app.repositories import BookingRepository, unit_of_work
from app.services.analytics import refresh_analytics
from app.services.background import scheduler
from app.services.bookings.holds import BookingPolicy
from app.services.payments import invoices as invoicing
from app.services.payments.invoices import InvoiceSettings
from app.services.staff import certificates, roster

from notify_helpers import deliver_all

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc)  # a Monday, courses under way
TODAY = NOW.astimezone(LONDON).date()


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def seed(app, now: datetime = NOW):
    return seed_demo(now, admin_email="office@reactfasttraining.co.uk",
                     admin_password="admin-demo-password", trainer_password="trainer-demo-password",
                     reminder_days_before=app.config["REMINDER_DAYS_BEFORE"],
                     certificate_reminder_days=app.config["CERTIFICATE_REMINDER_DAYS"],
                     policy=BookingPolicy.from_config(app.config),
                     invoice_settings=InvoiceSettings.from_config(app.config))


def rows(model, *where) -> list:
    return list(db.session.scalars(select(model).where(*where)))


def test_seeded_history_keeps_every_invariant(app):
    seed(app)
    policy = BookingPolicy.from_config(app.config)
    sessions = rows(CourseSession)
    taken = BookingRepository().seats_taken_by_session([s.id for s in sessions], NOW)
    paid, refunded = defaultdict(int), defaultdict(int)
    for p in rows(Payment, Payment.status == PaymentStatus.SUCCEEDED):
        paid[p.booking_id] += p.amount_pence
    for r in rows(Refund):
        assert r.status == RefundStatus.SUCCEEDED and r.payment.is_card, r
        refunded[r.booking_id] += r.amount_pence

    for s in sessions:
        assert taken[s.id] <= s.capacity, s  # never oversold
        if s.status == SessionStatus.COMPLETED:
            assert s.ends_at < NOW, s
        else:
            assert s.status == SessionStatus.CANCELLED or s.ends_at > NOW, s
    for b in rows(Booking):
        assert len(b.attendees) == b.seats and b.amount_pence == b.seats * b.session.price_pence
        if b.status == BookingStatus.CONFIRMED:
            # An invoice still owed has no payment yet; everything else was paid in full.
            owed = b.is_invoice_unpaid
            assert paid[b.id] == (0 if owed else b.amount_pence) and refunded[b.id] == 0, b
            assert b.awaits_payment == owed, b
            assert b.session.status != SessionStatus.CANCELLED, b
        elif b.status == BookingStatus.CANCELLED:
            assert paid[b.id] == b.amount_pence, b
            assert refunded[b.id] == b.refund_due_pence <= b.amount_pence, b
            assert b.confirmed_at < b.cancelled_at < min(NOW, b.session.starts_at), b
            if b.session.status != SessionStatus.CANCELLED:  # the customer cancelled
                assert b.refund_due_pence == policy.refund_due_pence(
                    b.amount_pence, b.session.starts_at, b.cancelled_at), b
        else:
            assert b.status == BookingStatus.EXPIRED and paid[b.id] == 0, b
            assert b.hold_expires_at < NOW, b
        for a in b.attendees:
            completed = (b.session.status == SessionStatus.COMPLETED
                         and b.status == BookingStatus.CONFIRMED)
            assert (a.attended is not None) == completed, a
            assert bool(a.certificate_number) == (completed and a.attended is True), a
            if a.certificate_number:
                assert certificates.NUMBER_PATTERN.match(a.certificate_number)
                assert a.certificate_issued_on == b.session.ends_at.astimezone(LONDON).date()
                assert a.certificate_expires_on == certificates.add_months(
                    a.certificate_issued_on, b.session.course.certificate_validity_months)
    for entry in rows(WaitlistEntry):
        if entry.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            assert entry.session.starts_at > NOW, entry
            assert taken[entry.session_id] == entry.session.capacity, entry  # only when full


def test_the_history_has_what_the_admin_pages_show(app):
    seed(app)
    statuses = {s.status for s in rows(CourseSession, CourseSession.ends_at < NOW)}
    assert statuses == {SessionStatus.COMPLETED, SessionStatus.CANCELLED}
    first = min(s.starts_at for s in rows(CourseSession))
    assert timedelta(days=170) < NOW - first < timedelta(days=366)
    assert {p.provider for p in rows(Payment)} == {"fake", "bank_transfer"}
    assert rows(Refund)
    assert rows(Attendee, Attendee.attended.is_(False))  # a no-show or two
    assert {e.status for e in rows(WaitlistEntry)} >= {WaitlistStatus.WAITING,
                                                        WaitlistStatus.BOOKED}
    assert list(certificates.certificates_due_to_expire(today=TODAY))

    figures = refresh_analytics(concurrently=False, now=NOW)
    assert figures.rows and all(count > 0 for count in figures.rows.values()), figures.rows


def test_every_trainer_has_a_session_today_with_a_register_ready_to_take(app):
    seed(app)
    trainers = rows(User, User.role == Role.TRAINER)
    assert len(trainers) == 4
    for trainer in trainers:
        today = [s for s in roster.trainer_sessions(trainer, now=NOW).upcoming
                 if s.course_session.starts_at.astimezone(LONDON).date() == TODAY]
        assert len(today) == 1, trainer
        register = roster.session_roster(trainer, today[0].course_session.id, now=NOW)
        assert register.can_take_attendance and register.entries
        assert register.unmarked == len(register.entries)


def test_seeding_writes_no_events_and_the_workers_first_run_sends_no_email(app, outbox):
    seed(app)
    # What a real past would have reminded by now is there to be reminded ...
    soon = [b for b in rows(Booking, Booking.status == BookingStatus.CONFIRMED)
            if NOW < b.session.starts_at <= NOW + timedelta(days=2)]
    expiring = [a for a in rows(Attendee, Attendee.certificate_expires_on.is_not(None))
                if a.certificate_expires_on <= TODAY + timedelta(days=60)]
    assert soon and expiring
    # ... and is recorded as skipped, never sent.
    assert {e.status for e in rows(SentEmail)} == {"skipped"}
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0

    for job in scheduler.JOBS:  # past 08:00 in London: the daily jobs are due as well
        assert scheduler.run_job(job, app.config, now=NOW).status == "done", job.name
    deliver_all()
    assert [(m.subject, m.to) for m in outbox] == []


def test_invoiced_bookings_have_real_invoices_numbered_without_gaps(app):
    seed(app)
    settings = InvoiceSettings.from_config(app.config)
    invoices = sorted(rows(Invoice), key=lambda i: i.sequence)
    assert [i.number for i in invoices] == [f"INV-{n:06d}" for n in range(1, len(invoices) + 1)]
    assert [i.issued_on for i in invoices] == sorted(i.issued_on for i in invoices)
    for invoice in invoices:
        b = invoice.booking
        assert b.status == BookingStatus.CONFIRMED and b.company, b
        assert invoice.issued_on == b.confirmed_at.astimezone(LONDON).date()
        assert invoice.due_on == invoice.issued_on + timedelta(days=settings.due_days)
        assert (invoice.billing_company, invoice.billing_name, invoice.billing_email) == (
            b.company, b.contact_name, b.contact_email)
        assert invoice.gross_pence == b.amount_pence == invoice.net_pence + invoice.vat_pence
        transfers = rows(Payment, Payment.booking_id == b.id)
        if invoice.is_paid:
            assert b.session.ends_at < NOW and not b.awaits_payment, invoice
            assert invoice.issued_on < invoice.paid_at.astimezone(LONDON).date() <= TODAY
            assert [(p.provider, p.amount_pence, p.paid_at) for p in transfers] == [
                ("bank_transfer", invoice.gross_pence, invoice.paid_at)]
            assert "paid by bank transfer" in b.payment_note
        else:
            assert b.is_invoice_unpaid and b.awaits_payment and transfers == [], invoice
            assert b.payment_note == f"Invoice {invoice.number}: payment due"
        if b.session.starts_at > NOW:  # upcoming: payment due
            assert not invoice.is_paid, invoice
    statuses = {i.status(TODAY) for i in invoices}
    assert statuses == {InvoiceStatus.PAID, InvoiceStatus.DUE, InvoiceStatus.OVERDUE}
    assert invoicing.unpaid_invoices(overdue_only=True, now=NOW)  # credit control has work
    assert all(b.payment_note is None for b in rows(Booking) if b.invoice is None)


class _Rollback(Exception):
    pass


def _everything_seeded(app) -> list[tuple]:
    """Seed inside a transaction that is rolled back, and return its rows without ids
    (PostgreSQL's sequences do not roll back)."""
    snapshot: list[tuple] = []
    with pytest.raises(_Rollback):
        with unit_of_work():
            seed(app)
            snapshot += sorted((s.course.slug, s.starts_at, s.venue.name, s.trainer.email,
                                s.capacity, s.status.value) for s in rows(CourseSession))
            snapshot += sorted((b.reference, b.session.starts_at, b.status.value, b.seats,
                                b.amount_pence, b.created_at, b.confirmed_at, b.cancelled_at,
                                b.refund_due_pence, b.payment_note,
                                tuple((a.full_name, a.attended, a.certificate_number,
                                       a.certificate_expires_on) for a in b.attendees))
                               for b in rows(Booking))
            snapshot += sorted((p.booking.reference, p.provider, p.amount_pence, p.paid_at)
                               for p in rows(Payment))
            snapshot += sorted((r.booking.reference, r.amount_pence, r.created_at)
                               for r in rows(Refund))
            snapshot += sorted((i.number, i.booking.reference, i.issued_on, i.due_on,
                                i.gross_pence, i.paid_at, i.paid_reference)
                               for i in rows(Invoice))
            snapshot += sorted((e.session.starts_at, e.name, e.status.value, e.seats)
                               for e in rows(WaitlistEntry))
            snapshot += sorted((e.dedupe_key, e.status) for e in rows(SentEmail))
            raise _Rollback
    return snapshot


def test_seeding_twice_for_the_same_date_gives_the_same_rows(app):
    first = _everything_seeded(app)
    assert first and _everything_seeded(app) == first
