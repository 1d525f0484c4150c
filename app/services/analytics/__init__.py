"""Analytics: one set of figure definitions over stored facts, two ways to store them.

The figures (app.services.analytics.figures) never read the booking tables:
they read facts that `refresh_analytics` rebuilds every 15 minutes (and on
demand), so the pages cost the booking path nothing and every figure is as of
one moment (`last_refreshed`).

Grain. One row per booking, one per session and one per succeeded refund:

* per booking (every status): its session, course, venue and town, seats, gross
  amount, created / confirmed / cancelled times, company, payment method, amount
  refunded, and attendees / attended / no-shows. Sales, lead time, cancellations,
  conversion, companies, payment mix and no-shows are all a filter on one date
  column plus a grouping of these rows.
* per session: capacity, seats sold and its waiting list, for fill rates and
  demand (sessions with no bookings must still count).
* per succeeded refund: amount, date and payment method, for the VAT report.

Daily aggregates by course/venue/town would be smaller, but a median lead time,
top companies and exact date boundaries (a custom range, a London midnight)
need the booking itself; a training provider sells tens of thousands of
bookings a year, so facts at this grain stay small while each replaces a join
of six live tables (bookings, sessions, courses, venues, payments, refunds,
attendees) with one indexed range read.

Storage. PostgreSQL: materialized views (migration 0013) with a unique index on
their key, refreshed CONCURRENTLY. SQLite: summary tables of the same columns
rebuilt in one transaction by the same job. Both are filled by the same SELECTs
(app.repositories.analytics); days, weeks, months and VAT are worked out in
Python from UTC instants, so the two backends give the same numbers.
"""
from app.services.analytics.figures import (
    GRAINS, HEADLINE_FIELDS, LEAD_BUCKETS, METHOD_LABELS, Cancellations, CompanyFigures,
    CourseFill, FillRate, Headline, HeadlineComparison, HoldConversion, LeadBucket, LeadTime,
    MethodShare, Money, NoShows, Report, SalesBucket, SalesGroup, SalesTotals, SessionFill, VatMonth,
    VatReport, VatRow, WaitlistDemand, cancellations, coming_fill, compare_headlines, fill_by_course,
    fill_by_session, fill_summary, headline, hold_conversion, lead_time, no_shows,
    natural_grain, payment_methods, report, sales_by_course, sales_by_town, sales_by_venue, sales_over_time,
    sales_totals, sessions_at_risk, top_companies, vat_report, waitlist_demand,
)
from app.services.analytics.periods import PRESET_LABELS, PRESETS, DateRange
from app.services.analytics.refresh import (
    RefreshResult, last_refreshed, refresh_analytics, refresh_now,
)

__all__ = [
    "GRAINS", "HEADLINE_FIELDS", "LEAD_BUCKETS", "METHOD_LABELS", "PRESETS", "PRESET_LABELS",
    "Cancellations", "CompanyFigures", "CourseFill", "DateRange", "FillRate", "Headline",
    "HeadlineComparison", "HoldConversion", "LeadBucket", "LeadTime", "MethodShare", "Money",
    "NoShows", "RefreshResult", "Report", "SalesBucket", "SalesGroup", "SalesTotals", "SessionFill",
    "VatMonth", "VatReport", "VatRow", "WaitlistDemand", "cancellations", "coming_fill", "compare_headlines",
    "fill_by_course", "fill_by_session", "fill_summary", "headline", "hold_conversion",
    "last_refreshed", "lead_time", "natural_grain", "no_shows", "payment_methods", "refresh_analytics",
    "refresh_now", "report", "sales_by_course", "sales_by_town", "sales_by_venue", "sales_over_time",
    "sales_totals", "sessions_at_risk", "top_companies", "vat_report", "waitlist_demand",
]
