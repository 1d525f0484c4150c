"""The CSV download format (app.web.csv_export): BOM, RFC 4180 quoting, formula
injection, numbers that stay numbers, UK dates, and chunked output."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from app.web import csv_export
from app.web.csv_export import Column, attr, csv_chunks, iso_date, money, uk_clock, yes_no


def _parse(chunks) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(chunks)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


TEXT = (Column("Name", attr("name")),)


def test_the_file_starts_with_a_utf8_bom_and_keeps_accents():
    raw, rows = _parse(csv_chunks(TEXT, [SimpleNamespace(name="Siobhán O'Brien")]))
    assert raw.startswith(b"\xef\xbb\xbf\"Name\"\r\n")
    assert rows == [["Name"], ["Siobhán O'Brien"]]
    assert "Siobhán".encode() in raw


def test_commas_quotes_and_line_breaks_are_quoted_as_rfc_4180_says():
    awkward = 'Smith, Jones & "Partners"\nLeeds\r\nLtd'
    raw, rows = _parse(csv_chunks(TEXT, [SimpleNamespace(name=awkward)]))
    assert rows[1] == [awkward]
    assert b'"Smith, Jones & ""Partners""\nLeeds\r\nLtd"\r\n' in raw


@pytest.mark.parametrize("payload", [
    "=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(A1:A2)", "\tlooks blank", "\rstarts a line",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
])
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_prefixed_with_a_quote(payload):
    _raw, rows = _parse(csv_chunks(TEXT, [SimpleNamespace(name=payload)]))
    assert rows[1] == ["'" + payload]


def test_harmless_text_is_left_as_it_is():
    _raw, rows = _parse(csv_chunks(TEXT, [SimpleNamespace(name="Acme = best"),
                                          SimpleNamespace(name="O'Neill")]))
    assert rows[1:] == [["Acme = best"], ["O'Neill"]]


def test_headings_are_neutralised_too():
    _raw, rows = _parse(csv_chunks((Column("=1+1", attr("name")),), []))
    assert rows == [["'=1+1"]]


def test_money_is_pounds_with_two_decimals_and_negative_amounts_stay_numbers():
    columns = (Column("Amount (£)", attr("pence", money)), Column("Seats", attr("seats")))
    raw, rows = _parse(csv_chunks(columns, [SimpleNamespace(pence=6000, seats=2),
                                            SimpleNamespace(pence=-1250, seats=-1),
                                            SimpleNamespace(pence=5, seats=None)]))
    assert rows[1:] == [["60.00", "2"], ["-12.50", "-1"], ["0.05", ""]]
    # Numbers are unquoted (a spreadsheet reads them as numbers, not text) and not prefixed.
    assert b"\r\n60.00,2\r\n-12.50,-1\r\n" in raw


def test_text_that_only_looks_like_a_negative_number_is_still_neutralised():
    _raw, rows = _parse(csv_chunks(TEXT, [SimpleNamespace(name="-12.50")]))
    assert rows[1] == ["'-12.50"]


def test_dates_are_iso_uk_days_and_times_uk_clock():
    # 23:30 UTC on 31 March 2027 is 00:30 on 1 April in London (BST).
    late = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)
    assert iso_date(late) == "2027-04-01"
    assert uk_clock(late) == "00:30"
    assert iso_date(date(2027, 1, 5)) == "2027-01-05"
    assert iso_date(None) == "" and uk_clock(None) == ""
    assert [yes_no(True), yes_no(False), yes_no(None)] == ["Yes", "No", ""]


def test_output_comes_in_chunks_without_holding_the_whole_file(monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_CHARS", 100)
    pulled = []

    def rows():
        for n in range(50):
            pulled.append(n)
            yield SimpleNamespace(name=f"person {n}")

    chunks = csv_chunks(TEXT, rows())
    first = next(chunks)
    assert first.startswith(b"\xef\xbb\xbf")
    assert len(pulled) < 50  # the first chunk went out before the rows ran out
    rest = list(chunks)
    assert len(rest) > 5
    assert b"".join([first, *rest]).decode("utf-8-sig").count("\r\n") == 51


def test_the_download_name_has_a_safe_stem_and_the_date():
    assert csv_export.download_name("Bookings", date(2027, 3, 14)) == "bookings-2027-03-14.csv"
    assert (csv_export.download_name('a"b\r\n/../c', date(2027, 3, 14))
            == "a-b-c-2027-03-14.csv")
