"""The analytics page (/admin/analytics) and the dashboard's headline figures.

Expected figures are asked of app.services.analytics for the same range, never
counted again here: the page must show what the service defines.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from app.models import utcnow
from app.services import analytics
from app.services.core.ukformat import london
from app.web import charts

from factories import BookingFactory, CourseFactory, SessionFactory, VenueFactory
from staff_helpers import sign_in_without_password


def today():
    return london(utcnow()).date()


def figure(page: str, name: str) -> str:
    """The value shown on the headline tile `name`."""
    match = re.search(rf'data-figure="{name}">.*?class="figure__value">(.*?)</span>', page, re.S)
    assert match, f"no tile {name!r}"
    return html.unescape(match.group(1)).strip()


def tile_change(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">.*?class="figure__change[^"]*">(.*?)</span>',
                      page, re.S)
    assert match, f"no change on tile {name!r}"
    return html.unescape(match.group(1)).strip()


@pytest.fixture
def sales(app):
    """Three paid bookings this month at a Harrogate venue (4 seats, £400 gross),
    on a session ten days ahead, and the facts refreshed."""
    course = CourseFactory(title="Paediatric First Aid", price_pence=10000)
    venue = VenueFactory(name="Old Swan Hotel", town="Harrogate")
    session = SessionFactory(course=course, venue=venue, capacity=10,
                             starts_at=utcnow() + timedelta(days=10))
    confirmed = utcnow() - timedelta(minutes=5)
    for seats in (1, 1, 2):
        BookingFactory(session=session, seats=seats, amount_pence=seats * 10000,
                       confirmed_at=confirmed, company="Acme Ltd")
    analytics.refresh_analytics()
    return session


# -- no data at all ------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "?range=last_month", "?range=this_quarter",
                                   "?range=custom&start=2020-01-01&end=2022-12-31"])
def test_the_analytics_page_renders_with_no_data_at_all(admin_client, query):
    response = admin_client.get(f"/admin/analytics{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The figures have not been worked out yet." in page
    assert "Nothing to show for this range." in page
    assert figure(page, "revenue") == "£0.00" and figure(page, "fill_rate") == "–"


def test_the_page_renders_after_refreshing_an_empty_database(admin_client):
    analytics.refresh_analytics()
    page = admin_client.get("/admin/analytics").get_data(as_text=True)
    assert "Figures as of" in page and "Nothing to show for this range." in page


def test_the_dashboard_renders_with_no_data_at_all(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This week" in page and "This month" in page
    assert figure(page, "seats") == "0" and figure(page, "at_risk") == "0"


# -- the figures ---------------------------------------------------------------------
def test_headline_figures_are_the_services_figures_for_the_range(admin_client, sales):
    period = analytics.DateRange.this_month(today())
    expected = analytics.headline(period)
    assert expected.seats == 4  # the data reached the figures: the comparison is not 0 == 0
    page = admin_client.get("/admin/analytics?range=this_month").get_data(as_text=True)
    assert figure(page, "seats") == str(expected.seats)
    assert figure(page, "bookings") == str(expected.bookings)
    assert figure(page, "revenue") == charts.pounds_full(expected.revenue.gross_pence)
    net, vat = expected.revenue.net_pence, expected.revenue.vat_pence
    assert f"{charts.pounds_full(net)} net + {charts.pounds_full(vat)} VAT" in page
    # the month before sold nothing: the change is said in words, not only by colour
    before = analytics.compare_headlines(period).previous_period.label
    assert tile_change(page, "seats") == f"Up on {before} (0 in {before})"


def test_a_chart_has_a_text_alternative_and_its_numbers_in_a_table(admin_client, sales):
    page = admin_client.get("/admin/analytics").get_data(as_text=True)
    towns = re.search(r'<figure class="chart" id="chart-towns">(.*?)</figure>', page, re.S)
    assert towns, "no bookings-by-town chart"
    chart = towns.group(1)
    assert 'role="img"' in chart and 'aria-labelledby="chart-towns-title chart-towns-desc"' in chart
    desc = re.search(r'<desc id="chart-towns-desc">(.*?)</desc>', chart, re.S).group(1)
    expected = {g.label: g.bookings for g in
                analytics.sales_by_town(analytics.DateRange.this_month(today()))}
    assert expected == {"Harrogate": 3}
    assert "highest Harrogate at 3" in desc
    assert "<rect" in chart
    assert re.search(r'<th scope="row" data-label="Town">Harrogate</th>'
                     r'<td data-label="Bookings">3</td>', chart)


def test_the_revenue_chart_goes_by_day_for_a_month_and_by_week_for_a_quarter(admin_client,
                                                                             sales):
    month = admin_client.get("/admin/analytics?range=this_month").get_data(as_text=True)
    quarter = admin_client.get("/admin/analytics?range=this_quarter").get_data(as_text=True)
    assert "Revenue (gross) by day" in month and "Revenue (gross) by week" in quarter
    assert "<polyline" in month


# -- bad ranges ------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "field"), [
    ("range=custom&start=2026-05-10&end=2026-05-01", "end"),
    ("range=custom&start=not-a-date&end=2026-05-01", "start"),
    ("range=custom&start=2026-05-01", "end"),
    ("range=custom&start=2026-02-30&end=2026-03-01", "start"),
])
def test_a_bad_custom_range_gets_an_error_next_to_its_field(admin_client, query, field):
    response = admin_client.get(f"/admin/analytics?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'href="#{field}"' in page
    assert re.search(rf'<input type="date" id="{field}"[^>]*aria-invalid="true"', page)
    assert 'data-figure="revenue"' not in page  # no figures for a range we could not read


def test_an_unknown_range_is_a_422_not_a_500(admin_client):
    response = admin_client.get("/admin/analytics?range=fortnight")
    assert response.status_code == 422
    assert "Choose this month, last month, this quarter or custom dates." in \
        response.get_data(as_text=True)


# -- htmx and the URL ----------------------------------------------------------------------
def test_htmx_gets_the_fragment_with_vary_and_the_range_to_push(admin_client, sales):
    response = admin_client.get("/admin/analytics?range=last_month",
                                headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="range-title"' in body and 'data-figure="seats"' in body
    assert "HX-Request" in response.headers.get("Vary", "")
    assert response.headers["HX-Push-Url"] == "/admin/analytics?range=last_month"
    full = admin_client.get("/admin/analytics?range=last_month")
    assert "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers.get("Vary", "")


def test_a_custom_range_is_pushed_into_the_url_in_canonical_form(admin_client):
    response = admin_client.get("/admin/analytics?range=custom&start=01/01/2026&end=31/01/2026",
                                headers={"HX-Request": "true"})
    assert response.headers["HX-Push-Url"] == \
        "/admin/analytics?range=custom&start=2026-01-01&end=2026-01-31"


def test_range_links_and_the_custom_form_swap_the_figures_and_push_the_url(admin_client):
    page = admin_client.get("/admin/analytics").get_data(as_text=True)
    for preset in ("this_month", "last_month", "this_quarter"):
        assert re.search(rf'<a class="button[^"]*" href="/admin/analytics\?range={preset}"\s+'
                         rf'hx-get="/admin/analytics\?range={preset}" hx-target="#analytics" '
                         rf'hx-push-url="true"', page), preset
    form = re.search(r'<form class="filters admin-filters" method="get"[^>]*>', page).group(0)
    assert 'hx-target="#analytics"' in form and 'hx-push-url="true"' in form
    assert re.search(r'href="/admin/analytics\?range=this_month"[^>]*aria-current="true"', page)


def test_a_htmx_request_with_a_bad_range_gets_the_fragment_with_its_errors(admin_client):
    response = admin_client.get("/admin/analytics?range=custom&start=x&end=y",
                                headers={"HX-Request": "true"})
    assert response.status_code == 422 and "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<html" not in body and "There is a problem" in body


def test_every_table_links_to_its_csv_export_for_the_same_range(admin_client, sales):
    page = admin_client.get("/admin/analytics?range=custom&start=2026-01-01&end=2026-03-31")
    links = re.findall(r'<li><a href="([^"]+)" download>', page.get_data(as_text=True))
    query = "range=custom&amp;start=2026-01-01&amp;end=2026-03-31"
    expected = {f"/admin/exports/analytics/{table}.csv?{query}" for table in (
        "headline", "sales-by-course", "sales-by-venue", "sales-by-town", "fill-by-course",
        "fill-by-session", "lead-time", "cancellations", "no-shows", "hold-conversion",
        "waiting-lists", "companies", "payment-methods")}
    expected |= {f"/admin/exports/analytics/sales-over-time.csv?grain=week&amp;{query}",
                 f"/admin/exports/revenue-vat.csv?{query}"}
    assert set(links) == expected
    for link in links:  # each is a real export of that range
        response = admin_client.get(html.unescape(link))
        body = response.get_data(as_text=True)  # read the stream to its end
        response.close()
        assert response.status_code == 200 and response.mimetype == "text/csv", link
        assert body.startswith("\ufeff"), link


# -- refresh now ------------------------------------------------------------------------
def test_refresh_now_works_the_figures_out_and_returns_to_the_same_range(admin_client, app):
    assert analytics.last_refreshed() is None
    response = admin_client.post("/admin/analytics/refresh", data={"range": "last_month"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/analytics?range=last_month")
    assert analytics.last_refreshed() is not None
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Figures refreshed" in page and "Figures as of" in page


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_refresh_now_is_a_post_form_that_needs_its_csrf_token(app, admin_user):
    client = sign_in_without_password(app.test_client(), admin_user)
    page = client.get("/admin/analytics").get_data(as_text=True)
    form = re.search(r'<form class="refresh-form inline-form" method="post" '
                     r'action="/admin/analytics/refresh">(.*?)</form>', page, re.S).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    refused = client.post("/admin/analytics/refresh", data={"range": "this_month"})
    assert refused.status_code in (303, 400) and analytics.last_refreshed() is None
    done = client.post("/admin/analytics/refresh", data={"range": "this_month",
                                                         "csrf_token": token})
    assert done.status_code == 303 and analytics.last_refreshed() is not None


# -- who may see it ------------------------------------------------------------------------
def test_only_admins_see_analytics(client, trainer_client):
    anonymous = client.get("/admin/analytics")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert trainer_client.get("/admin/analytics").status_code == 403
    assert trainer_client.post("/admin/analytics/refresh").status_code == 403
    assert analytics.last_refreshed() is None


# -- the dashboard ---------------------------------------------------------------------------
def test_the_dashboard_shows_this_weeks_and_this_months_figures_with_links(admin_client, sales):
    day = today()
    week = analytics.DateRange.custom(day - timedelta(days=day.weekday()),
                                      day - timedelta(days=day.weekday()) + timedelta(days=6))
    month = analytics.DateRange.this_month(day)
    page = admin_client.get("/admin/").get_data(as_text=True)
    week_part, month_part = page.split('id="figures-2"')[0], page.split('id="figures-2"')[1]
    week_figures, month_figures = analytics.headline(week), analytics.headline(month)
    assert month_figures.seats == 4
    assert figure(week_part, "seats") == str(week_figures.seats)
    assert figure(month_part, "seats") == str(month_figures.seats)
    assert figure(month_part, "revenue") == charts.pounds_full(month_figures.revenue.gross_pence)
    for part, days in ((week_part, 7), (month_part, 30)):
        coming = analytics.coming_fill(within_days=days)
        assert f"Fill rate of sessions in the next {days} days" in part
        assert figure(part, "upcoming_fill_rate") == (
            "–" if coming.rate is None else charts.percent(coming.rate))
    assert (f'href="/admin/analytics?range=custom&amp;start={week.start.isoformat()}'
            f'&amp;end={week.end.isoformat()}"') in page
    assert 'href="/admin/analytics?range=this_month"' in page


def test_the_dashboard_lists_the_sessions_at_risk_from_the_service(admin_client, app):
    soon = SessionFactory(course=CourseFactory(title="Emergency First Aid at Work"),
                          starts_at=utcnow() + timedelta(days=3))
    BookingFactory(session=soon, seats=1, confirmed_at=utcnow())
    analytics.refresh_analytics()
    expected = analytics.sessions_at_risk(
        minimum_seats=app.config["ANALYTICS_AT_RISK_MIN_SEATS"], within_days=7)
    assert [s.session_id for s in expected] == [soon.id]
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert figure(page, "at_risk") == "1"
    assert f'href="/admin/sessions/{soon.id}"' in page
    assert "fewer than 4 seats sold" in page


@pytest.mark.parametrize("app_config", [{"ANALYTICS_AT_RISK_MIN_SEATS": 1}])
def test_the_at_risk_minimum_is_a_setting(admin_client, app):
    soon = SessionFactory(starts_at=utcnow() + timedelta(days=3))
    BookingFactory(session=soon, seats=1, confirmed_at=utcnow())
    analytics.refresh_analytics()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert figure(page, "at_risk") == "0" and "fewer than 1 seats sold" in page
