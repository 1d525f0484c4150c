"""The attendance certificate: learner, qualification, provider, completion and
expiry dates, the regulations it meets, a unique number and a QR code that
opens the public verification page."""
from __future__ import annotations

import io
from datetime import date

import segno

from app.services.core.provider import Provider
from app.services.core.ukformat import uk_short_date
from app.services.documents.pdf import BRAND, FONT, INK, MUTED, BrandedPDF

REGULATIONS = "Health and Safety (First-Aid) Regulations 1981"


class _CertificatePage(BrandedPDF):
    def header(self) -> None:
        self.set_draw_color(*BRAND)
        self.set_line_width(1.2)
        self.rect(8, 8, self.w - 16, self.h - 16)
        self.set_line_width(0.3)
        self.rect(11, 11, self.w - 22, self.h - 22)

    def footer(self) -> None:
        pass


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=10, border=2)
    buffer.seek(0)
    return buffer


def certificate_pdf(*, learner_name: str, course_title: str, duration_text: str,
                    completed_on: date, expires_on: date, certificate_number: str,
                    verify_url: str, provider: Provider, trainer_name: str | None = None,
                    venue_town: str | None = None) -> bytes:
    pdf = _CertificatePage(provider, title=f"Certificate {certificate_number}", orientation="L")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    width = pdf.w - 2 * pdf.l_margin

    def centred(text: str, size: float, *, bold: bool = False, colour=INK, gap: float = 2):
        pdf.set_font(FONT, "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(22)
    centred(provider.name, 16, bold=True, colour=BRAND, gap=1)
    centred("Certificate of Attendance", 28, bold=True, gap=6)
    centred("This is to certify that", 12, colour=MUTED)
    centred(learner_name, 26, bold=True, gap=4)
    centred("attended and successfully completed", 12, colour=MUTED)
    centred(course_title, 19, bold=True, gap=1)
    place = f" in {venue_town}" if venue_town else ""
    centred(f"{duration_text}, delivered by {provider.name}{place}", 10.5, colour=MUTED, gap=5)
    centred(f"Completed on {uk_short_date(completed_on)}    ·    "
            f"Valid until {uk_short_date(expires_on)}", 12.5, bold=True, gap=4)
    centred("The training meets the requirements for first-aid training under the "
            f"{REGULATIONS} and the Health and Safety Executive's guidance (L74).", 9.5,
            colour=MUTED, gap=1)
    centred("Requalification is needed before the expiry date to remain a certified "
            "first aider.", 9.5, colour=MUTED)

    # Bottom band: signature line on the left, number and QR code on the right.
    bottom = pdf.h - 24
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*MUTED)
    pdf.line(30, bottom - 8, 110, bottom - 8)
    pdf.set_xy(30, bottom - 7)
    pdf.set_font(FONT, "", 9)
    pdf.cell(80, 5, f"Trainer: {trainer_name}" if trainer_name else "Trainer", align="C")
    pdf.set_xy(30, bottom - 2)
    pdf.cell(80, 5, f"For {provider.name}", align="C")

    qr_size = 30
    qr_x = pdf.w - 30 - qr_size
    pdf.image(_qr_png(verify_url), x=qr_x, y=bottom - qr_size - 4, w=qr_size, h=qr_size)
    pdf.set_font(FONT, "B", 10)
    pdf.set_xy(qr_x - 95, bottom - 24)
    pdf.cell(90, 5, f"Certificate number {certificate_number}", align="R")
    pdf.set_font(FONT, "", 8.5)
    pdf.set_xy(qr_x - 95, bottom - 18)
    pdf.cell(90, 5, "Check this certificate at", align="R")
    pdf.set_xy(qr_x - 95, bottom - 13)
    pdf.cell(90, 5, verify_url, align="R", link=verify_url)
    return pdf.to_bytes()
