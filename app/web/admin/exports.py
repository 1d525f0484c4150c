"""CSV downloads for the office and the accountant: the bookings table with its
filters, every analytics table, the monthly revenue and VAT report, a
session's attendee list and the certificates due to expire.

Each route parses, calls one service function (which validates first and then
returns rows streamed from the database, or the analytics figures) and hands
the rows to app.web.csv_export with the file's columns. Figures are exported
as the analytics service returns them, never recomputed here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import SimpleNamespace

from flask import abort, request

from app.models import utcnow
from app.services import analytics
from app.services.analytics import DateRange
from app.services.bookings import office
from app.services.core.errors import InvalidInput
from app.services.core.ukformat import london
from app.services.staff import certificates, roster_documents
from app.validation import format_uk_phone
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.csv_export import (
    Column, attr, csv_response, iso_date, money, percent, uk_clock, yes_no,
)

# Parsing a number to format it costs ~20 µs; the same office phone recurs across a
# company's bookings, so a small cache saves most of it on a 100,000-row file.
phone = lru_cache(maxsize=4096)(format_uk_phone)

BOOKING_COLUMNS = (
    Column("Booking reference", attr("reference")),
    Column("Status", lambda row: row.status.value.capitalize()),
    Column("Date booked", attr("created_at", iso_date)),
    Column("Date confirmed", attr("confirmed_at", iso_date)),
    Column("Date cancelled", attr("cancelled_at", iso_date)),
    Column("Course", attr("course_title")),
    Column("Course date", attr("starts_at", iso_date)),
    Column("Start time", attr("starts_at", uk_clock)),
    Column("Venue", attr("venue_name")),
    Column("Town", attr("venue_town")),
    Column("Contact name", attr("contact_name")),
    Column("Contact email", attr("contact_email")),
    Column("Contact phone", attr("contact_phone", phone)),
    Column("Contact postcode", attr("contact_postcode")),
    Column("Company", attr("company")),
    Column("Seats", attr("seats")),
    Column("Amount (£)", attr("amount_pence", money)),
    Column("Refund due (£)", attr("refund_due_pence", money)),
)

ATTENDEE_COLUMNS = (
    Column("Attendee name", attr("full_name")),
    Column("Attendee email", attr("email")),
    Column("Booking reference", attr("reference")),
    Column("Contact name", attr("contact_name")),
    Column("Contact email", attr("contact_email")),
    Column("Contact phone", attr("contact_phone", phone)),
    Column("Company", attr("company")),
    Column("Attended", attr("attended", yes_no)),
    Column("Course", attr("course_title")),
    Column("Course date", attr("starts_at", iso_date)),
)

CERTIFICATE_COLUMNS = (
    Column("Certificate number", attr("certificate_number")),
    Column("Name on certificate", attr("full_name")),
    Column("Attendee email", attr("email")),
    Column("Course", attr("course_title")),
    Column("Completed on", attr("certificate_issued_on", iso_date)),
    Column("Expires on", attr("certificate_expires_on", iso_date)),
    Column("Booking reference", attr("reference")),
    Column("Contact name", attr("contact_name")),
    Column("Contact email", attr("contact_email")),
    Column("Contact phone", attr("contact_phone", phone)),
    Column("Company", attr("company")),
)


@bp.get("/exports/bookings.csv")
@admin_required
def export_bookings():
    return csv_response("bookings", BOOKING_COLUMNS, office.export_bookings(request.args))


@bp.get("/sessions/<int:session_id>/attendees.csv")
@admin_required
def export_session_attendees(session_id: int):
    course_session, rows = roster_documents.attendee_list(session_id)
    return csv_response(f"attendees-session-{course_session.id}", ATTENDEE_COLUMNS, rows)


@bp.get("/exports/certificates-expiring.csv")
@admin_required
def export_expiring_certificates():
    return csv_response("certificates-expiring", CERTIFICATE_COLUMNS,
                        certificates.certificates_due_to_expire())


# -- analytics ------------------------------------------------------------------------------
def _money(heading: str, get: Callable) -> tuple[Column, ...]:
    """Three columns for a Money: net, VAT and gross, in pounds."""
    return (Column(f"{heading}net (£)", lambda row: money(get(row).net_pence)),
            Column(f"{heading}VAT (£)", lambda row: money(get(row).vat_pence)),
            Column(f"{heading}gross (£)", lambda row: money(get(row).gross_pence)))


def _fill(heading: str, get: Callable) -> tuple[Column, ...]:
    return (Column(f"{heading} sessions", lambda row: get(row).sessions),
            Column(f"{heading} capacity", lambda row: get(row).capacity),
            Column(f"{heading} seats sold", lambda row: get(row).seats_sold),
            Column(f"{heading} fill rate (%)", lambda row: percent(get(row).rate)))


def _revenue(row):
    return row.revenue


def _sales_columns(first: str) -> tuple[Column, ...]:
    return (Column(first, attr("label")), Column("Bookings", attr("bookings")),
            Column("Seats", attr("seats")), *_money("Revenue ", _revenue))


@dataclass(frozen=True)
class AnalyticsTable:
    """One analytics table as a file: its columns and the analytics function that
    gives its rows for a period (and the query arguments, for the grain)."""

    columns: tuple[Column, ...]
    rows: Callable[[DateRange, Mapping], Iterable]


# The headline as rows: (label, Headline field, how to show it in a cell).
_HEADLINE_ROWS = (
    ("Bookings", "bookings", None),
    ("Seats", "seats", None),
    ("Revenue net (£)", "revenue", lambda m: money(m.net_pence)),
    ("Revenue VAT (£)", "revenue", lambda m: money(m.vat_pence)),
    ("Revenue gross (£)", "revenue", lambda m: money(m.gross_pence)),
    ("Refunds net (£)", "refunds", lambda m: money(m.net_pence)),
    ("Refunds VAT (£)", "refunds", lambda m: money(m.vat_pence)),
    ("Refunds gross (£)", "refunds", lambda m: money(m.gross_pence)),
    ("Fill rate (%)", "fill_rate", percent),
    ("Fill rate of upcoming sessions (%)", "upcoming_fill_rate", percent),
    ("Cancellation rate (%)", "cancellation_rate", percent),
    ("No-show rate (%)", "no_show_rate", percent),
    ("Hold-to-payment conversion (%)", "conversion_rate", percent),
    ("Median lead time (days)", "median_lead_days", None),
)


def _headline_rows(period: DateRange, args: Mapping) -> Iterable:
    comparison = analytics.compare_headlines(period)
    for label, name, show in _HEADLINE_ROWS:
        show = show or (lambda value: value)
        # Money changes compare gross (as the analytics service defines them).
        change = comparison.change(name) if not label.endswith(("net (£)", "VAT (£)")) else None
        yield SimpleNamespace(figure=label, current=show(getattr(comparison.current, name)),
                              previous=show(getattr(comparison.previous, name)),
                              change=percent(change))


def _one(value) -> list:
    return [value]


ALL_COMPANIES = 1_000_000

ANALYTICS_TABLES: dict[str, AnalyticsTable] = {
    "headline": AnalyticsTable(
        (Column("Figure", attr("figure")), Column("This period", attr("current")),
         Column("Previous period", attr("previous")), Column("Change (%)", attr("change"))),
        _headline_rows),
    "sales-over-time": AnalyticsTable(
        (Column("Period starting", attr("start", iso_date)),
         *_sales_columns("Period")),
        lambda period, args: analytics.sales_over_time(period, args.get("grain") or "day")),
    "sales-by-course": AnalyticsTable(_sales_columns("Course"),
                                      lambda period, args: analytics.sales_by_course(period)),
    "sales-by-venue": AnalyticsTable(_sales_columns("Venue"),
                                     lambda period, args: analytics.sales_by_venue(period)),
    "sales-by-town": AnalyticsTable(_sales_columns("Town"),
                                    lambda period, args: analytics.sales_by_town(period)),
    "fill-by-session": AnalyticsTable(
        (Column("Course date", attr("starts_at", iso_date)),
         Column("Start time", attr("starts_at", uk_clock)),
         Column("Course", attr("course_title")), Column("Venue", attr("venue_name")),
         Column("Town", attr("town")), Column("Capacity", attr("capacity")),
         Column("Seats sold", attr("seats_sold")),
         Column("Fill rate (%)", attr("fill_rate", percent)),
         Column("Past or upcoming", lambda row: "Past" if row.is_past else "Upcoming"),
         Column("Session number", attr("session_id"))),
        lambda period, args: analytics.fill_by_session(period)),
    "fill-by-course": AnalyticsTable(
        (Column("Course", attr("course_title")),
         *_fill("Past", lambda row: row.past), *_fill("Upcoming", lambda row: row.upcoming),
         *_fill("All", lambda row: row.overall)),
        lambda period, args: analytics.fill_by_course(period)),
    "lead-time": AnalyticsTable(
        (Column("Days from booking to course", attr("label")),
         Column("From (days)", attr("min_days")), Column("To (days)", attr("max_days")),
         Column("Bookings", attr("bookings"))),
        lambda period, args: analytics.lead_time(period).buckets),
    "cancellations": AnalyticsTable(
        (Column("Bookings confirmed", attr("confirmed_bookings")),
         Column("Cancelled since", attr("cancelled_bookings")),
         Column("Cancellation rate (%)", attr("cancellation_rate", percent)),
         Column("Refunded", attr("refunded_bookings")),
         Column("Refund rate (%)", attr("refund_rate", percent)),
         *_money("Refunded ", lambda row: row.refunded)),
        lambda period, args: _one(analytics.cancellations(period))),
    "no-shows": AnalyticsTable(
        (Column("Attendees", attr("attendees")),
         Column("Attendance marked", attr("marked")), Column("Attended", attr("attended")),
         Column("No-shows", attr("no_shows")),
         Column("No-show rate (%)", attr("no_show_rate", percent))),
        lambda period, args: _one(analytics.no_shows(period))),
    "hold-conversion": AnalyticsTable(
        (Column("Holds taken", attr("holds")), Column("Paid", attr("converted")),
         Column("Abandoned (hold expired)", attr("abandoned")),
         Column("Cancelled before paying", attr("cancelled_unpaid")),
         Column("Still held", attr("pending")),
         Column("Conversion rate (%)", attr("conversion_rate", percent)),
         Column("Abandoned rate (%)", attr("abandoned_rate", percent))),
        lambda period, args: _one(analytics.hold_conversion(period))),
    "waiting-lists": AnalyticsTable(
        (Column("Course", attr("course_title")),
         Column("Sessions with a waiting list", attr("sessions")),
         Column("Entries", attr("entries")), Column("Seats wanted", attr("seats")),
         Column("Entries still waiting", attr("open_entries")),
         Column("Seats still wanted", attr("open_seats")),
         Column("Entries that booked", attr("booked_entries"))),
        lambda period, args: analytics.waitlist_demand(period)),
    "companies": AnalyticsTable(
        (Column("Company", attr("company")), Column("Bookings", attr("bookings")),
         Column("Seats", attr("seats")), Column("Spend (£)", attr("spend_pence", money))),
        lambda period, args: analytics.top_companies(period, limit=ALL_COMPANIES)),
    "payment-methods": AnalyticsTable(
        (*_sales_columns("Payment method"),
         Column("Share of bookings (%)", attr("share", percent))),
        lambda period, args: analytics.payment_methods(period)),
}


def _today() -> date:
    return london(utcnow()).date()


def _period_stem(slug: str, period: DateRange) -> str:
    return f"{slug}-{period.start.isoformat()}-to-{period.end.isoformat()}"


@bp.get("/exports/analytics/<table>.csv")
@admin_required
def export_analytics(table: str):
    spec = ANALYTICS_TABLES.get(table)
    if spec is None:
        abort(404)
    period = DateRange.from_args(request.args, _today())
    rows = list(spec.rows(period, request.args))  # small; computed before the first byte
    return csv_response(_period_stem(table, period), spec.columns, rows)


# -- the accountant's revenue and VAT report ------------------------------------------
_YEAR = re.compile(r"[0-9]{4}")

VAT_COLUMNS = (
    Column("Month", attr("month")),
    Column("Payment method", attr("method")),
    Column("Bookings", attr("bookings")),
    *_money("Sales ", lambda row: row.sales),
    Column("Refunds", attr("refunds_count")),
    *_money("Refunds ", lambda row: row.refunds),
    *_money("Balance ", lambda row: row.balance),
)


def report_period(args: Mapping, today: date) -> DateRange:
    """`year=2027` (a calendar year), else the analytics range arguments."""
    raw = (args.get("year") or "").strip()
    if not raw:
        return DateRange.from_args(args, today)
    if not _YEAR.fullmatch(raw) or not 2000 <= int(raw) <= 2999:
        message = "Give the year as four digits, like 2027."
        raise InvalidInput(message, fields={"year": message})
    return DateRange.custom(date(int(raw), 1, 1), date(int(raw), 12, 31))


def _vat_rows(report) -> Iterable:
    """Each month's rows by payment method, then its total, then the period's total."""
    def row(month: str, method: str, vat_row):
        return SimpleNamespace(month=month, method=method, bookings=vat_row.bookings,
                               sales=vat_row.sales, refunds_count=vat_row.refunds_count,
                               refunds=vat_row.refunds, balance=vat_row.balance)

    for month in report.months:
        label = f"{month.month:%Y-%m}"
        for vat_row in month.rows:
            yield row(label, vat_row.label, vat_row)
        yield row(label, "All methods", month.total)
    yield row("All months", "All methods", report.total)


@bp.get("/exports/revenue-vat.csv")
@admin_required
def export_revenue_vat():
    period = report_period(request.args, _today())
    report = analytics.vat_report(period)
    return csv_response(_period_stem("revenue-vat", period), VAT_COLUMNS, list(_vat_rows(report)))
