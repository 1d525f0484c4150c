"""Jinja filters for pages: UK dates and times (Europe/London) and money in pounds.

The shared formats live in app.services.core.ukformat (emails and PDFs use them
too); pages add shorter variants.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.services.core import provider
from app.services.core.ukformat import LONDON, london, uk_short_date, uk_time

__all__ = ["LONDON", "pounds", "register", "uk_date", "uk_short_date", "uk_time"]

def uk_date(value: datetime) -> str:
    """'Tue 3 March 2026' in London time."""
    local = london(value)
    return f"{local:%a} {local.day} {local:%B %Y}"


def pounds(pence: int) -> str:
    """'£100' for whole pounds, '£99.50' otherwise (pages keep prices short)."""
    whole, rest = divmod(int(pence), 100)
    return f"£{whole:,}" if rest == 0 else f"£{whole:,}.{rest:02d}"


def register(app: Flask) -> None:
    app.add_template_filter(uk_date)
    app.add_template_filter(uk_short_date)
    app.add_template_filter(uk_time)
    app.add_template_filter(pounds)
    app.add_template_filter(london, "to_london")
    app.context_processor(_vat_note)


def _vat_note() -> dict:
    """`vat_note` ("including VAT"), said next to prices on every page."""
    return {"vat_note": provider.current().vat_note}
