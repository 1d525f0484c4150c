"""The analytics page (/admin/analytics): headline figures for a date range with
the change against the previous period, charts with the numbers under them,
and the tables behind every figure. Also the dashboard's week and month figures.

Every number comes from app.services.analytics (one set of definitions for
pages, exports and the accountant's report); this module only chooses which
figures a page shows and turns them into words, tiles and chart geometry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, request, url_for
from werkzeug.routing import BuildError

from app.models import utcnow
from app.services import analytics as service
from app.services.core.errors import InvalidInput
from app.services.core.ukformat import london, uk_moment
from app.web import charts
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import flash_error, flash_success
from app.web.admin.forms import CsrfForm
from app.web.htmx import is_htmx, page_or_fragment, see_other

PRESET_LABELS = {"this_month": "This month", "last_month": "Last month",
                 "this_quarter": "This quarter"}
EXPORT_TABLES = ("headline", "sales-over-time", "sales-by-course", "sales-by-venue",
                 "sales-by-town", "fill-by-course", "fill-by-session", "lead-time",
                 "cancellations", "no-shows", "hold-conversion", "waiting-lists", "companies",
                 "payment-methods")


# -- headline tiles ----------------------------------------------------------------
@dataclass(frozen=True)
class TileSpec:
    """One headline figure: its Headline attribute, how to show it, and which way
    is good news (None: neither)."""
    name: str
    label: str
    kind: str                 # "money", "count", "rate" or "days"
    up_is_good: bool | None = True


HEADLINE_TILES = (
    TileSpec("revenue", "Revenue (gross)", "money"),
    TileSpec("seats", "Seats sold", "count"),
    TileSpec("bookings", "Bookings", "count"),
    TileSpec("fill_rate", "Fill rate (sessions in range)", "rate"),
    TileSpec("upcoming_fill_rate", "Fill rate of upcoming sessions", "rate"),
    TileSpec("cancellation_rate", "Cancellation rate", "rate", up_is_good=False),
    TileSpec("no_show_rate", "No-show rate", "rate", up_is_good=False),
    TileSpec("conversion_rate", "Holds that were paid", "rate"),
    TileSpec("median_lead_days", "Median lead time", "days", up_is_good=None),
    TileSpec("refunds", "Refunds (gross)", "money", up_is_good=False),
)
DASHBOARD_TILES = ("seats", "revenue")
# The dashboard's "how full is what is coming": sessions starting in the next N days.
COMING_DAYS = {"This week": 7, "This month": 30}


@dataclass(frozen=True)
class Tile:
    name: str
    label: str
    value: str
    note: str = ""
    change: str = ""          # the change in words: "Up 12% on October 2026"
    direction: str = ""       # "up", "down", "same" or "" (nothing to compare)
    tone: str = ""            # "good", "bad" or "" (neutral)


def _show(kind: str, value) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return charts.pounds_full(value.gross_pence)
    if kind == "rate":
        return charts.percent(value)
    if kind == "days":
        return f"{value:g} day{'' if value == 1 else 's'}"
    return charts.count(value)


def _tile(spec: TileSpec, comparison) -> Tile:
    """A figure with its change against the previous period in words (the arrow
    and colour only repeat them): rates in percentage points, counts and money
    as a percentage, both as the service works them out."""
    now_value = getattr(comparison.current, spec.name)
    then_value = getattr(comparison.previous, spec.name)
    previous_label = comparison.previous_period.label
    value = _show(spec.kind, now_value)
    note = ""
    if spec.kind == "money":
        note = (f"{charts.pounds_full(now_value.net_pence)} net + "
                f"{charts.pounds_full(now_value.vat_pence)} VAT")
    was = f"{_show(spec.kind, then_value)} in {previous_label}"
    difference = comparison.difference(spec.name)
    if difference is None:
        return Tile(spec.name, spec.label, value, note, change=f"Nothing to compare ({was})")
    if difference == 0:
        return Tile(spec.name, spec.label, value, note,
                    change=f"No change on {previous_label}", direction="same")
    direction = "up" if difference > 0 else "down"
    if spec.kind == "rate":
        amount = f" {abs(difference) * 100:.1f} points"
    else:
        relative = comparison.change(spec.name)
        amount = "" if relative is None else f" {charts.percent(abs(relative))}"
    tone = ("" if spec.up_is_good is None
            else "good" if (direction == "up") == spec.up_is_good else "bad")
    return Tile(spec.name, spec.label, value, note,
                change=f"{direction.capitalize()}{amount} on {previous_label} ({was})",
                direction=direction, tone=tone)


def headline_tiles(comparison, names: tuple[str, ...] | None = None) -> list[Tile]:
    """The tiles for a service HeadlineComparison (all, or `names` in that order)."""
    specs = [s for s in HEADLINE_TILES if names is None or s.name in names]
    if names is not None:
        specs.sort(key=lambda s: names.index(s.name))
    return [_tile(spec, comparison) for spec in specs]


# -- charts ------------------------------------------------------------------------
GRAIN_HEADINGS = {"day": "Day", "week": "Week", "month": "Month"}
GRAIN_WORDS = {"day": "day", "week": "week", "month": "month"}


def revenue_chart(buckets, grain: str, total) -> charts.Chart:
    items = [(charts.period_label(b.start, grain), b.revenue.gross_pence,
              charts.period_name(b.start, grain)) for b in buckets]
    return charts.line(items, title=f"Revenue (gross) by {GRAIN_WORDS[grain]}",
                       label_heading=GRAIN_HEADINGS[grain], value_heading="Gross",
                       fmt=charts.pounds_full, axis_fmt=charts.pounds_axis,
                       total=charts.pounds_full(total.gross_pence))


def fill_chart(courses) -> charts.Chart:
    items = [(c.course_title, c.overall.rate or 0.0) for c in courses if c.overall.capacity]
    return charts.bars(items, title="Fill rate by course", label_heading="Course",
                       value_heading="Fill rate (seats sold of capacity)", fmt=charts.percent,
                       ceiling=1.0)


def lead_time_chart(lead) -> charts.Chart:
    items = [(b.label, b.bookings, f"{b.label} before the course") for b in lead.buckets]
    if not any(b.bookings for b in lead.buckets):
        items = []
    return charts.columns(items, title="Lead time: days from booking to course",
                          label_heading="Booked", value_heading="Bookings", fmt=charts.count,
                          whole=True, total=f"{charts.count(lead.bookings)} bookings")


def town_chart(towns) -> charts.Chart:
    items = [(t.label, t.bookings) for t in sorted(towns, key=lambda t: -t.bookings)]
    return charts.bars(items, title="Bookings by town", label_heading="Town",
                       value_heading="Bookings", fmt=charts.count, whole=True,
                       total=f"{charts.count(sum(t.bookings for t in towns))} bookings")


def method_chart(methods) -> charts.Chart:
    items = [(m.label, m.share or 0.0) for m in methods if m.bookings]
    return charts.bars(items, title="Payment method mix (share of bookings)",
                       label_heading="Method", value_heading="Share", fmt=charts.percent,
                       ceiling=1.0)


# -- the page ----------------------------------------------------------------------
def _today() -> date:
    return london(utcnow()).date()


def _figures(period) -> dict:
    """Everything the page shows for `period`: the analytics service's report, as
    tiles, charts and tables."""
    report = service.report(period)
    return {
        "tiles": headline_tiles(report.comparison),
        "previous": report.comparison.previous_period,
        "grain": report.grain,
        "buckets": report.over_time,
        "totals": report.totals,
        "by_course": report.by_course,
        "by_venue": report.by_venue,
        "by_town": report.by_town,
        "fill_courses": report.fill_by_course,
        "past_sessions": report.past_sessions,
        "upcoming_sessions": report.upcoming_sessions,
        "lead": report.lead_time,
        "cancellations": report.cancellations,
        "no_shows": report.no_shows,
        "holds": report.holds,
        "waitlist": report.waitlist,
        "companies": report.companies,
        "methods": report.payment_methods,
        "charts": {
            "revenue": revenue_chart(report.over_time, report.grain, report.totals.revenue),
            "fill": fill_chart(report.fill_by_course),
            "lead": lead_time_chart(report.lead_time),
            "towns": town_chart(report.by_town),
            "methods": method_chart(report.payment_methods),
        },
    }


def _export_url(endpoint: str, **args) -> str | None:
    """An export's address, or None while that export route does not exist."""
    try:
        return url_for(endpoint, **args)
    except BuildError:
        return None


