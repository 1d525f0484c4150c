"""Documents: PDFs (booking confirmation / VAT receipt, session roster,
attendance certificate), the roster as CSV, and calendar files (.ics).

Each builder takes already-loaded objects and returns bytes; it never queries
the database. PDFs are laid out with fpdf2 (pure Python, no system libraries)
in one module per document, using the DejaVu Sans fonts shipped in fonts/ so
that any learner's name prints as written.

fpdf2 is loaded when the first PDF is made, not when this package is imported
(every email handler imports it, most emails carry no PDF): the receipt and
certificate builders import their module inside the call, `roster_pdf` imports
fpdf2 inside itself.
"""
from __future__ import annotations

from datetime import date

from app.models import Booking
from app.services.core.provider import Provider
from app.services.documents.calendar import booking_ics
from app.services.documents.roster import RosterLine, roster_csv, roster_pdf

__all__ = ["RosterLine", "booking_ics", "booking_receipt_pdf", "certificate_pdf",
           "credit_note_pdf", "invoice_pdf", "roster_csv", "roster_pdf"]


def invoice_pdf(invoice, provider: Provider, *, bank, pay_url: str | None = None) -> bytes:
    """The invoice of a booking paid by invoice (see .invoice)."""
    from app.services.documents.invoice import invoice_pdf as build

    return build(invoice, provider, bank=bank, pay_url=pay_url)


def credit_note_pdf(note, provider: Provider) -> bytes:
    """A credit note against an invoice (see .invoice)."""
    from app.services.documents.invoice import credit_note_pdf as build

    return build(note, provider)


def booking_receipt_pdf(booking: Booking, provider: Provider, *, manage_url: str) -> bytes:
    """The booking confirmation and VAT receipt (see .receipt)."""
    from app.services.documents.receipt import booking_receipt_pdf as build

    return build(booking, provider, manage_url=manage_url)


def certificate_pdf(*, learner_name: str, course_title: str, duration_text: str,
                    completed_on: date, expires_on: date, certificate_number: str,
                    verify_url: str, provider: Provider, trainer_name: str | None = None,
                    venue_town: str | None = None) -> bytes:
    """The attendance certificate (see .certificate)."""
    from app.services.documents.certificate import certificate_pdf as build

    return build(learner_name=learner_name, course_title=course_title,
                 duration_text=duration_text, completed_on=completed_on, expires_on=expires_on,
                 certificate_number=certificate_number, verify_url=verify_url,
                 provider=provider, trainer_name=trainer_name, venue_town=venue_town)
