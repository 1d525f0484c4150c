"""Every analytics figure, defined once. Pages and exports call these; none recomputes.

What counts, and which date puts it in a period:

* Sales (bookings, seats, revenue, payment method mix, companies, lead time and
  the cancellation cohort) are bookings that were ever confirmed (status
  confirmed, cancelled or refunded, with a ``confirmed_at``), placed in a period by
  ``confirmed_at``: the moment the booking was paid or recorded as paid, which is
  also the VAT tax point. Held, expired and never-paid bookings are not sales. A
  booking cancelled later stays a sale of the period it was sold in, so past
  figures never move; what went back is reported as refunds.
* Sessions (fill rate, no-shows, waiting-list demand, sessions at risk) are
  placed by the session's start. Cancelled sessions are left out of fill rates.
* Holds (conversion, abandoned holds) are placed by ``created_at``: when the
  customer took the hold.
* Refunds in the VAT report are succeeded refunds placed by their ``created_at``
  (when the refund was issued); pending and failed refunds are not money moved.

Money is in pence and VAT-inclusive, as the customer paid it. VAT is split per
booking (and per refund) with the receipts' rule,
``app.services.core.provider.vat_breakdown``, then summed, so the totals agree
with the receipts customers hold. Rates are fractions (0.25) or None when
nothing was there to divide by.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from app.models import utcnow
from app.repositories.analytics import AnalyticsRepository
from app.services.analytics.periods import DateRange, _add_months
from app.services.core import provider
from app.services.core.errors import InvalidInput
from app.services.core.ukformat import london

METHOD_LABELS = {"card": "Card", "invoice": "Invoice", "bank_transfer": "Bank transfer",
                 "none": "No payment recorded"}
REPORTED_METHODS = ("card", "invoice", "bank_transfer")
GRAINS = ("day", "week", "month")
CANCELLED_STATUSES = ("cancelled", "refunded")
# (label, first day, last day or None): how far ahead people book.
LEAD_BUCKETS = (("0–6 days", 0, 6), ("1–2 weeks", 7, 13), ("2–4 weeks", 14, 27),
                ("4–8 weeks", 28, 55), ("8 weeks or more", 56, None))


def _vat_rate(vat_rate_percent: int | None) -> int:
    if vat_rate_percent is not None:
        return vat_rate_percent
    try:
        return provider.current().vat_rate_percent
    except RuntimeError:  # no app built (scripts, unit tests): the UK standard rate
        return 20


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Money:
    """VAT-inclusive money split into net + VAT = gross, in pence."""

    net_pence: int = 0
    vat_pence: int = 0
    gross_pence: int = 0

    @classmethod
    def zero(cls) -> "Money":
        return cls()

    @classmethod
    def of(cls, gross_pence: int, rate_percent: int) -> "Money":
        split = provider.vat_breakdown(gross_pence, rate_percent)
        return cls(split.net_pence, split.vat_pence, split.gross_pence)

    @classmethod
    def total(cls, amounts: Iterable[int], rate_percent: int) -> "Money":
        """The sum of each amount split on its own, as each receipt splits it."""
        result = cls()
        for gross in amounts:
            result = result + cls.of(gross, rate_percent)
        return result

    def __add__(self, other: "Money") -> "Money":
        return Money(self.net_pence + other.net_pence, self.vat_pence + other.vat_pence,
                     self.gross_pence + other.gross_pence)

    def __sub__(self, other: "Money") -> "Money":
        return Money(self.net_pence - other.net_pence, self.vat_pence - other.vat_pence,
                     self.gross_pence - other.gross_pence)


# -- sales ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SalesTotals:
    bookings: int
    seats: int
    revenue: Money


@dataclass(frozen=True)
class SalesBucket:
    start: date
    label: str
    bookings: int
    seats: int
    revenue: Money


@dataclass(frozen=True)
class SalesGroup:
    key: object
    label: str
    bookings: int
    seats: int
    revenue: Money


def _sales(period: DateRange) -> list:
    return AnalyticsRepository().bookings_confirmed_between(period.start_utc, period.end_utc)


def _totals(rows: list, rate: int) -> SalesTotals:
    return SalesTotals(bookings=len(rows), seats=sum(r.seats for r in rows),
                       revenue=Money.total((r.amount_pence for r in rows), rate))


def sales_totals(period: DateRange, *, vat_rate_percent: int | None = None) -> SalesTotals:
    """Bookings confirmed in the period (whatever became of them since), their seats
    and what was paid for them (net, VAT, gross)."""
    return _totals(_sales(period), _vat_rate(vat_rate_percent))


def _bucket_start(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _bucket_label(start: date, grain: str) -> str:
    if grain == "day":
        return f"{start.day} {start:%b %Y}"
    if grain == "week":
        return f"w/c {start.day} {start:%b %Y}"
    return f"{start:%B %Y}"


def _next_bucket(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return _add_months(start, 1)


def sales_over_time(period: DateRange, grain: str = "day", *,
                    vat_rate_percent: int | None = None) -> list[SalesBucket]:
    """Sales per UK day, week (Monday to Sunday, labelled by its Monday) or calendar
    month; every bucket that overlaps the period, empty ones included."""
    if grain not in GRAINS:
        message = "Choose day, week or month."
        raise InvalidInput(message, fields={"grain": message})
    rate = _vat_rate(vat_rate_percent)
    grouped: dict[date, list] = defaultdict(list)
    for row in _sales(period):
        grouped[_bucket_start(london(row.confirmed_at).date(), grain)].append(row)
    buckets, start = [], _bucket_start(period.start, grain)
    while start <= period.end:
        totals = _totals(grouped.get(start, []), rate)
        buckets.append(SalesBucket(start, _bucket_label(start, grain), totals.bookings,
                                   totals.seats, totals.revenue))
        start = _next_bucket(start, grain)
    return buckets


def _grouped(rows: list, key, label, rate: int) -> list[SalesGroup]:
    groups: dict[object, list] = defaultdict(list)
    labels: dict[object, str] = {}
    for row in rows:
        groups[key(row)].append(row)
        labels.setdefault(key(row), label(row))
    result = []
    for group_key, members in groups.items():
        totals = _totals(members, rate)
        result.append(SalesGroup(group_key, labels[group_key], totals.bookings, totals.seats,
                                 totals.revenue))
    return sorted(result, key=lambda g: (-g.revenue.gross_pence, -g.seats, g.label))


def sales_by_course(period: DateRange, *, vat_rate_percent: int | None = None) -> list[SalesGroup]:
    """Sales (as sales_totals) per course, key = course id, biggest gross first."""
    return _grouped(_sales(period), lambda r: r.course_id, lambda r: r.course_title,
                    _vat_rate(vat_rate_percent))


def sales_by_venue(period: DateRange, *, vat_rate_percent: int | None = None) -> list[SalesGroup]:
    """Sales per venue, key = venue id."""
    return _grouped(_sales(period), lambda r: r.venue_id,
                    lambda r: f"{r.venue_name}, {r.town}", _vat_rate(vat_rate_percent))


def sales_by_town(period: DateRange, *, vat_rate_percent: int | None = None) -> list[SalesGroup]:
    """Sales per venue town (where the course runs), key = the town."""
    return _grouped(_sales(period), lambda r: r.town, lambda r: r.town,
                    _vat_rate(vat_rate_percent))


# -- fill rate --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FillRate:
    sessions: int = 0
    capacity: int = 0
    seats_sold: int = 0

    @property
    def rate(self) -> float | None:
        return _rate(self.seats_sold, self.capacity)

    def __add__(self, other: "FillRate") -> "FillRate":
        return FillRate(self.sessions + other.sessions, self.capacity + other.capacity,
                        self.seats_sold + other.seats_sold)


@dataclass(frozen=True)
class SessionFill:
    session_id: int
    course_id: int
    course_title: str
    venue_name: str
    town: str
    starts_at: datetime
    capacity: int
    seats_sold: int
    fill_rate: float | None
    is_past: bool


@dataclass(frozen=True)
class CourseFill:
    course_id: int
    course_title: str
    past: FillRate
    upcoming: FillRate

    @property
    def overall(self) -> FillRate:
        return self.past + self.upcoming


def _session_fill(row, now: datetime) -> SessionFill:
    return SessionFill(row.session_id, row.course_id, row.course_title, row.venue_name,
                       row.town, row.starts_at, row.capacity, row.seats_sold,
                       _rate(row.seats_sold, row.capacity), row.starts_at <= now)


def _held_sessions(period: DateRange) -> list:
    return [row for row in AnalyticsRepository().sessions_starting_between(
        period.start_utc, period.end_utc) if row.status != "cancelled"]


def fill_by_session(period: DateRange, *, now: datetime | None = None) -> list[SessionFill]:
    """Each session starting in the period (not cancelled): seats of confirmed
    bookings / capacity. Past = started by `now`."""
    now = now or utcnow()
    return [_session_fill(row, now) for row in _held_sessions(period)]


def fill_by_course(period: DateRange, *, now: datetime | None = None) -> list[CourseFill]:
    """Per course, sessions starting in the period: seats sold / capacity summed
    over its sessions, for past and upcoming sessions apart. Fullest first."""
    now = now or utcnow()
    past: dict[int, FillRate] = defaultdict(FillRate)
    upcoming: dict[int, FillRate] = defaultdict(FillRate)
    titles: dict[int, str] = {}
    for row in _held_sessions(period):
        titles[row.course_id] = row.course_title
        side = past if row.starts_at <= now else upcoming
        side[row.course_id] = side[row.course_id] + FillRate(1, row.capacity, row.seats_sold)
    result = [CourseFill(course_id, titles[course_id], past[course_id], upcoming[course_id])
              for course_id in titles]
    return sorted(result, key=lambda c: (-(c.overall.rate or 0), c.course_title))


def fill_summary(period: DateRange, *, now: datetime | None = None) -> CourseFill:
    """All courses together (course_id 0): the headline fill rates."""
    now = now or utcnow()
    past, upcoming = FillRate(), FillRate()
    for row in _held_sessions(period):
        part = FillRate(1, row.capacity, row.seats_sold)
        if row.starts_at <= now:
            past = past + part
        else:
            upcoming = upcoming + part
    return CourseFill(0, "All courses", past, upcoming)


def sessions_at_risk(*, minimum_seats: int, within_days: int = 7,
                     now: datetime | None = None) -> list[SessionFill]:
    """Scheduled sessions starting in the next `within_days` days with fewer than
    `minimum_seats` seats sold: candidates to promote, merge or cancel."""
    now = now or utcnow()
    rows = AnalyticsRepository().sessions_starting_between(now, now + timedelta(days=within_days))
    return [_session_fill(row, now) for row in rows
            if row.status == "scheduled" and row.starts_at > now
            and row.seats_sold < minimum_seats]


def coming_fill(*, within_days: int, now: datetime | None = None) -> FillRate:
    """How full the scheduled sessions starting in the next `within_days` days are:
    seats sold over their capacity (the dashboard's "how full is what is coming")."""
    now = now or utcnow()
    rows = AnalyticsRepository().sessions_starting_between(now, now + timedelta(days=within_days))
    fill = FillRate()
    for row in rows:
        if row.status == "scheduled" and row.starts_at > now:
            fill = fill + FillRate(1, row.capacity, row.seats_sold)
    return fill


# -- lead time ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeadBucket:
    label: str
    min_days: int
    max_days: int | None
    bookings: int


@dataclass(frozen=True)
class LeadTime:
    bookings: int
    median_days: float | None
    buckets: tuple[LeadBucket, ...]


def _lead_days(row) -> int:
    """UK calendar days from taking the booking (its hold) to the course's first day."""
    return max(0, (london(row.session_starts_at).date() - london(row.created_at).date()).days)


def lead_time(period: DateRange) -> LeadTime:
    """For bookings confirmed in the period: days from booking (when the hold was
    taken) to the course, the median and how many fall in each bucket."""
    days = [_lead_days(row) for row in _sales(period)]
    buckets = tuple(
        LeadBucket(label, low, high,
                   sum(1 for d in days if d >= low and (high is None or d <= high)))
        for label, low, high in LEAD_BUCKETS)
    return LeadTime(len(days), float(statistics.median(days)) if days else None, buckets)


# -- cancellations, no-shows, holds, waiting list ------------------------------------------------
@dataclass(frozen=True)
class Cancellations:
    confirmed_bookings: int
    cancelled_bookings: int
    refunded_bookings: int
    refunded: Money

    @property
    def cancellation_rate(self) -> float | None:
        return _rate(self.cancelled_bookings, self.confirmed_bookings)

    @property
    def refund_rate(self) -> float | None:
        return _rate(self.refunded_bookings, self.confirmed_bookings)


def cancellations(period: DateRange, *, vat_rate_percent: int | None = None) -> Cancellations:
    """Of the bookings confirmed in the period, how many have since been cancelled
    (status cancelled or refunded), how many got money back (a succeeded refund)
    and how much (each booking's refunds split for VAT together)."""
    rows = _sales(period)
    refunded = [row.refunded_pence for row in rows if row.refunded_pence > 0]
    return Cancellations(
        confirmed_bookings=len(rows),
        cancelled_bookings=sum(1 for row in rows if row.status in CANCELLED_STATUSES),
        refunded_bookings=len(refunded),
        refunded=Money.total(refunded, _vat_rate(vat_rate_percent)))


@dataclass(frozen=True)
class NoShows:
    attendees: int
    attended: int
    no_shows: int

    @property
    def marked(self) -> int:
        return self.attended + self.no_shows

    @property
    def no_show_rate(self) -> float | None:
        return _rate(self.no_shows, self.marked)


def no_shows(period: DateRange, *, now: datetime | None = None) -> NoShows:
    """Attendees of confirmed bookings on sessions that started in the period (by
    `now`): no-shows / attendees whose attendance the trainer marked. Unmarked
    attendees count in `attendees` but not in the rate."""
    now = now or utcnow()
    rows = [row for row in AnalyticsRepository().confirmed_bookings_on_sessions_starting_between(
        period.start_utc, min(period.end_utc, now))]
    return NoShows(attendees=sum(r.attendees for r in rows),
                   attended=sum(r.attended for r in rows),
                   no_shows=sum(r.no_shows for r in rows))


@dataclass(frozen=True)
class HoldConversion:
    holds: int
    converted: int
    abandoned: int
    cancelled_unpaid: int
    pending: int

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.converted, self.holds)

    @property
    def abandoned_rate(self) -> float | None:
        return _rate(self.abandoned, self.holds)