def _exports(period, grain: str) -> dict[str, str | None]:
    """The CSV exports of the page's tables, for the same range (and the revenue
    table by the same day, week or month). A link shows only while its route exists."""
    args = period.to_args()
    links = {table: _export_url("admin.export_analytics", table=table, **args)
             for table in EXPORT_TABLES}
    links["sales-over-time"] = _export_url("admin.export_analytics", table="sales-over-time",
                                           grain=grain, **args)
    links["revenue-vat"] = _export_url("admin.export_revenue_vat", **args)
    return links


def _preset_links(today: date) -> list[tuple[str, str, str]]:
    """(preset, label, url) for the quick range links."""
    links = []
    for preset, label in PRESET_LABELS.items():
        period = getattr(service.DateRange, preset)(today)
        links.append((preset, label, url_for("admin.analytics", **period.to_args())))
    return links


@bp.get("/analytics")
@admin_required
def analytics():
    today = _today()
    context = {"presets": _preset_links(today), "args": request.args,
               "refresh_form": CsrfForm(formdata=None),
               "refreshed_at": service.last_refreshed(), "problems": {}, "period": None}
    try:
        period = service.DateRange.from_args(request.args, today)
    except InvalidInput as exc:
        context["problems"] = exc.fields or {"range": exc.message}
        return page_or_fragment("admin/analytics.html", "fragments/_admin_analytics.html",
                                exc.status, **context)
    figures = _figures(period)
    context.update(period=period, figures=figures, exports=_exports(period, figures["grain"]))
    response = page_or_fragment("admin/analytics.html", "fragments/_admin_analytics.html",
                                **context)
    if is_htmx():  # the address bar names the range shown, in its canonical form
        response.headers["HX-Push-Url"] = url_for("admin.analytics", **period.to_args())
    return response


