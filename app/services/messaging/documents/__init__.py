"""Documents: PDFs (booking confirmation / VAT receipt, session roster,
attendance certificate), the roster as CSV, and calendar files (.ics).

Each builder takes already-loaded objects and returns bytes; it never queries
the database. PDFs are laid out with fpdf2 (pure Python, no system libraries)
in one module per document, using the DejaVu Sans fonts shipped in fonts/ so
that any learner's name prints as written.
"""
from app.services.messaging.documents.calendar import booking_ics
from app.services.messaging.documents.certificate import certificate_pdf
from app.services.messaging.documents.receipt import booking_receipt_pdf
from app.services.messaging.documents.roster import RosterLine, roster_csv, roster_pdf

__all__ = ["RosterLine", "booking_ics", "booking_receipt_pdf", "certificate_pdf", "roster_csv",
           "roster_pdf"]