def hold_conversion(period: DateRange) -> HoldConversion:
    """Every booking starts as a hold. Of the holds taken in the period: converted
    (paid or recorded as paid: has a confirmed_at), abandoned (expired unpaid),
    cancelled before paying, and still pending (a live hold)."""
    rows = AnalyticsRepository().bookings_created_between(period.start_utc, period.end_utc)
    converted = [r for r in rows if r.confirmed_at is not None]
    unpaid = [r for r in rows if r.confirmed_at is None]
    return HoldConversion(
        holds=len(rows), converted=len(converted),
        abandoned=sum(1 for r in unpaid if r.status == "expired"),
        cancelled_unpaid=sum(1 for r in unpaid if r.status in CANCELLED_STATUSES),
        pending=sum(1 for r in unpaid if r.status == "held"))


@dataclass(frozen=True)
class WaitlistDemand:
    course_id: int
    course_title: str
    sessions: int
    entries: int
    seats: int
    open_entries: int
    open_seats: int
    booked_entries: int


def waitlist_demand(period: DateRange) -> list[WaitlistDemand]:
    """Per course, waiting-list entries on its sessions starting in the period (all
    entries ever made; open = still waiting or offered; booked = took a seat).
    Courses with no entries are left out; most seats wanted first."""
    totals: dict[int, list] = {}
    titles: dict[int, str] = {}
    for row in AnalyticsRepository().sessions_starting_between(period.start_utc, period.end_utc):
        if not row.waitlist_entries:
            continue
        titles[row.course_id] = row.course_title
        t = totals.setdefault(row.course_id, [0, 0, 0, 0, 0, 0])
        for i, value in enumerate((1, row.waitlist_entries, row.waitlist_seats,
                                   row.waitlist_open_entries, row.waitlist_open_seats,
                                   row.waitlist_booked_entries)):
            t[i] += value
    result = [WaitlistDemand(course_id, titles[course_id], *t) for course_id, t in totals.items()]
    return sorted(result, key=lambda w: (-w.seats, w.course_title))


