"""The invoice PDF of a booking paid by invoice, and its credit notes' PDFs.

Every figure comes from the invoice row (fixed when it was issued from the
booking's amount): net + VAT = gross, the purchase order, the due date, who
supplies and who pays. Bank details are the current settings: where to pay now.
"""
from __future__ import annotations

from fpdf.fonts import FontFace

from app.models import CreditNote, Invoice
from app.services.core.provider import Provider
from app.services.core.ukformat import pounds, uk_short_date
from app.services.documents.pdf import FONT, MUTED, BrandedPDF


def _parties(pdf: BrandedPDF, invoice: Invoice) -> None:
    pdf.heading("From", 11.5)
    pdf.para(invoice.supplier_name, 9.5, bold=True)
    pdf.para(invoice.supplier_address, 9.5)
    if invoice.supplier_vat_number:
        pdf.label_value("VAT number", invoice.supplier_vat_number)
    pdf.ln(2)
    pdf.heading("Bill to", 11.5)
    pdf.para(invoice.billing_company, 9.5, bold=True)
    pdf.para(f"For the attention of {invoice.billing_name}", 9.5)
    pdf.para(invoice.billing_address, 9.5)
    pdf.para(invoice.billing_email, 9.5)
    pdf.ln(2)


def _totals(pdf: BrandedPDF, net: int, vat: int, gross: int, rate: int, *, gross_label: str):
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=(150, 30), text_align=("RIGHT", "RIGHT"),
                   first_row_as_headings=False, borders_layout="NONE") as totals:
        if vat or rate:
            totals.row(["Net (excluding VAT)", pounds(net)])
            totals.row([f"VAT at {rate}%", pounds(vat)])
        totals.row([gross_label, pounds(gross)], style=bold)
    pdf.ln(3)


def invoice_pdf(invoice: Invoice, provider: Provider, *, bank, pay_url: str | None = None) -> bytes:
    """`bank`: app.services.payments.invoices.BankDetails; `pay_url`: a link to pay by
    card, when there is one."""
    booking = invoice.booking
    course_session = booking.session
    course = course_session.course
    title = "VAT invoice" if invoice.supplier_vat_number else "Invoice"
    pdf = BrandedPDF(provider, title=f"{title} {invoice.number}")
    pdf.add_page()
    pdf.heading(f"{title} {invoice.number}", 15)
    pdf.label_value("Invoice number", invoice.number)
    pdf.label_value("Invoice date", uk_short_date(invoice.issued_on))
    pdf.label_value("Payment due by", uk_short_date(invoice.due_on))
    pdf.label_value("Purchase order", invoice.purchase_order or "None given")
    pdf.label_value("Booking reference", booking.reference)
    pdf.ln(3)
    _parties(pdf, invoice)

    pdf.heading("Charges", 11.5)
    pdf.set_font(FONT, "", 9.5)
    bold = FontFace(emphasis="BOLD")
    unit = invoice.gross_pence // booking.seats if booking.seats else invoice.gross_pence
    with pdf.table(col_widths=(90, 20, 40, 30), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   headings_style=bold) as table:
        table.row(["Description", "Seats", "Per seat (inc. VAT)" if invoice.vat_pence
                   else "Per seat", "Amount"])
        table.row([f"{course.title}, {uk_short_date(course_session.starts_at)}, "
                   f"{course_session.venue.town}",
                   str(booking.seats), pounds(unit), pounds(invoice.gross_pence)])
    pdf.ln(2)
    _totals(pdf, invoice.net_pence, invoice.vat_pence, invoice.gross_pence,
            invoice.vat_rate_percent,
            gross_label="Total due (including VAT)" if invoice.vat_pence else "Total due")
    pdf.para("Attendees: " + ", ".join(a.full_name for a in booking.attendees), 9)
    pdf.ln(2)

    pdf.heading("How to pay", 11.5)
    pdf.para(f"Please pay {pounds(invoice.gross_pence)} by {uk_short_date(invoice.due_on)}, "
             f"quoting {invoice.number} as the reference.", 9.5)
    if bank.is_set:
        if bank.bank_name:
            pdf.label_value("Bank", bank.bank_name)
        pdf.label_value("Account name", bank.account_name)
        pdf.label_value("Sort code", bank.sort_code)
        pdf.label_value("Account number", bank.account_number)
    else:
        pdf.para(f"For our bank details, contact {provider.email} or {provider.phone}.", 9.5)
    if pay_url:
        pdf.ln(1)
        pdf.para("Or pay by card online:", 9.5)
        pdf.set_font(FONT, "", 8.5)
        pdf.multi_cell(0, 4.5, pay_url, link=pay_url, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(*MUTED)
    pdf.para("Prices include VAT at the standard rate." if invoice.vat_pence
             else "No VAT is charged.", 8.5)
    return pdf.to_bytes()


def credit_note_pdf(note: CreditNote, provider: Provider) -> bytes:
    invoice = note.invoice
    title = f"Credit note {note.number}"
    pdf = BrandedPDF(provider, title=title)
    pdf.add_page()
    pdf.heading(title, 15)
    pdf.label_value("Credit note number", note.number)
    pdf.label_value("Date", uk_short_date(note.issued_on))
    pdf.label_value("Against invoice", invoice.number)
    pdf.label_value("Purchase order", invoice.purchase_order or "None given")
    pdf.label_value("Booking reference", invoice.booking.reference)
    pdf.label_value("Reason", note.reason)
    pdf.ln(3)
    _parties(pdf, invoice)
    _totals(pdf, note.net_pence, note.vat_pence, note.gross_pence, invoice.vat_rate_percent,
            gross_label="Total credited (including VAT)" if note.vat_pence else "Total credited")
    return pdf.to_bytes()
