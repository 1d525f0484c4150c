"""The trainer's session roster: PDF with a signature column, and CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.models import CourseSession
from app.services.core.provider import Provider
from app.services.core.ukformat import uk_date, uk_short_date, uk_time


@dataclass(frozen=True)
class RosterLine:
    """One seat on the roster."""

    number: int
    full_name: str            # exactly as it will appear on the certificate
    booking_reference: str
    contact_name: str
    contact_phone: str
    company: str
    access_needs: str
    attended: bool | None
    # Requalification courses only: the current certificate's expiry the booker stated.
    prior_certificate_expires_on: date | None = None


CSV_COLUMNS = ("number", "name_on_certificate", "booking_reference", "contact_name",
               "contact_phone", "company", "access_needs", "attended")


def _session_line(course_session: CourseSession) -> str:
    venue = course_session.venue
    return (f"{uk_date(course_session.starts_at)}, {uk_time(course_session.starts_at)} to "
            f"{uk_time(course_session.ends_at)} · {venue.name}, {venue.one_line_address}")


CELL_PADDING = 2  # mm, each side of every cell
# Relative widths of every column but Booking, which is measured (see _column_widths).
_OTHER_COLUMNS = (8, 64, 30, 38, 44, 52)
# The same with the stated certificate expiry (requalification courses) before Signature.
_OTHER_COLUMNS_REQUALIFICATION = (8, 52, 28, 30, 36, 30, 50)


def _column_widths(pdf, lines: Sequence[RosterLine],
                   other_columns: Sequence[float] = _OTHER_COLUMNS) -> tuple[float, ...]:
    """Column widths in mm across the page, the Booking column as wide as its widest
    reference so that a reference never breaks over two lines (someone reads it out
    on the phone); the other columns share what is left. Leaves the table font set."""
    from app.services.documents.pdf import FONT

    pdf.set_font(FONT, "B", 9)
    widest = pdf.get_string_width("Booking")
    pdf.set_font(FONT, "", 9)
    widest = max([widest, *(pdf.get_string_width(line.booking_reference) for line in lines)])
    booking = widest + 2 * CELL_PADDING + 1  # 1 mm spare for rounding in the line breaker
    rest = pdf.epw - booking
    others = [width * rest / sum(other_columns) for width in other_columns]
    return (*others[:2], booking, *others[2:])


def roster_pdf(course_session: CourseSession, lines: Sequence[RosterLine],
               provider: Provider) -> bytes:
    from fpdf.fonts import FontFace  # fpdf2 loads with the first PDF (see the package doc)

    from app.services.documents.pdf import BrandedPDF

    title = f"Roster: {course_session.course.title}"
    pdf = BrandedPDF(provider, title=title, orientation="L")
    pdf.add_page()
    pdf.heading(title, 14)
    pdf.para(_session_line(course_session), 10)
    trainer = course_session.trainer.full_name if course_session.trainer else "to be assigned"
    pdf.para(f"Trainer: {trainer}   ·   Attendees: {len(lines)} of {course_session.capacity}", 10)
    pdf.ln(2)
    requalification = course_session.course.is_requalification
    headings = ["#", "Name as on certificate", "Booking", "Contact phone", "Company",
                "Access needs (shared by customer)", "Signature"]
    if requalification:  # the stated expiry, for the trainer to check against the certificate
        headings.insert(6, "Current certificate expires (stated)")

    def row(line: RosterLine) -> list[str]:
        cells = [str(line.number), line.full_name, line.booking_reference, line.contact_phone,
                 line.company, line.access_needs, ""]
        if requalification:
            stated = line.prior_certificate_expires_on
            cells.insert(6, uk_short_date(stated) if stated else "Not given")
        return cells

    widths = _column_widths(pdf, lines, _OTHER_COLUMNS_REQUALIFICATION if requalification
                            else _OTHER_COLUMNS)
    # Tall rows leave room to sign; text is left-aligned (fpdf2 justifies by default).
    with pdf.table(col_widths=widths, line_height=5.5, text_align="LEFT",
                   padding=CELL_PADDING, headings_style=FontFace(emphasis="BOLD")) as table:
        table.row(headings)
        for line in lines:
            table.row(row(line))
    if not lines:
        pdf.para("No confirmed attendees yet.", 10)
    pdf.ln(4)
    pdf.para("Please check each name with the attendee: certificates are printed exactly as "
             "shown here.", 8.5)
    return pdf.to_bytes()


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def roster_csv(lines: Sequence[RosterLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        attended = "" if line.attended is None else ("yes" if line.attended else "no")
        writer.writerow([_cell(v) for v in (
            line.number, line.full_name, line.booking_reference, line.contact_name,
            line.contact_phone, line.company, line.access_needs, attended)])
    return out.getvalue()