# -- companies and payment methods ---------------------------------------------------------------
@dataclass(frozen=True)
class CompanyFigures:
    company: str
    bookings: int
    seats: int
    spend_pence: int


def top_companies(period: DateRange, *, limit: int = 10) -> list[CompanyFigures]:
    """Companies (the booking contact's company, compared ignoring case and outer
    spaces) by seats of bookings confirmed in the period; spend = what they paid
    less what was refunded, VAT included. Bookings with no company are left out."""
    groups: dict[str, list] = defaultdict(list)
    for row in _sales(period):
        if row.company:
            groups[row.company.strip().casefold()].append(row)
    result = [CompanyFigures(company=min(r.company.strip() for r in rows), bookings=len(rows),
                             seats=sum(r.seats for r in rows),
                             spend_pence=sum(r.amount_pence - r.refunded_pence for r in rows))
              for rows in groups.values()]
    result.sort(key=lambda c: (-c.seats, -c.spend_pence, c.company.casefold()))
    return result[:limit]


@dataclass(frozen=True)
class MethodShare:
    method: str
    label: str
    bookings: int
    seats: int
    revenue: Money
    share: float | None


def payment_methods(period: DateRange, *,
                    vat_rate_percent: int | None = None) -> list[MethodShare]:
    """Bookings confirmed in the period by how they were paid: card (the checkout),
    invoice, bank transfer (recorded by staff), or none (confirmed with no payment
    row, shown only when there are any). Share = of the period's bookings."""
    rate = _vat_rate(vat_rate_percent)
    rows = _sales(period)
    by_method: dict[str, list] = defaultdict(list)
    for row in rows:
        by_method[row.payment_method].append(row)
    methods = list(REPORTED_METHODS) + (["none"] if by_method.get("none") else [])
    result = []
    for method in methods:
        totals = _totals(by_method.get(method, []), rate)
        result.append(MethodShare(method, METHOD_LABELS[method], totals.bookings, totals.seats,
                                  totals.revenue, _rate(totals.bookings, len(rows))))
    return result


