"""Booking confirmation / VAT receipt PDF: prices are VAT-inclusive, so the
receipt shows net, VAT at the standard rate and gross. A booking whose invoice
is unpaid gets the confirmation with the amount due instead (the invoice itself
is app.services.documents.invoice)."""
from __future__ import annotations

from fpdf.fonts import FontFace

from app.models import Booking
from app.services.core.provider import Provider, vat_breakdown
from app.services.core.ukformat import pounds, uk_date, uk_short_date, uk_time
from app.services.documents.pdf import FONT, MUTED, BrandedPDF


def booking_receipt_pdf(booking: Booking, provider: Provider, *, manage_url: str) -> bytes:
    course_session = booking.session
    course, venue = course_session.course, course_session.venue
    # An invoiced booking not yet paid gets a confirmation, never a receipt.
    owing = booking.awaits_payment
    if owing:
        title = "Booking confirmation"
    else:
        title = ("Booking confirmation and VAT receipt" if provider.is_vat_registered
                 else "Booking confirmation and receipt")
    pdf = BrandedPDF(provider, title=title)
    pdf.add_page()
    pdf.heading(title, 15)

    issued = booking.confirmed_at or booking.created_at
    pdf.label_value("Booking reference", booking.reference)
    pdf.label_value("Date" if owing else "Receipt date", uk_short_date(issued))
    if provider.is_vat_registered:
        pdf.label_value("VAT number", provider.vat_number)
    pdf.label_value("Customer", booking.contact_name)
    if booking.company:
        pdf.label_value("Company", booking.company)
    pdf.label_value("Email", booking.contact_email)
    pdf.ln(3)

    pdf.heading("Course", 11.5)
    pdf.label_value("Course", course.title)
    pdf.label_value("Date", uk_date(course_session.starts_at))
    pdf.label_value("Time", f"{uk_time(course_session.starts_at)} to "
                            f"{uk_time(course_session.ends_at)} (UK time)")
    pdf.label_value("Venue", f"{venue.name}, {venue.one_line_address}")
    pdf.label_value("Attendees", ", ".join(a.full_name for a in booking.attendees))
    pdf.ln(3)

    breakdown = vat_breakdown(booking.amount_pence, provider.vat_rate_percent)
    full_pence = booking.full_price_pence
    unit_pence = full_pence // booking.seats if booking.seats else full_pence
    pdf.heading("Charges", 11.5)
    pdf.set_font(FONT, "", 9.5)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=(90, 20, 40, 30), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   headings_style=bold) as table:
        table.row(["Description", "Seats", "Price per seat", "Amount"])
        table.row([f"{course.title}, {uk_short_date(course_session.starts_at)}",
                   str(booking.seats), pounds(unit_pence), pounds(full_pence)])
        if booking.discount_pence:
            table.row([booking.discount_label, "", "", f"-{pounds(booking.discount_pence)}"])
    pdf.ln(2)
    with pdf.table(col_widths=(150, 30), text_align=("RIGHT", "RIGHT"), first_row_as_headings=False,
                   borders_layout="NONE") as totals:
        if provider.is_vat_registered:
            totals.row(["Net (excluding VAT)", pounds(breakdown.net_pence)])
            totals.row([f"VAT at {breakdown.rate_percent}%", pounds(breakdown.vat_pence)])
        word = "due" if owing else "paid"
        totals.row([f"Total {word} (including VAT)" if provider.is_vat_registered
                    else f"Total {word}", pounds(breakdown.gross_pence)], style=bold)
    pdf.ln(3)
    if owing:
        invoice = booking.invoice
        pdf.para(f"Payment due by {uk_short_date(invoice.due_on)} on invoice {invoice.number}, "
                 f"sent to {invoice.billing_email}.", 9.5)
    elif booking.payment_note:
        pdf.para(f"Payment: {booking.payment_note}", 9.5)
    else:
        pdf.para("Paid in full by card.", 9.5)

    pdf.ln(2)
    pdf.set_text_color(*MUTED)
    pdf.para("Change attendee names or cancel online with your manage-booking link:", 9)
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(0, 4.5, manage_url, link=manage_url, new_x="LMARGIN", new_y="NEXT")
    return pdf.to_bytes()
