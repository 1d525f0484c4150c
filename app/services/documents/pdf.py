"""The branded page every PDF shares: fonts, colours, header and footer."""
from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from app.services.core import brand
from app.services.core.provider import Provider

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"
BRAND = brand.rgb(brand.GREEN)
INK = (33, 37, 41)
MUTED = (100, 106, 112)
RULE = (210, 214, 218)


class BrandedPDF(FPDF):
    """A4 with the provider's name across the top and its details in the footer."""

    def __init__(self, provider: Provider, *, title: str, orientation: str = "P"):
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.provider = provider
        self.doc_title = title
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_author(provider.name)
        self.set_creator(provider.name)
        self.set_auto_page_break(auto=True, margin=22)
        self.set_margins(18, 18, 18)
        self.set_text_color(*INK)

    def header(self) -> None:
        self.set_fill_color(*BRAND)
        self.rect(0, 0, self.w, 6, style="F")
        self.set_y(11)
        self.set_font(FONT, "B", 15)
        self.set_text_color(*BRAND)
        self.cell(0, 8, self.provider.name, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4.5, "First aid training across Yorkshire", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.ln(5)

    def footer(self) -> None:
        self.set_y(-16)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        parts = [self.provider.name, self.provider.address, self.provider.email,
                 self.provider.phone]
        if self.provider.vat_number:
            parts.append(f"VAT reg. no. {self.provider.vat_number}")
        self.cell(0, 4, "  ·  ".join(p for p in parts if p), align="C",
                  new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 4, f"{self.doc_title} · page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(*INK)

    # -- small helpers --------------------------------------------------------------
    def heading(self, text: str, size: float = 13) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def para(self, text: str, size: float = 10, *, bold: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def label_value(self, label: str, value: str, *, label_width: float = 45) -> None:
        self.set_font(FONT, "B", 9.5)
        self.cell(label_width, 6, label)
        self.set_font(FONT, "", 9.5)
        self.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")

    def to_bytes(self) -> bytes:
        return bytes(self.output())