# -- the accountant's report --------------------------------------------------------------------
@dataclass(frozen=True)
class VatRow:
    method: str
    label: str
    bookings: int
    sales: Money
    refunds_count: int
    refunds: Money

    @property
    def balance(self) -> Money:
        """Sales less refunds: what the period's VAT return owes for this method."""
        return self.sales - self.refunds

    def __add__(self, other: "VatRow") -> "VatRow":
        return VatRow("total", "Total", self.bookings + other.bookings, self.sales + other.sales,
                      self.refunds_count + other.refunds_count, self.refunds + other.refunds)


@dataclass(frozen=True)
class VatMonth:
    month: date
    label: str
    rows: tuple[VatRow, ...]
    total: VatRow


@dataclass(frozen=True)
class VatReport:
    months: tuple[VatMonth, ...]
    total: VatRow


def _empty_total() -> VatRow:
    return VatRow("total", "Total", 0, Money(), 0, Money())


def vat_report(period: DateRange, *, vat_rate_percent: int | None = None) -> VatReport:
    """Per UK calendar month of the period (clipped to it), per payment method: sales
    (bookings confirmed that month, net/VAT/gross) and refunds (succeeded refunds
    issued that month, split for VAT each on its own), and the balance."""
    rate = _vat_rate(vat_rate_percent)
    repo = AnalyticsRepository()
    sales: dict[tuple[date, str], list[int]] = defaultdict(list)
    refunds: dict[tuple[date, str], list[int]] = defaultdict(list)
    for row in repo.bookings_confirmed_between(period.start_utc, period.end_utc):
        sales[(london(row.confirmed_at).date().replace(day=1), row.payment_method)].append(
            row.amount_pence)
    for row in repo.refunds_between(period.start_utc, period.end_utc):
        refunds[(london(row.refunded_at).date().replace(day=1), row.payment_method)].append(
            row.amount_pence)
    months, grand = [], _empty_total()
    month = period.start.replace(day=1)
    while month <= period.end:
        used = {m for (when, m) in (*sales, *refunds) if when == month}
        methods = list(REPORTED_METHODS) + sorted(used - set(REPORTED_METHODS))
        rows = tuple(VatRow(method, METHOD_LABELS.get(method, method),
                            len(sales[(month, method)]),
                            Money.total(sales[(month, method)], rate),
                            len(refunds[(month, method)]),
                            Money.total(refunds[(month, method)], rate))
                     for method in methods)
        total = _empty_total()
        for row in rows:
            total = total + row
        months.append(VatMonth(month, f"{month:%B %Y}", rows, total))
        grand = grand + total
        month = _add_months(month, 1)
    return VatReport(tuple(months), grand)


