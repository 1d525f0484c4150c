"""CSV exports: what the office and the accountant download, on both databases.

The file format itself (BOM, quoting, formula injection, numbers) is specified
in tests/unit/test_csv_export.py; here the same rules are checked end to end
through the routes, with the filters, access control and streaming."""
from __future__ import annotations

import csv
import gc
import io
import re
import tracemalloc
from datetime import date, timedelta

import pytest
from flask import request_finished
from sqlalchemy import insert

from app.extensions import db
from app.models import Booking, BookingStatus, utcnow
from app.services import analytics
from app.services.analytics import DateRange, Money, SalesGroup, VatMonth, VatReport, VatRow
from app.repositories.admin import AdminBookingRepository, BookingCriteria
from app.services.core.ukformat import london
from app.services.staff.certificates import REMOVED_NAME

from admin_helpers import assert_admin_only, days_ahead, paid_booking
from factories import AttendeeFactory, BookingFactory, CourseFactory, SessionFactory

BOM = b"\xef\xbb\xbf"


def _rows(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(BOM)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _records(response) -> list[dict[str, str]]:
    heading, *rows = _rows(response)
    return [dict(zip(heading, row, strict=True)) for row in rows]


def _today() -> date:
    return london(utcnow()).date()


# -- format, end to end -------------------------------------------------------------------------
def test_bookings_export_is_utf8_with_a_bom_and_plain_english_columns(app, admin_client):
    session = SessionFactory(course=CourseFactory(title="First Aid at Work", price_pence=6000))
    BookingFactory(session=session, reference="TESTACCENT01", contact_name="Siobhán O'Brien",
                   company="Ó Súilleabháin & Sons", seats=2, amount_pence=12000,
                   refund_due_pence=0)
    response = admin_client.get("/admin/exports/bookings.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert "Siobhán O'Brien".encode() in response.get_data()
    [record] = _records(response)
    assert record["Contact name"] == "Siobhán O'Brien"
    assert record["Company"] == "Ó Súilleabháin & Sons"
    assert record["Booking reference"] == "TESTACCENT01"
    assert record["Course"] == "First Aid at Work"
    assert record["Amount (£)"] == "120.00" and record["Refund due (£)"] == "0.00"
    assert record["Seats"] == "2" and record["Status"] == "Confirmed"
    assert record["Course date"] == london(session.starts_at).date().isoformat()
    assert record["Contact phone"] == "07700 900123"
    # Money is an unquoted number in the file, text is quoted.
    assert b',120.00,0.00\r\n' in response.get_data()


def test_bookings_export_headers_name_a_dated_file_and_forbid_caching(app, admin_client):
    response = admin_client.get("/admin/exports/bookings.csv")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="bookings-{_today().isoformat()}.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    assert _rows(response)[0][0] == "Booking reference"


def test_commas_quotes_and_line_breaks_in_a_booking_survive_the_export(app, admin_client):
    awkward = 'Smith, Jones & "Partners"\nLeeds'
    BookingFactory(company=awkward, contact_name="Anne, Marie")
    response = admin_client.get("/admin/exports/bookings.csv")
    [record] = _records(response)
    assert record["Company"] == awkward and record["Contact name"] == "Anne, Marie"
    assert b'"Smith, Jones & ""Partners""\nLeeds"' in response.get_data()


FORMULAS = ["=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(A1:A9)", "\tTab Ltd", "\rReturn Ltd"]


def test_formulas_typed_into_a_booking_are_neutralised_in_the_export(app, admin_client):
    session = SessionFactory(capacity=20)
    for n, payload in enumerate(FORMULAS):
        BookingFactory(session=session, reference=f"TESTFORMULA{n}", company=payload,
                       contact_name=payload, created_at=utcnow() - timedelta(minutes=n))
    records = _records(admin_client.get("/admin/exports/bookings.csv"))
    assert [r["Company"] for r in records] == ["'" + p for p in FORMULAS]
    assert [r["Contact name"] for r in records] == ["'" + p for p in FORMULAS]


# -- the bookings list and its filters -----------------------------------------------------------
def test_bookings_export_has_the_rows_the_filtered_table_shows_on_every_page(app, admin_client):
    soon = SessionFactory(capacity=60, starts_at=utcnow() + timedelta(days=3))
    later = SessionFactory(capacity=60, starts_at=utcnow() + timedelta(days=40))
    for n in range(30):  # more than one page of the table
        BookingFactory(session=soon, reference=f"TESTACME{n:04d}", company="Acme Ltd")
    BookingFactory(session=soon, reference="TESTCANCEL01", company="Acme Ltd",
                   status=BookingStatus.CANCELLED)
    BookingFactory(session=soon, reference="TESTOTHER001", company="Other plc")
    BookingFactory(session=later, reference="TESTLATER001", company="Acme Ltd")

    query = f"q=acme&status=confirmed&dates=course&from={days_ahead(0)}&to={days_ahead(10)}&page=2"
    references = {r["Booking reference"]
                  for r in _records(admin_client.get(f"/admin/exports/bookings.csv?{query}"))}
    assert references == {f"TESTACME{n:04d}" for n in range(30)}

    by_session = _records(admin_client.get(f"/admin/exports/bookings.csv?session={later.id}"))
    assert [r["Booking reference"] for r in by_session] == ["TESTLATER001"]
    cancelled = _records(admin_client.get("/admin/exports/bookings.csv?status=cancelled"))
    assert [r["Booking reference"] for r in cancelled] == ["TESTCANCEL01"]


def test_bookings_page_links_to_the_export_with_its_current_filters(app, admin_client):
    BookingFactory(company="Acme Ltd")
    html = admin_client.get("/admin/bookings?q=acme&status=confirmed&page=1").get_data(
        as_text=True)
    assert 'href="/admin/exports/bookings.csv?q=acme&amp;status=confirmed"' in html
    fragment = admin_client.get("/admin/bookings?q=acme",
                                headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'href="/admin/exports/bookings.csv?q=acme"' in fragment


@pytest.mark.parametrize(("query", "field_message"), [
    ("from=31/02/2027", "from date"),
    ("from=2027-05-10&to=2027-05-01", "date must be the same as the"),
    ("status=lost", "Choose a status from the list."),
    ("dates=someday", "Choose course date or date booked."),
    ("session=abc", "session"),
])
def test_bookings_export_refuses_a_filter_it_cannot_read(app, admin_client, query,
                                                         field_message):
    BookingFactory()
    response = admin_client.get(f"/admin/exports/bookings.csv?{query}")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert field_message in response.get_data(as_text=True)
    assert "Content-Disposition" not in response.headers


# -- a session's attendees ------------------------------------------------------------------------
def test_session_attendee_list_has_each_seat_of_confirmed_bookings(app, admin_client):
    session = SessionFactory()
    booking = BookingFactory(session=session, reference="TESTATTEND01",
                             contact_name="Priya Shah", contact_email="priya@example.com",
                             company="=Acme", seats=2, confirmed_at=utcnow())
    AttendeeFactory(booking=booking, position=0, full_name="Siobhán O'Brien",
                    email="siobhan@example.ie", attended=True)
    AttendeeFactory(booking=booking, position=1, full_name="Tom Jones", attended=None)
    cancelled = BookingFactory(session=session, status=BookingStatus.CANCELLED)
    AttendeeFactory(booking=cancelled, full_name="Gone Away")
    AttendeeFactory(booking=BookingFactory(), full_name="Other Session")

    response = admin_client.get(f"/admin/sessions/{session.id}/attendees.csv")
    assert response.status_code == 200
    assert f'filename="attendees-session-{session.id}-' in response.headers["Content-Disposition"]
    records = _records(response)
    assert [(r["Attendee name"], r["Attendee email"], r["Booking reference"],
             r["Contact name"], r["Contact email"], r["Company"], r["Attended"])
            for r in records] == [
        ("Siobhán O'Brien", "siobhan@example.ie", "TESTATTEND01", "Priya Shah",
         "priya@example.com", "'=Acme", "Yes"),
        ("Tom Jones", "", "TESTATTEND01", "Priya Shah", "priya@example.com", "'=Acme", ""),
    ]


def test_session_page_links_to_its_attendee_list(app, admin_client):
    session = SessionFactory()
    html = admin_client.get(f"/admin/sessions/{session.id}").get_data(as_text=True)
    assert f'href="/admin/sessions/{session.id}/attendees.csv"' in html


def test_attendee_list_of_an_unknown_session_is_404(app, admin_client):
    assert admin_client.get("/admin/sessions/999999/attendees.csv").status_code == 404


# -- certificates due to expire -----------------------------------------------------------------
def test_certificates_export_lists_those_expiring_in_the_next_90_days(app, admin_client):
    today = _today()
    booking = BookingFactory(reference="TESTCERTS001", company="Acme Ltd")

    def certificate(name, number, expires_on):
        AttendeeFactory(booking=booking, full_name=name, certificate_number=number,
                        certificate_issued_on=expires_on - timedelta(days=3 * 365),
                        certificate_expires_on=expires_on)

    certificate("Due Today", "RFT-2401-AAAAAA", today)
    certificate("Due Soon", "RFT-2401-BBBBBB", today + timedelta(days=10))
    certificate("Last Day", "RFT-2401-CCCCCC", today + timedelta(days=90))
    certificate("Too Far", "RFT-2401-DDDDDD", today + timedelta(days=91))
    certificate("Expired", "RFT-2401-EEEEEE", today - timedelta(days=1))
    certificate(REMOVED_NAME, "RFT-2401-FFFFFF", today + timedelta(days=5))
    AttendeeFactory(booking=booking, full_name="No Certificate")

    response = admin_client.get("/admin/exports/certificates-expiring.csv")
    records = _records(response)
    assert [(r["Name on certificate"], r["Expires on"]) for r in records] == [
        ("Due Today", today.isoformat()),
        ("Due Soon", (today + timedelta(days=10)).isoformat()),
        ("Last Day", (today + timedelta(days=90)).isoformat()),
    ]
    assert records[0]["Certificate number"] == "RFT-2401-AAAAAA"
    assert records[0]["Booking reference"] == "TESTCERTS001"
    assert records[0]["Company"] == "Acme Ltd"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", records[0]["Completed on"])


def test_courses_page_links_to_the_certificates_export(app, admin_client):
    html = admin_client.get("/admin/courses").get_data(as_text=True)
    assert 'href="/admin/exports/certificates-expiring.csv"' in html


# -- analytics tables and the accountant's report ------------------------------------------------
ANALYTICS_TABLES = ("headline", "sales-over-time", "sales-by-course", "sales-by-venue",
                    "sales-by-town", "fill-by-session", "fill-by-course", "lead-time",
                    "cancellations", "no-shows", "hold-conversion", "waiting-lists", "companies",
                    "payment-methods")


@pytest.fixture
def two_sales(app):
    """Two card bookings of one seat at £60 (VAT £10 each), confirmed now, and a
    refreshed analytics store."""
    session = SessionFactory(course=CourseFactory(title="Emergency First Aid", price_pence=6000),
                             capacity=10)
    paid_booking(session.id, email="one@example.com")
    paid_booking(session.id, email="two@example.com")
    analytics.refresh_analytics()
    return session


def test_every_analytics_table_exports_for_the_chosen_range(app, admin_client, two_sales):
    period = DateRange.this_month(_today())
    for table in ANALYTICS_TABLES:
        response = admin_client.get(f"/admin/exports/analytics/{table}.csv?range=this_month")
        assert response.status_code == 200, table
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="{table}-{period.start}-to-{period.end}-{_today()}.csv"')
        heading, *_rows_ = _rows(response)
        assert heading and all(heading), table


def test_analytics_exports_carry_the_figures_of_the_analytics_service(app, admin_client,
                                                                      two_sales):
    [course] = _records(admin_client.get("/admin/exports/analytics/sales-by-course.csv"))
    assert course == {"Course": "Emergency First Aid", "Bookings": "2", "Seats": "2",
                      "Revenue net (£)": "100.00", "Revenue VAT (£)": "20.00",
                      "Revenue gross (£)": "120.00"}
    [session] = _records(admin_client.get("/admin/exports/analytics/fill-by-session.csv"
                                          "?range=custom&start=" + days_ahead(0)
                                          + "&end=" + days_ahead(30)))
    assert (session["Capacity"], session["Seats sold"], session["Fill rate (%)"],
            session["Past or upcoming"]) == ("10", "2", "20.0", "Upcoming")
    assert session["Course date"] == london(two_sales.starts_at).date().isoformat()
    headline = {r["Figure"]: r for r in _records(
        admin_client.get("/admin/exports/analytics/headline.csv"))}
    assert headline["Bookings"]["This period"] == "2"
    assert headline["Revenue gross (£)"]["This period"] == "120.00"
    assert headline["Revenue VAT (£)"]["This period"] == "20.00"
    methods = {r["Payment method"]: r for r in _records(
        admin_client.get("/admin/exports/analytics/payment-methods.csv"))}
    assert methods["Card"]["Bookings"] == "2"
    assert methods["Card"]["Share of bookings (%)"] == "100.0"
    assert methods["Invoice"]["Share of bookings (%)"] == "0.0"


def test_analytics_exports_never_recompute_a_figure(app, admin_client, monkeypatch):
    """Whatever the analytics service says is what the file says, even figures that
    do not add up (net + VAT != gross here on purpose)."""
    seen = []

    def sales_by_course(period):
        seen.append(period)
        return [SalesGroup(key=1, label="=Odd Course", bookings=7, seats=3,
                           revenue=Money(net_pence=101, vat_pence=7, gross_pence=999))]

    monkeypatch.setattr(analytics, "sales_by_course", sales_by_course)
    response = admin_client.get(
        "/admin/exports/analytics/sales-by-course.csv"
        "?range=custom&start=2026-11-01&end=15/11/2026")
    assert _records(response) == [{"Course": "'=Odd Course", "Bookings": "7", "Seats": "3",
                                   "Revenue net (£)": "1.01", "Revenue VAT (£)": "0.07",
                                   "Revenue gross (£)": "9.99"}]
    assert seen == [DateRange(date(2026, 11, 1), date(2026, 11, 15), "custom")]


@pytest.mark.parametrize(("url", "status", "says"), [
    ("/admin/exports/analytics/sales-by-course.csv?range=forever", 422,
     "Choose this month, last month, this quarter or custom dates."),
    ("/admin/exports/analytics/sales-by-course.csv?range=custom&start=2026-11-30&end=2026-11-01",
     422, "The end date must be on or after the start date."),
    ("/admin/exports/analytics/sales-by-course.csv?range=custom&start=soon&end=2026-11-01",
     422, "start date"),
    ("/admin/exports/analytics/sales-over-time.csv?grain=fortnight", 422, ""),
    ("/admin/exports/analytics/secrets.csv", 404, ""),
    ("/admin/exports/revenue-vat.csv?year=20x7", 422, "Give the year as four digits"),
    ("/admin/exports/revenue-vat.csv?year=1999", 422, "Give the year as four digits"),
])
def test_analytics_exports_refuse_a_bad_range_with_a_clear_error(app, admin_client, url, status,
                                                                 says):
    response = admin_client.get(url)
    assert response.status_code == status
    assert says in response.get_data(as_text=True)
    assert "Content-Disposition" not in response.headers


def test_revenue_and_vat_report_has_each_month_by_payment_method(app, admin_client, two_sales):
    year = _today().year
    response = admin_client.get(f"/admin/exports/revenue-vat.csv?year={year}")
    assert response.status_code == 200
    assert f'filename="revenue-vat-{year}-01-01-to-{year}-12-31-' in (
        response.headers["Content-Disposition"])
    records = _records(response)
    assert list(records[0]) == [
        "Month", "Payment method", "Bookings", "Sales net (£)", "Sales VAT (£)",
        "Sales gross (£)", "Refunds", "Refunds net (£)", "Refunds VAT (£)",
        "Refunds gross (£)",
        "Balance net (£)", "Balance VAT (£)", "Balance gross (£)"]
    months = [r["Month"] for r in records if r["Payment method"] == "All methods"]
    assert months == [f"{year}-{m:02d}" for m in range(1, 13)] + ["All months"]
    this_month = f"{_today():%Y-%m}"
    card = next(r for r in records if r["Month"] == this_month and r["Payment method"] == "Card")
    assert (card["Bookings"], card["Sales net (£)"], card["Sales VAT (£)"],
            card["Sales gross (£)"], card["Balance VAT (£)"]) == (
        "2", "100.00", "20.00", "120.00", "20.00")
    total = records[-1]
    assert (total["Month"], total["Sales gross (£)"], total["Refunds gross (£)"]) == (
        "All months", "120.00", "0.00")


def test_revenue_and_vat_report_is_the_analytics_report_as_it_stands(app, admin_client,
                                                                     monkeypatch):
    odd = VatRow("invoice", "Invoice", bookings=3, sales=Money(1, 2, 4), refunds_count=1,
                 refunds=Money(-1, 0, 250))
    total = VatRow("total", "Total", bookings=9, sales=Money(5, 6, 7), refunds_count=0,
                   refunds=Money())
    report = VatReport((VatMonth(date(2027, 2, 1), "February 2027", (odd,), total),), total)
    monkeypatch.setattr(analytics, "vat_report", lambda period: report)
    records = _records(admin_client.get("/admin/exports/revenue-vat.csv?year=2027"))
    assert [tuple(r.values()) for r in records] == [
        ("2027-02", "Invoice", "3", "0.01", "0.02", "0.04", "1", "-0.01", "0.00", "2.50",
         "0.02", "0.02", "-2.46"),
        ("2027-02", "All methods", "9", "0.05", "0.06", "0.07", "0", "0.00", "0.00", "0.00",
         "0.05", "0.06", "0.07"),
        ("All months", "All methods", "9", "0.05", "0.06", "0.07", "0", "0.00", "0.00", "0.00",
         "0.05", "0.06", "0.07"),
    ]


def test_revenue_and_vat_report_takes_the_analytics_range_too(app, admin_client, two_sales):
    records = _records(admin_client.get("/admin/exports/revenue-vat.csv?range=this_month"))
    assert [r["Payment method"] for r in records] == [
        "Card", "Invoice", "Bank transfer", "All methods", "All methods"]


# -- access ---------------------------------------------------------------------------------------
def test_exports_are_for_admins_only(app, admin_client, trainer_client, client):
    session = SessionFactory()
    for url in ("/admin/exports/bookings.csv", f"/admin/sessions/{session.id}/attendees.csv",
                "/admin/exports/certificates-expiring.csv", "/admin/exports/revenue-vat.csv",
                *(f"/admin/exports/analytics/{table}.csv" for table in ANALYTICS_TABLES)):
        response = assert_admin_only(admin_client, trainer_client, client, url)
        assert response.get_data().startswith(BOM)


# -- streaming ------------------------------------------------------------------------------------
def test_exports_are_streamed_not_built_in_memory(app, admin_client):
    session = SessionFactory()
    BookingFactory(session=session)
    seen = []

    def record(sender, response, **extra):
        seen.append(response.is_streamed)

    with request_finished.connected_to(record, app):
        for url in ("/admin/exports/bookings.csv", f"/admin/sessions/{session.id}/attendees.csv",
                    "/admin/exports/certificates-expiring.csv"):
            response = admin_client.get(url)
            assert response.status_code == 200
            assert "Content-Length" not in response.headers
            assert response.get_data().startswith(BOM)
    assert seen == [True, True, True]


LARGE = 50_000


def _insert_bookings(session, count: int) -> None:
    """`count` bookings in one executemany (the factories would take minutes)."""
    now = utcnow()
    for start in range(0, count, 10_000):
        db.session.execute(insert(Booking), [{
            "reference": f"BULK{n:08d}", "session_id": session.id,
            "contact_name": f"Siobhán Customer {n}", "contact_email": f"c{n}@example.com",
            "contact_phone": "+447700900123", "contact_postcode": "LS1 4AP",
            "company": "Acme, Ltd", "seats": 1, "amount_pence": 6000,
            "status": BookingStatus.CONFIRMED, "created_at": now - timedelta(seconds=n),
            "updated_at": now, "refund_due_pence": 0,
        } for n in range(start, min(count, start + 10_000))])
    db.session.commit()


def _peak_bytes(work) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_large_export_streams_in_flat_memory(app, admin_client):
    """50,000 bookings: the peak memory while the whole download is read chunk by
    chunk stays a fraction of what holding the same rows as a list takes."""
    session = SessionFactory(capacity=LARGE)
    _insert_bookings(session, LARGE)
    db.session.expunge_all()
    consumed = {"bytes": 0, "lines": 0}

    def stream():
        response = admin_client.get("/admin/exports/bookings.csv", buffered=False)
        assert response.status_code == 200
        for chunk in response.response:
            consumed["bytes"] += len(chunk)
            consumed["lines"] += chunk.count(b"\r\n")
        response.close()

    def whole_list():
        rows = list(AdminBookingRepository().stream_export_rows(BookingCriteria()))
        assert len(rows) == LARGE
        db.session.rollback()

    streamed_peak = _peak_bytes(stream)
    control_peak = _peak_bytes(whole_list)
    assert consumed["lines"] == LARGE + 1
    assert consumed["bytes"] > LARGE * 100
    assert streamed_peak < control_peak / 10, (streamed_peak, control_peak)
