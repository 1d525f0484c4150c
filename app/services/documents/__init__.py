"""Documents: PDFs (booking confirmation / VAT receipt, session roster,
attendance certificate), the roster as CSV, and calendar files (.ics).

Each builder takes already-loaded objects and returns bytes; it never queries
the database. PDFs are laid out with fpdf2 (pure Python, no system libraries)
in one module per document, using the DejaVu Sans fonts shipped in fonts/ so
that any learner's name prints as written.

fpdf2 is loaded when the first PDF is made, not when this package is imported
(every email handler imports it, most emails carry no PDF): the receipt and
certificate builders import their module on call, the roster imports fpdf2
inside `roster_pdf`.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from app.services.documents.calendar import booking_ics
from app.services.documents.roster import RosterLine, roster_csv, roster_pdf

__all__ = ["RosterLine", "booking_ics", "booking_receipt_pdf", "certificate_pdf", "roster_csv",
           "roster_pdf"]


def _on_call(module: str, name: str) -> Callable[..., bytes]:
    def build(*args, **kwargs) -> bytes:
        return getattr(import_module(f"{__name__}.{module}"), name)(*args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{__name__}.{module}.{name}, imported on the first call."
    return build


booking_receipt_pdf = _on_call("receipt", "booking_receipt_pdf")
certificate_pdf = _on_call("certificate", "certificate_pdf")