@bp.post("/analytics/refresh")
@admin_required
def analytics_refresh():
    """Work the figures out again now (the scheduled job does it every 15 minutes)."""
    try:
        period = service.DateRange.from_args(request.form, _today())
        back = url_for("admin.analytics", **period.to_args())
    except InvalidInput:
        back = url_for("admin.analytics")
    if CsrfForm().validate_on_submit():
        result = service.refresh_now()
        flash_success(f"Figures refreshed: as of {uk_moment(result.refreshed_at)}.")
    else:
        flash_error("The page had expired: press Refresh now again.")
    return see_other(back)


# -- the dashboard's figures ---------------------------------------------------------
@dataclass(frozen=True)
class DashboardPeriod:
    title: str
    label: str
    url: str
    tiles: list[Tile]


def this_week(today: date):
    """Monday to Sunday of the week `today` is in."""
    monday = today - timedelta(days=today.weekday())
    return service.DateRange.custom(monday, monday + timedelta(days=6))


def coming_fill_tile(days: int, now) -> Tile:
    fill = service.coming_fill(within_days=days, now=now)
    note = (f"{charts.count(fill.seats_sold)} of {charts.count(fill.capacity)} seats on "
            f"{charts.count(fill.sessions)} session{'' if fill.sessions == 1 else 's'}"
            if fill.sessions else "No sessions scheduled")
    return Tile("upcoming_fill_rate", f"Fill rate of sessions in the next {days} days",
                _show("rate", fill.rate), note)


def dashboard_figures() -> dict:
    """This week's and this month's headline figures and the sessions at risk."""
    today, now = _today(), utcnow()
    periods = []
    for title, period in (("This week", this_week(today)),
                          ("This month", service.DateRange.this_month(today))):
        comparison = service.compare_headlines(period, now=now)
        tiles = headline_tiles(comparison, DASHBOARD_TILES)
        tiles.append(coming_fill_tile(COMING_DAYS[title], now))
        periods.append(DashboardPeriod(title, period.label,
                                       url_for("admin.analytics", **period.to_args()),
                                       tiles))
    minimum = current_app.config["ANALYTICS_AT_RISK_MIN_SEATS"]
    return {"periods": periods, "refreshed_at": service.last_refreshed(),
            "at_risk": service.sessions_at_risk(now=now, minimum_seats=minimum, within_days=7),
            "at_risk_minimum": minimum}


@bp.app_template_filter("gbp")
def _gbp(pence: int | None) -> str:
    """'£1,234.50': money in the analytics tables, always with pence."""
    return "–" if pence is None else charts.pounds_full(pence)


@bp.app_template_filter("rate")
def _rate(ratio: float | None) -> str:
    """'62.5%', or '–' when there was nothing to divide by."""
    return "–" if ratio is None else charts.percent(ratio)
