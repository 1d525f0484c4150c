"""CSV downloads, streamed: one helper every export uses.

What a file looks like:

- UTF-8 with a byte-order mark, so Excel opens "Siobhán" as Siobhán and not as
  mojibake; RFC 4180 via the csv module (CRLF line ends, fields holding a comma,
  a quote or a line break are quoted and quotes doubled). Text cells are always
  quoted, numbers never (csv.QUOTE_NONNUMERIC), as OWASP advises for CSV.
- Formula injection: a spreadsheet runs a cell that starts with =, +, -, @, a
  tab or a carriage return as a formula (``=cmd|' /C calc'!A0``). Every text cell
  starting with one of those gets a leading single quote, which spreadsheets
  show as text and do not evaluate. Numbers are not text: a money or count
  column holds values we computed (an int or a Decimal), written as plain
  numbers, so a refund of -12.50 stays a number the accountant can add up. Text
  that merely looks like a number ("-1" typed in a company name) is text and is
  neutralised like any other.
- Money is pounds with two decimals (60.00) in numeric columns, rates are
  percentages with one decimal (25.5) and blank when undefined; dates are ISO
  (YYYY-MM-DD) and times HH:MM, in UK time; yes/no for flags.
- Streamed: rows are pulled from an iterator (the repositories stream them from
  the database in batches) and sent in chunks of about 16 KB, so a 100,000-row
  export never sits in memory. Validate before calling `csv_response`: once
  the first byte is sent the status cannot change.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response, stream_with_context

from app.models import utcnow
from app.services.core.ukformat import london

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARS = 16_384

_FILENAME_UNSAFE = re.compile(r"[^a-z0-9-]+")


# -- cells ---------------------------------------------------------------------------------
def safe_text(value: object) -> str:
    """Text for a cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def money(pence: int | None) -> Decimal | str:
    """Pence as pounds with two decimals (6000 -> 60.00), a number; blank if None."""
    if pence is None:
        return ""
    return (Decimal(int(pence)) / 100).quantize(Decimal("0.01"))


def percent(rate: float | None) -> Decimal | str:
    """A fraction as a percentage with one decimal (0.255 -> 25.5), a number; blank
    when there is no rate (nothing to divide by), never a misleading 0."""
    if rate is None:
        return ""
    return (Decimal(repr(rate)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def iso_date(value: date | datetime | None) -> str:
    """YYYY-MM-DD; a datetime is shown as its UK calendar day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = london(value).date()
    return value.isoformat()


def uk_clock(value: datetime | None) -> str:
    """HH:MM in UK time."""
    return "" if value is None else f"{london(value):%H:%M}"


def yes_no(value: bool | None) -> str:
    """Yes / No, blank when not recorded."""
    return "" if value is None else ("Yes" if value else "No")


def number(value: int | float | Decimal | None) -> int | float | Decimal | str:
    return "" if value is None else value


@dataclass(frozen=True)
class Column:
    """A heading in plain English and how to get the cell from a row.

    `value` returns a str (text, neutralised), an int, float or Decimal (written
    as a number) or None (blank)."""

    heading: str
    value: Callable[[Any], object]


def attr(name: str, convert: Callable[[Any], object] | None = None) -> Callable[[Any], object]:
    """A row's attribute, optionally converted (money, iso_date, ...)."""
    if convert is None:
        return lambda row: getattr(row, name)
    return lambda row: convert(getattr(row, name))


def cell(value: object) -> object:
    """What the csv writer gets: numbers as they are, everything else safe text."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, (int, float, Decimal)):
        return value
    return safe_text(value)


# -- streaming -------------------------------------------------------------------------------
def csv_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """The file, BOM and heading first, in UTF-8 chunks of about CHUNK_CHARS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_text(c.heading) for c in columns])
    for row in rows:
        writer.writerow([cell(c.value(row)) for c in columns])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def download_name(stem: str, today: date | None = None) -> str:
    """'bookings-2027-03-14.csv': a lower-case ASCII stem and the UK date."""
    today = today or london(utcnow()).date()
    clean = _FILENAME_UNSAFE.sub("-", stem.lower()).strip("-") or "export"
    return f"{clean}-{today.isoformat()}.csv"


def csv_response(stem: str, columns: Sequence[Column], rows: Iterable[Any]) -> Response:
    """A streamed CSV download named after `stem` and today's date, never cached.

    The generator runs inside the request context (stream_with_context), so the
    database session that streams `rows` stays open until the last chunk."""
    response = Response(stream_with_context(csv_chunks(columns, rows)),
                        mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(stem)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
