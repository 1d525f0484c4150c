"""The analytics figures: one seeded data set, hand-computed answers, both backends.

Every test here runs on SQLite (summary tables) and on PostgreSQL (materialized
views) and asserts the same numbers, so passing on both is the parity check.

The data set (now = Fri 20 Nov 2026 12:00 UTC; the period is November 2026):

  S1 First Aid at Work, Leeds, 10 Nov (past), capacity 10
  S2 Paediatric First Aid, York, 27 Nov (upcoming), capacity 8
  S3 First Aid at Work, York, 25 Nov, capacity 6, CANCELLED session
  S4 Paediatric First Aid, Leeds, 15 Dec (outside the period), capacity 12

  ref  session seats gross   status     paid by        made    confirmed  company
  B1   S1      2     36000   confirmed  card (stripe)  1 Nov   1 Nov      Acme Ltd
  B2   S1      1     18000   confirmed  invoice        20 Oct  3 Nov      "acme ltd "
  B3   S1      3     54005   confirmed  bank transfer  5 Nov   5 Nov      Beta plc
  B4   S2      2     24000   refunded   card           6 Nov   6 Nov      Beta plc  (refund 24000 on 8 Nov)
  B5   S2      1     12000   cancelled  card (fake)    12 Nov  12 Nov     -         (a failed refund)
  B6   S2      1     12000   expired    (checkout expired) 14 Nov  -      -
  B7   S4      4     47990   confirmed  card           15 Nov  15 Nov     -
  B8   S2      1     12000   confirmed  card           31 Oct  31 Oct     -         (October: the previous period)
  B9   S2      1     12000   held       -              20 Nov  -          -         (a live hold)

  Attendance on S1: B1 one attended, one no-show; B2 attended; B3 two attended, one unmarked.
  Waiting list on S1: 2 seats waiting, 1 seat booked.

VAT at 20% per booking, half up (as the receipts): 36000 -> 6000, 18000 -> 3000,
54005 -> 9001, 24000 -> 4000, 12000 -> 2000, 47990 -> 7998.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import (
    Booking, BookingStatus, Payment, PaymentStatus, Refund, RefundStatus, SessionStatus,
    WaitlistEntry, WaitlistStatus,
)
from app.services import analytics
from app.services.analytics import DateRange, Money

from factories import (
    AttendeeFactory, BookingFactory, CourseFactory, SessionFactory, VenueFactory, booking_request,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
NOVEMBER = DateRange.this_month(date(2026, 11, 20))


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


def pay(booking, provider, status=PaymentStatus.SUCCEEDED):
    payment = Payment(booking_id=booking.id, provider=provider, amount_pence=booking.amount_pence,
                      status=status, paid_at=booking.confirmed_at)
    db.session.add(payment)
    db.session.commit()
    return payment


def book(session, seats, gross, status, made, confirmed=None, company=None, **extra):
    return BookingFactory(session=session, seats=seats, amount_pence=gross, status=status,
                          created_at=made, confirmed_at=confirmed, company=company, **extra)


@pytest.fixture
def seeded(app):
    first_aid = CourseFactory(title="First Aid at Work", price_pence=18000)
    paediatric = CourseFactory(title="Paediatric First Aid", price_pence=12000)
    leeds = VenueFactory(name="Leeds Centre", town="Leeds")
    york = VenueFactory(name="York Centre", town="York")
    s1 = SessionFactory(course=first_aid, venue=leeds, starts_at=at("2026-11-10", "09:00"),
                        capacity=10)
    s2 = SessionFactory(course=paediatric, venue=york, starts_at=at("2026-11-27", "09:00"),
                        capacity=8)
    SessionFactory(course=first_aid, venue=york, starts_at=at("2026-11-25", "09:00"),
                   capacity=6, status=SessionStatus.CANCELLED)
    s4 = SessionFactory(course=paediatric, venue=leeds, starts_at=at("2026-12-15", "09:00"),
                        capacity=12)
    confirmed, held = BookingStatus.CONFIRMED, BookingStatus.HELD

    b1 = book(s1, 2, 36000, confirmed, at("2026-11-01"), at("2026-11-01", "10:05"), "Acme Ltd")
    pay(b1, "stripe")
    AttendeeFactory(booking=b1, position=0, full_name="A One", attended=True)
    AttendeeFactory(booking=b1, position=1, full_name="A Two", attended=False)

    b2 = book(s1, 1, 18000, confirmed, at("2026-10-20"), at("2026-11-03"), "acme ltd ")
    pay(b2, "invoice")
    AttendeeFactory(booking=b2, full_name="B One", attended=True)

    b3 = book(s1, 3, 54005, confirmed, at("2026-11-05", "12:00"), at("2026-11-05", "12:00"),
              "Beta plc")
    pay(b3, "bank_transfer")
    for position, attended in enumerate((True, True, None)):
        AttendeeFactory(booking=b3, position=position, full_name=f"C {position}",
                        attended=attended)

    b4 = book(s2, 2, 24000, BookingStatus.REFUNDED, at("2026-11-06"), at("2026-11-06"),
              "Beta plc", cancelled_at=at("2026-11-08"), refund_due_pence=24000)
    card = pay(b4, "stripe")
    db.session.add(Refund(booking_id=b4.id, payment_id=card.id, amount_pence=24000,
                          reason="cancelled", status=RefundStatus.SUCCEEDED,
                          created_at=at("2026-11-08")))

    b5 = book(s2, 1, 12000, BookingStatus.CANCELLED, at("2026-11-12"), at("2026-11-12"),
              cancelled_at=at("2026-11-13"))
    fake_card = pay(b5, "fake")
    db.session.add(Refund(booking_id=b5.id, payment_id=fake_card.id, amount_pence=12000,
                          reason="cancelled", status=RefundStatus.FAILED,
                          created_at=at("2026-11-13")))

    b6 = book(s2, 1, 12000, BookingStatus.EXPIRED, at("2026-11-14"),
              hold_expires_at=at("2026-11-14", "10:30"))
    pay(b6, "stripe", PaymentStatus.EXPIRED)

    b7 = book(s4, 4, 47990, confirmed, at("2026-11-15"), at("2026-11-15"))
    pay(b7, "stripe")

    b8 = book(s2, 1, 12000, confirmed, at("2026-10-31", "23:00"), at("2026-10-31", "23:30"))
    pay(b8, "stripe")

    book(s2, 1, 12000, held, at("2026-11-20", "11:50"), hold_expires_at=at("2026-11-20", "12:20"))

    db.session.add_all([
        WaitlistEntry(session_id=s1.id, name="Wendy Wait", email="wendy@example.com", seats=2,
                      status=WaitlistStatus.WAITING),
        WaitlistEntry(session_id=s1.id, name="Bob Booked", email="bob@example.com", seats=1,
                      status=WaitlistStatus.BOOKED),
    ])
    db.session.commit()
    analytics.refresh_analytics(now=NOW)
    return {"first_aid": first_aid.id, "paediatric": paediatric.id, "s1": s1.id, "s2": s2.id}


# -- the seeded figures ------------------------------------------------------------------------
def test_sales_count_bookings_confirmed_in_the_period_with_vat_split_per_booking(seeded):
    totals = analytics.sales_totals(NOVEMBER)
    assert (totals.bookings, totals.seats) == (6, 13)
    assert totals.revenue == Money(net_pence=159996, vat_pence=31999, gross_pence=191995)


def test_sales_by_course_venue_and_town(seeded):
    by_course = analytics.sales_by_course(NOVEMBER)
    assert [(g.label, g.bookings, g.seats, g.revenue) for g in by_course] == [
        ("First Aid at Work", 3, 6, Money(90004, 18001, 108005)),
        ("Paediatric First Aid", 3, 7, Money(69992, 13998, 83990)),
    ]
    assert [(g.key, g.bookings, g.seats, g.revenue.gross_pence)
            for g in analytics.sales_by_town(NOVEMBER)] == [("Leeds", 4, 10, 155995),
                                                             ("York", 2, 3, 36000)]
    assert [(g.label, g.revenue.gross_pence) for g in analytics.sales_by_venue(NOVEMBER)] == [
        ("Leeds Centre, Leeds", 155995), ("York Centre, York", 36000)]


def test_sales_over_time_fill_every_week_day_and_month_bucket(seeded):
    weeks = analytics.sales_over_time(NOVEMBER, "week")
    assert [(w.start, w.bookings) for w in weeks] == [
        (date(2026, 10, 26), 1), (date(2026, 11, 2), 3), (date(2026, 11, 9), 2),
        (date(2026, 11, 16), 0), (date(2026, 11, 23), 0), (date(2026, 11, 30), 0)]
    days = analytics.sales_over_time(NOVEMBER, "day")
    assert len(days) == 30
    assert sum(d.revenue.gross_pence for d in days) == 191995
    assert days[4].start == date(2026, 11, 5) and days[4].revenue == Money(45004, 9001, 54005)
    months = analytics.sales_over_time(NOVEMBER, "month")
    assert [(m.label, m.seats) for m in months] == [("November 2026", 13)]


def test_fill_rate_counts_confirmed_seats_of_sessions_held_in_the_period(seeded):
    sessions = analytics.fill_by_session(NOVEMBER, now=NOW)
    assert [(s.session_id, s.capacity, s.seats_sold, s.fill_rate, s.is_past)
            for s in sessions] == [(seeded["s1"], 10, 6, 0.6, True),
                                   (seeded["s2"], 8, 1, 0.125, False)]
    courses = {c.course_title: c for c in analytics.fill_by_course(NOVEMBER, now=NOW)}
    assert courses["First Aid at Work"].past == analytics.FillRate(1, 10, 6)
    assert courses["First Aid at Work"].upcoming.rate is None
    assert courses["Paediatric First Aid"].upcoming == analytics.FillRate(1, 8, 1)
    summary = analytics.fill_summary(NOVEMBER, now=NOW)
    assert summary.overall == analytics.FillRate(2, 18, 7)


def test_lead_time_median_and_buckets(seeded):
    lead = analytics.lead_time(NOVEMBER)
    assert lead.bookings == 6
    assert lead.median_days == 18.0   # 5, 9, 15, 21, 21, 30
    assert [b.bookings for b in lead.buckets] == [1, 1, 3, 1, 0]


def test_cancellation_and_refund_rates_of_the_months_sales(seeded):
    figures = analytics.cancellations(NOVEMBER)
    assert (figures.confirmed_bookings, figures.cancelled_bookings,
            figures.refunded_bookings) == (6, 2, 1)
    assert figures.cancellation_rate == pytest.approx(1 / 3)
    assert figures.refund_rate == pytest.approx(1 / 6)
    assert figures.refunded == Money(20000, 4000, 24000)


def test_no_show_rate_counts_only_marked_attendees_of_sessions_that_ran(seeded):
    figures = analytics.no_shows(NOVEMBER, now=NOW)
    assert (figures.attendees, figures.attended, figures.no_shows, figures.marked) == (6, 4, 1, 5)
    assert figures.no_show_rate == 0.2


def test_hold_conversion_and_abandoned_holds(seeded):
    holds = analytics.hold_conversion(NOVEMBER)
    assert (holds.holds, holds.converted, holds.abandoned, holds.cancelled_unpaid,
            holds.pending) == (7, 5, 1, 0, 1)
    assert holds.conversion_rate == pytest.approx(5 / 7)
    assert holds.abandoned_rate == pytest.approx(1 / 7)


def test_waiting_list_demand_per_course(seeded):
    assert analytics.waitlist_demand(NOVEMBER) == [analytics.WaitlistDemand(
        seeded["first_aid"], "First Aid at Work", sessions=1, entries=2, seats=3,
        open_entries=1, open_seats=2, booked_entries=1)]


def test_top_companies_merge_spellings_and_net_off_refunds(seeded):
    assert analytics.top_companies(NOVEMBER) == [
        analytics.CompanyFigures("Beta plc", bookings=2, seats=5, spend_pence=54005),
        analytics.CompanyFigures("Acme Ltd", bookings=2, seats=3, spend_pence=54000)]


def test_payment_method_mix(seeded):
    mix = analytics.payment_methods(NOVEMBER)
    assert [(m.method, m.bookings, m.seats, m.revenue) for m in mix] == [
        ("card", 4, 9, Money(99992, 19998, 119990)),
        ("invoice", 1, 1, Money(15000, 3000, 18000)),
        ("bank_transfer", 1, 3, Money(45004, 9001, 54005))]
    assert [m.share for m in mix] == pytest.approx([4 / 6, 1 / 6, 1 / 6])


def test_monthly_vat_report_for_the_accountant(seeded):
    report = analytics.vat_report(NOVEMBER)
    (month,) = report.months
    assert month.label == "November 2026"
    rows = {row.method: row for row in month.rows}
    assert rows["card"].sales == Money(99992, 19998, 119990)
    assert (rows["card"].refunds_count, rows["card"].refunds) == (1, Money(20000, 4000, 24000))
    assert rows["card"].balance == Money(79992, 15998, 95990)
    assert rows["invoice"].sales == Money(15000, 3000, 18000)
    assert rows["bank_transfer"].sales == Money(45004, 9001, 54005)
    assert report.total.sales == Money(159996, 31999, 191995)
    assert report.total.balance == Money(139996, 27999, 167995)


def test_headline_and_change_against_october(seeded):
    comparison = analytics.compare_headlines(NOVEMBER, now=NOW)
    current, previous = comparison.current, comparison.previous
    assert (current.bookings, current.seats, current.revenue.gross_pence) == (6, 13, 191995)
    assert current.refunds == Money(20000, 4000, 24000)
    assert current.fill_rate == pytest.approx(7 / 18)
    assert current.upcoming_fill_rate == 0.125
    assert (current.no_show_rate, current.median_lead_days) == (0.2, 18.0)
    assert comparison.previous_period == DateRange(date(2026, 10, 1), date(2026, 10, 31))
    assert (previous.bookings, previous.seats, previous.revenue.gross_pence) == (1, 1, 12000)
    assert comparison.change("bookings") == 5.0
    assert comparison.change("refunds") is None   # nothing refunded in October


def test_figures_are_as_of_the_last_refresh(seeded):
    session = SessionFactory()
    BookingFactory(session=session, seats=1, amount_pence=100, confirmed_at=at("2026-11-16"))
    assert analytics.sales_totals(NOVEMBER).bookings == 6
    result = analytics.refresh_analytics(now=NOW + timedelta(minutes=15))
    assert analytics.sales_totals(NOVEMBER).bookings == 7
    assert analytics.last_refreshed() == NOW + timedelta(minutes=15) == result.refreshed_at


# -- no data ----------------------------------------------------------------------------------------
def test_every_figure_on_an_empty_database_is_zero_or_none(app):
    assert analytics.last_refreshed() is None
    for refreshed in (False, True):
        if refreshed:
            analytics.refresh_analytics()
        head = analytics.headline(NOVEMBER, now=NOW)
        assert (head.bookings, head.seats, head.revenue, head.refunds) == (0, 0, Money(), Money())
        assert (head.fill_rate, head.upcoming_fill_rate, head.cancellation_rate,
                head.no_show_rate, head.conversion_rate, head.median_lead_days) == (None,) * 6
        assert analytics.compare_headlines(NOVEMBER, now=NOW).change("revenue") is None
        assert all(b.bookings == 0 for b in analytics.sales_over_time(NOVEMBER, "week"))
        assert analytics.sales_by_course(NOVEMBER) == analytics.sales_by_town(NOVEMBER) == []
        assert analytics.fill_by_session(NOVEMBER, now=NOW) == []
        assert analytics.fill_by_course(NOVEMBER, now=NOW) == []
        assert analytics.lead_time(NOVEMBER).median_days is None
        assert analytics.cancellations(NOVEMBER).refund_rate is None
        assert analytics.no_shows(NOVEMBER, now=NOW).no_show_rate is None
        assert analytics.hold_conversion(NOVEMBER).abandoned_rate is None
        assert analytics.waitlist_demand(NOVEMBER) == analytics.top_companies(NOVEMBER) == []
        assert [m.bookings for m in analytics.payment_methods(NOVEMBER)] == [0, 0, 0]
        assert analytics.vat_report(NOVEMBER).total.balance == Money()
        assert analytics.sessions_at_risk(minimum_seats=4, now=NOW) == []
    assert analytics.last_refreshed() is not None


def test_sessions_at_risk_are_scheduled_within_a_week_and_under_the_minimum(app):
    soon = SessionFactory(starts_at=NOW + timedelta(days=3), capacity=10)
    BookingFactory(session=soon, seats=2, confirmed_at=NOW - timedelta(days=1))
    full_enough = SessionFactory(starts_at=NOW + timedelta(days=4), capacity=10)
    BookingFactory(session=full_enough, seats=4, confirmed_at=NOW - timedelta(days=1))
    SessionFactory(starts_at=NOW + timedelta(days=9), capacity=10)   # not within a week
    analytics.refresh_analytics()
    at_risk = analytics.sessions_at_risk(minimum_seats=4, now=NOW)
    assert [(s.session_id, s.seats_sold) for s in at_risk] == [(soon.id, 2)]


def test_bad_grain_is_a_clear_input_error(app):
    from app.services.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        analytics.sales_over_time(NOVEMBER, "fortnight")
    assert "grain" in caught.value.fields


# -- one definition, two storages -------------------------------------------------------------------
def test_migration_keeps_the_same_fact_definitions_as_the_repository():
    import importlib.util
    from pathlib import Path

    from app.repositories import analytics as repo

    path = Path(__file__).parents[2] / "migrations" / "versions" / "0013_analytics.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.BOOKING_FACTS_SQL == repo.BOOKING_FACTS_SQL
    assert migration.SESSION_FACTS_SQL == repo.SESSION_FACTS_SQL
    assert migration.REFUND_FACTS_SQL == repo.REFUND_FACTS_SQL


def test_cli_refresh_command_refreshes_and_says_what_it_did(app):
    BookingFactory(confirmed_at=NOW)
    result = app.test_cli_runner().invoke(args=["analytics", "refresh"])
    assert result.exit_code == 0, result.output
    assert "1 booking facts" in result.output
    assert analytics.last_refreshed() is not None


# -- refreshing while people book (PostgreSQL) --------------------------------------------------------
@pytest.fixture
def racing_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 0, "pool_timeout": 60}}


@pytest.fixture
def app_config(racing_config):
    return racing_config


def test_concurrent_refresh_while_booking_loses_no_booking_and_raises_no_lock_error(
        app, backend):
    if backend != "postgresql":
        pytest.skip("materialized views are PostgreSQL's")
    from app.services.bookings import holds

    policy = holds.BookingPolicy(hold_minutes=30, max_seats=12)
    session_id = SessionFactory(capacity=500).id
    stop = threading.Event()
    bookers, refreshers = 8, 2
    barrier = threading.Barrier(bookers + refreshers)

    def book_many(i):
        with app.app_context():
            barrier.wait()
            try:
                made = []
                for n in range(10):
                    held = holds.hold_seats(booking_request(
                        session_id, 1, email=f"racer{i}-{n}@example.com"), policy=policy)
                    made.append(holds.confirm_booking(held.reference).reference)
                return made
            except Exception as exc:  # asserted on below
                return exc
            finally:
                db.session.remove()

    def refresh_until_stopped(i):
        with app.app_context():
            barrier.wait()
            try:
                count = 0
                while not stop.is_set() or count == 0:
                    analytics.refresh_analytics(concurrently=True)
                    count += 1
                return count
            except Exception as exc:
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=bookers + refreshers) as pool:
        refreshing = [pool.submit(refresh_until_stopped, i) for i in range(refreshers)]
        booking = [pool.submit(book_many, i) for i in range(bookers)]
        made = [f.result() for f in booking]
        stop.set()
        refreshes = [f.result() for f in refreshing]

    errors = [r for r in made + refreshes if isinstance(r, Exception)]
    assert errors == []
    assert all(count >= 1 for count in refreshes)
    references = {ref for batch in made for ref in batch}
    assert len(references) == bookers * 10
    assert db.session.query(Booking).filter(Booking.status == BookingStatus.CONFIRMED).count() \
        == bookers * 10
    analytics.refresh_analytics()
    assert db.session.execute(text(
        "SELECT seats_sold FROM analytics_session_facts WHERE session_id = :id"),
        {"id": session_id}).scalar() == bookers * 10


def test_control_a_plain_refresh_locks_readers_out_where_concurrently_does_not(app, backend):
    """Shows the race is real: while a page's transaction reads the facts, a plain
    REFRESH cannot get its lock (it times out here), a CONCURRENTLY one completes."""
    if backend != "postgresql":
        pytest.skip("materialized views are PostgreSQL's")
    BookingFactory(confirmed_at=NOW)
    analytics.refresh_analytics()
    reader = db.engine.connect()
    try:
        reader.begin()
        reader.execute(text("SELECT count(*) FROM analytics_booking_facts")).scalar()
        with db.engine.connect() as refresher:
            refresher.begin()
            refresher.execute(text("SET LOCAL lock_timeout = '500ms'"))
            refresher.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY analytics_booking_facts"))
            refresher.rollback()
            refresher.begin()
            refresher.execute(text("SET LOCAL lock_timeout = '500ms'"))
            with pytest.raises(Exception, match="lock timeout"):
                refresher.execute(text("REFRESH MATERIALIZED VIEW analytics_booking_facts"))
            refresher.rollback()
    finally:
        reader.rollback()
        reader.close()