# -- headline figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    bookings: int
    seats: int
    revenue: Money
    refunds: Money
    fill_rate: float | None
    upcoming_fill_rate: float | None
    cancellation_rate: float | None
    no_show_rate: float | None
    conversion_rate: float | None
    median_lead_days: float | None


def headline(period: DateRange, *, now: datetime | None = None,
             vat_rate_percent: int | None = None) -> Headline:
    """The figures at the top of the page, each as its own function defines it;
    refunds are the refunds issued in the period (as in the VAT report)."""
    now = now or utcnow()
    rate = _vat_rate(vat_rate_percent)
    totals = sales_totals(period, vat_rate_percent=rate)
    fill = fill_summary(period, now=now)
    refunds = AnalyticsRepository().refunds_between(period.start_utc, period.end_utc)
    return Headline(
        bookings=totals.bookings, seats=totals.seats, revenue=totals.revenue,
        refunds=Money.total((r.amount_pence for r in refunds), rate),
        fill_rate=fill.overall.rate, upcoming_fill_rate=fill.upcoming.rate,
        cancellation_rate=cancellations(period, vat_rate_percent=rate).cancellation_rate,
        no_show_rate=no_shows(period, now=now).no_show_rate,
        conversion_rate=hold_conversion(period).conversion_rate,
        median_lead_days=lead_time(period).median_days)


