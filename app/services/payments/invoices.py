"""Invoices: issuing them (numbered without gaps), marking them paid, credit notes,
the list of what is owed and the reminders that chase it.

A booking paid by invoice is confirmed at once with payment due
(app.services.payments.offline.book_on_invoice); its invoice is written in the
same transaction, so a booking never exists without its invoice nor an invoice
number without its booking. Numbers come from a locked counter row
(InvoiceRepository.next_number): a transaction that rolls back gives its number
back and the next invoice takes it, so the series has no gaps.

Whether an invoice is due, paid, overdue or refunded is a fact of the model
(``Invoice.status``), read on the UK date: a due date is a day in Europe/London.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from app.models import (
    Booking, CreditNote, Invoice, OutboxEvent, Payment, PaymentStatus, utcnow,
)
from app.monitoring import metrics
from app.repositories import unit_of_work
from app.repositories.invoices import InvoiceRepository
from app.repositories.payments import PaymentRepository
from app.services.bookings.holds import lock_booking
from app.services.bookings.manage import Actor
from app.services.core import events, switches
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput, InvalidState, NotFound
from app.services.core.inputs import checked, parse
from app.services.core.installed import Installed
from app.services.core.provider import Provider, vat_breakdown
from app.services.core.ukformat import london, pounds
from app.validation import FieldError
from app.validation.admin import validate_notes
from app.validation.invoice import BillingInput
from app.validation.text import clean_text

handlers = events.HandlerSet()

INVOICE_SERIES = "invoice"
CREDIT_NOTE_SERIES = "credit_note"
CANCELLATION_REASON = "Booking cancelled"


@dataclass(frozen=True)
class BankDetails:
    bank_name: str = ""
    account_name: str = ""
    sort_code: str = ""
    account_number: str = ""

    @property
    def is_set(self) -> bool:
        return bool(self.sort_code and self.account_number)


@dataclass(frozen=True)
class InvoiceSettings:
    """What invoicing needs from the configuration."""

    provider: Provider
    due_days: int = 30
    min_seats: int = 1
    reminder_days: tuple[int, ...] = (0, 7, 14)
    number_prefix: str = "INV-"
    credit_note_prefix: str = "CN-"
    bank: BankDetails = field(default_factory=BankDetails)

    @classmethod
    def from_config(cls, config: Mapping) -> "InvoiceSettings":
        return cls(
            provider=Provider.from_config(config),
            due_days=config.get("INVOICE_DUE_DAYS", 30),
            min_seats=config.get("MIN_SEATS_FOR_INVOICE", 1),
            reminder_days=tuple(config.get("INVOICE_REMINDER_DAYS", (0, 7, 14))),
            number_prefix=config.get("INVOICE_NUMBER_PREFIX", "INV-"),
            credit_note_prefix=config.get("CREDIT_NOTE_NUMBER_PREFIX", "CN-"),
            bank=BankDetails(
                bank_name=config.get("INVOICE_BANK_NAME", ""),
                account_name=config.get("INVOICE_BANK_ACCOUNT_NAME", "")
                or config.get("PROVIDER_NAME", ""),
                sort_code=config.get("INVOICE_BANK_SORT_CODE", ""),
                account_number=config.get("INVOICE_BANK_ACCOUNT", "")),
        )

    def invoice_number(self, sequence: int) -> str:
        return f"{self.number_prefix}{sequence:06d}"

    def credit_note_number(self, sequence: int) -> str:
        return f"{self.credit_note_prefix}{sequence:06d}"


_installed: Installed[InvoiceSettings] = Installed("set of invoice settings")
install = _installed.install


def current() -> InvoiceSettings:
    """The settings create_app installed, for outbox handlers and jobs."""
    return _installed.get()


def uk_today(now: datetime) -> date:
    return london(now).date()


# -- who may pay by invoice -------------------------------------------------------------
def check_invoice_allowed(seats: int, settings: InvoiceSettings) -> None:
    """InvalidInput on ``payment_method`` unless an administrator allows paying by
    invoice (the INVOICE_PAYMENTS_ENABLED switch) and the booking has enough seats."""
    if not switches.is_on("INVOICE_PAYMENTS_ENABLED"):
        message = "Paying by invoice is not available at the moment: please pay by card."
        raise InvalidInput(message, fields={"payment_method": message})
    if seats < settings.min_seats:
        message = (f"Paying by invoice is for bookings of {settings.min_seats} or more seats: "
                   "please pay by card.")
        raise InvalidInput(message, fields={"payment_method": message})


# -- issuing ---------------------------------------------------------------------------------
def _split(gross_pence: int, provider: Provider):
    """Net and VAT of a VAT-inclusive amount (no VAT when the provider is not registered)."""
    if not provider.is_vat_registered:
        return gross_pence, 0, 0
    parts = vat_breakdown(gross_pence, provider.vat_rate_percent)
    return parts.net_pence, parts.vat_pence, parts.rate_percent


def issue_invoice(booking: Booking, billing: BillingInput, *, settings: InvoiceSettings,
                  now: datetime) -> Invoice:
    """Write the booking's invoice in the caller's transaction, for the booking's
    amount as it stands (discounts included), and record InvoiceIssued (its email).
    The number is taken last, so the lock on the counter is held as briefly as can be."""
    if InvoiceRepository().for_booking(booking.id) is not None:
        raise InvalidState("This booking already has an invoice.")
    invoice = write_invoice(booking, billing, settings=settings, issued_on=uk_today(now))
    events.record_event(events.INVOICE_ISSUED, invoice.number, {
        "invoice_number": invoice.number, "reference": booking.reference,
        "gross_pence": invoice.gross_pence, "due_on": invoice.due_on.isoformat()})
    return invoice


def write_invoice(booking: Booking, billing: BillingInput, *, settings: InvoiceSettings,
                  issued_on: date, **row) -> Invoice:
    """Add the booking's invoice, dated `issued_on` (a UK date), for its amount as it
    stands: its number from the counter, the supplier as the provider is now, the VAT
    split. `row` sets further columns (the demo's timestamps). No event: issue_invoice
    records the one that emails it."""
    repo = InvoiceRepository()
    provider = settings.provider
    net, vat, rate = _split(booking.amount_pence, provider)
    sequence = repo.next_number(INVOICE_SERIES)
    invoice = repo.add(Invoice(
        sequence=sequence, number=settings.invoice_number(sequence), booking_id=booking.id,
        issued_on=issued_on, due_on=issued_on + timedelta(days=settings.due_days),
        purchase_order=billing.purchase_order, billing_company=billing.company,
        billing_name=billing.name, billing_email=billing.email,
        billing_address=billing.address, supplier_name=provider.name,
        supplier_address=provider.address, supplier_vat_number=provider.vat_number or None,
        vat_rate_percent=rate, net_pence=net, vat_pence=vat,
        gross_pence=booking.amount_pence, **row))
    booking.invoice = invoice
    return invoice


def get_invoice(number: str) -> Invoice:
    invoice = InvoiceRepository().get_by_number((number or "").strip().upper())
    if invoice is None:
        raise NotFound("We could not find that invoice.")
    return invoice


def _lock_invoice(number: str) -> Invoice:
    """Take the booking's session lock, then read the invoice fresh (in a unit of work):
    payments, credit notes and cancellations of one booking run one at a time."""
    invoice = get_invoice(number)
    lock_booking(invoice.booking.reference)
    repo = InvoiceRepository()
    return repo.refresh(invoice)


def get_credit_note(number: str) -> CreditNote:
    note = InvoiceRepository().credit_note_by_number((number or "").strip().upper())
    if note is None:
        raise NotFound("We could not find that credit note.")
    return note


def invoice_document(invoice: Invoice, settings: InvoiceSettings) -> bytes:
    """The invoice PDF, with its pay-by-card link while it is unpaid."""
    from app.services.core.links import current as current_links
    from app.services.documents import invoice_pdf

    pay_url = None if invoice.is_paid else current_links().invoice_pay_link(invoice.number)
    return invoice_pdf(invoice, settings.provider, bank=settings.bank, pay_url=pay_url)


def credit_note_document(note: CreditNote, settings: InvoiceSettings) -> bytes:
    from app.services.documents import credit_note_pdf

    return credit_note_pdf(note, settings.provider)


# -- paid ---------------------------------------------------------------------------------
REFERENCE_RULE = partial(clean_text, field_label="the bank transfer reference", max_length=100)


def mark_invoice_paid(number: str, reference: object, *, actor: Actor,
                      now: datetime | None = None) -> Invoice:
    """Record that the invoice was paid in full by bank transfer (`reference`: the
    transfer's reference), with a succeeded Payment so refunds and figures see it.
    Audited as ``invoice.mark_paid``."""
    reference = checked(REFERENCE_RULE, reference, "reference")
    now = now or utcnow()
    with unit_of_work():
        invoice = _lock_invoice(number)
        if invoice.is_paid:
            raise InvalidState(f"Invoice {invoice.number} is already marked paid.")
        if invoice.outstanding_pence <= 0:
            raise InvalidState(f"Nothing is owed on invoice {invoice.number}.")
        amount = invoice.outstanding_pence
        payments = PaymentRepository()
        payments.add(Payment(booking_id=invoice.booking_id, provider="bank_transfer",
                             amount_pence=amount, currency="gbp",
                             status=PaymentStatus.SUCCEEDED, paid_at=now))
        metrics.count_payment(payments.session, "bank_transfer", "succeeded")
        invoice.paid_at = now
        invoice.paid_reference = reference
        invoice.booking.payment_note = (f"Invoice {invoice.number} paid by bank transfer: "
                                        f"{reference}")
        record_audit(actor.user_id, "invoice.mark_paid", "invoice", invoice.number,
                     before={"paid_at": None},
                     after={"paid_at": now.isoformat(), "reference": reference,
                            "amount_pence": amount, "booking": invoice.booking.reference})
    return invoice


# -- credit notes ---------------------------------------------------------------------------
def _amount_rule(value: object) -> int:
    """Pounds and pence as typed ("12.50", "£12.50") into pence."""
    text = clean_text(value, field_label="the amount", max_length=12)
    text = text.lstrip("£").replace(",", "")
    try:
        pounds_, _, pence = text.partition(".")
        if not pounds_.isdigit() or (pence and (not pence.isdigit() or len(pence) > 2)):
            raise ValueError
        return int(pounds_) * 100 + (int(pence.ljust(2, "0")) if pence else 0)
    except ValueError:
        raise FieldError("Enter an amount in pounds, like 120.00.") from None


REASON_RULE = partial(validate_notes, field_label="reason", max_length=200)


def _write_credit_note(invoice: Invoice, amount_pence: int, reason: str, *,
                       settings: InvoiceSettings, now: datetime,
                       actor_id: int | None) -> CreditNote:
    repo = InvoiceRepository()
    gross = amount_pence
    if invoice.vat_pence:
        parts = vat_breakdown(gross, invoice.vat_rate_percent)
        net, vat = parts.net_pence, parts.vat_pence
    else:
        net, vat = gross, 0
    sequence = repo.next_number(CREDIT_NOTE_SERIES)
    note = repo.add_credit_note(CreditNote(
        sequence=sequence, number=settings.credit_note_number(sequence), invoice_id=invoice.id,
        issued_on=uk_today(now), reason=reason, net_pence=net, vat_pence=vat, gross_pence=gross,
        created_by_id=actor_id))
    repo.expire(invoice, "credit_notes")
    return note


def issue_credit_note(number: str, data: Mapping, *, actor: Actor,
                      settings: InvoiceSettings, now: datetime | None = None) -> CreditNote:
    """Credit part or all of an invoice (``amount`` in pounds, ``reason``): a refund
    or a cancellation agreed by staff. Never more than the invoice still carries.
    Audited as ``invoice.credit_note``."""
    values = parse(data, {"amount": _amount_rule, "reason": REASON_RULE})
    now = now or utcnow()
    with unit_of_work():
        invoice = _lock_invoice(number)
        left = invoice.gross_pence - invoice.credited_pence
        if not 0 < values["amount"] <= left:
            message = (f"Enter an amount between £0.01 and {pounds(left)}." if left > 0
                       else "This invoice has been credited in full.")
            raise InvalidInput(message, fields={"amount": message})
        note = _write_credit_note(invoice, values["amount"], values["reason"] or "Credit",
                                  settings=settings, now=now, actor_id=actor.user_id)
        record_audit(actor.user_id, "invoice.credit_note", "invoice", invoice.number,
                     after={"credit_note": note.number, "amount_pence": note.gross_pence,
                            "reason": note.reason})
    return note


def credit_cancellation(reference: str, *, settings: InvoiceSettings,
                        now: datetime | None = None) -> CreditNote | None:
    """The credit note for what the cancellation policy gives back on a cancelled
    invoiced booking (its refund_due_pence), once per booking; None if nothing is
    credited. The system's action, so audited without an actor."""
    now = now or utcnow()
    with unit_of_work():
        booking = lock_booking(reference)
        invoice = InvoiceRepository().for_booking(booking.id)
        if invoice is None or booking.refund_due_pence <= 0:
            return None
        if any(note.reason == CANCELLATION_REASON for note in invoice.credit_notes):
            return None
        amount = min(booking.refund_due_pence, invoice.gross_pence - invoice.credited_pence)
        if amount <= 0:
            return None
        note = _write_credit_note(invoice, amount, CANCELLATION_REASON, settings=settings,
                                  now=now, actor_id=None)
        record_audit(None, "invoice.credit_note", "invoice", invoice.number,
                     after={"credit_note": note.number, "amount_pence": note.gross_pence,
                            "reason": note.reason, "booking": booking.reference})
    return note


@handlers.on(events.BOOKING_CANCELLED, name="invoices.credit_cancellation")
def on_booking_cancelled(event: OutboxEvent) -> None:
    """Outbox handler: a cancelled invoiced booking gets its credit note."""
    if not int(event.payload.get("refund_due_pence") or 0):
        return
    credit_cancellation(event.payload.get("reference") or event.aggregate_id,
                        settings=current())


# -- what is owed -----------------------------------------------------------------------------
def unpaid_invoices(*, overdue_only: bool = False, now: datetime | None = None) -> list[Invoice]:
    """Invoices with money still owed, earliest due first; `overdue_only`: past their
    due date (UK) only."""
    today = uk_today(now or utcnow())
    return InvoiceRepository().unpaid(due_before=today if overdue_only else None)


def recent_invoices(limit: int = 100) -> list[Invoice]:
    return InvoiceRepository().recent(limit)


# -- reminders ----------------------------------------------------------------------------
def reminders_due(*, settings: InvoiceSettings,
                  now: datetime | None = None) -> list[tuple[Invoice, int]]:
    """Each unpaid invoice whose reminder day is today (UK date), with how many days
    past its due date that is: a reminder day is the due date plus one of
    ``reminder_days``. The sender sends each (invoice, day) once."""
    today = uk_today(now or utcnow())
    offsets = {today - timedelta(days=days): days for days in settings.reminder_days}
    return [(invoice, offsets[invoice.due_on])
            for invoice in InvoiceRepository().due_on_any_of(sorted(offsets))]