def _number(value) -> float | None:
    if isinstance(value, Money):
        return value.gross_pence
    return value


@dataclass(frozen=True)
class HeadlineComparison:
    period: DateRange
    previous_period: DateRange
    current: Headline
    previous: Headline

    def change(self, name: str) -> float | None:
        """Relative change against the previous period (0.25 = 25% up; Money compares
        gross); None when the previous figure is 0 or unknown."""
        now, before = _number(getattr(self.current, name)), _number(getattr(self.previous, name))
        if now is None or not before:
            return None
        return (now - before) / before

    def difference(self, name: str) -> float | None:
        """Absolute difference (for rates: in fractions, 0.05 = 5 percentage points)."""
        now, before = _number(getattr(self.current, name)), _number(getattr(self.previous, name))
        if now is None or before is None:
            return None
        return now - before


HEADLINE_FIELDS = tuple(f.name for f in fields(Headline))


def compare_headlines(period: DateRange, *, now: datetime | None = None,
                      vat_rate_percent: int | None = None) -> HeadlineComparison:
    """The headline of the period and of `period.previous()`."""
    previous = period.previous()
    return HeadlineComparison(period, previous,
                              headline(period, now=now, vat_rate_percent=vat_rate_percent),
                              headline(previous, now=now, vat_rate_percent=vat_rate_percent))


# -- the whole report of one period (the analytics page) -------------------------------
DAILY_UP_TO_DAYS = 31     # a month or less: sales by day
WEEKLY_UP_TO_DAYS = 120   # a quarter or so: by week; longer: by month


def natural_grain(period: DateRange) -> str:
    """Sales over time by day for a month, by week for a quarter, by month beyond."""
    if period.days <= DAILY_UP_TO_DAYS:
        return "day"
    return "week" if period.days <= WEEKLY_UP_TO_DAYS else "month"


@dataclass(frozen=True)
class Report:
    """Every figure of one period, as the functions above define them."""

    comparison: HeadlineComparison
    grain: str
    over_time: list[SalesBucket]
    totals: SalesTotals
    by_course: list[SalesGroup]
    by_venue: list[SalesGroup]
    by_town: list[SalesGroup]
    fill_by_course: list[CourseFill]
    past_sessions: list[SessionFill]
    upcoming_sessions: list[SessionFill]
    lead_time: LeadTime
    cancellations: Cancellations
    no_shows: NoShows
    holds: HoldConversion
    waitlist: list[WaitlistDemand]
    companies: list[CompanyFigures]
    payment_methods: list[MethodShare]


def report(period: DateRange, *, now: datetime | None = None,
           vat_rate_percent: int | None = None) -> Report:
    """The analytics page's figures for `period`, with the change against the
    previous period and sales over time at the period's natural grain."""
    now = now or utcnow()
    rate = _vat_rate(vat_rate_percent)
    grain = natural_grain(period)
    sessions = fill_by_session(period, now=now)
    return Report(
        comparison=compare_headlines(period, now=now, vat_rate_percent=rate),
        grain=grain,
        over_time=sales_over_time(period, grain, vat_rate_percent=rate),
        totals=sales_totals(period, vat_rate_percent=rate),
        by_course=sales_by_course(period, vat_rate_percent=rate),
        by_venue=sales_by_venue(period, vat_rate_percent=rate),
        by_town=sales_by_town(period, vat_rate_percent=rate),
        fill_by_course=fill_by_course(period, now=now),
        past_sessions=[s for s in sessions if s.is_past],
        upcoming_sessions=[s for s in sessions if not s.is_past],
        lead_time=lead_time(period),
        cancellations=cancellations(period, vat_rate_percent=rate),
        no_shows=no_shows(period, now=now),
        holds=hold_conversion(period),
        waitlist=waitlist_demand(period),
        companies=top_companies(period),
        payment_methods=payment_methods(period, vat_rate_percent=rate),
    )
