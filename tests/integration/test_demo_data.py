"""The demo catalogue looks like a real Yorkshire first-aid provider's, and keeps every rule."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import String, Text, func, select

from app.demo_data import is_empty, seed_demo
from app.extensions import db
from app.models import (
    Attendee, Booking, BookingStatus, Course, CourseSession, Invoice, Payment, Role, User, Venue,
)
from app.repositories import BookingRepository, unit_of_work
from app.services.bookings.holds import REFERENCE_ALPHABET
from app.services.core.errors import InvalidState
from app.services.staff import accounts, passwords
from app.validation import (
    sanitize_html, validate_email, validate_person_name, validate_uk_phone, validate_uk_postcode,
)

LONDON = ZoneInfo("Europe/London")
MID_MARCH = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc)  # BST starts 28 March 2027
EARLY_OCTOBER = datetime(2027, 10, 4, 12, 0, tzinfo=timezone.utc)  # GMT returns 31 October
ADMIN_EMAIL = "office@reactfasttraining.co.uk"
ADMIN_PASSWORD = "admin-demo-password"
TRAINER_PASSWORD = "trainer-demo-password"

# slug: (title, days, hours, price in pence, certificate months)
PUBLISHED = {
    "emergency-first-aid-at-work": ("Emergency First Aid at Work", 1, 6, 10_000, 36),
    "first-aid-at-work": ("First Aid at Work", 3, 18, 20_000, 36),
    "first-aid-at-work-requalification": ("First Aid at Work Requalification", 2, 12, 15_000, 36),
    "emergency-first-aid-at-work-requalification":
        ("Emergency First Aid at Work Requalification", 1, 6, 7_000, 36),
    "paediatric-first-aid": ("Paediatric First Aid", 2, 12, 12_000, 36),
    "emergency-paediatric-first-aid": ("Emergency Paediatric First Aid", 1, 6, 10_000, 36),
    "cpr-and-aed": ("CPR & AED", 1, 3, 6_000, 12),
    "annual-skills-refresher": ("Annual Skills Refresher", 1, 3, 6_000, 12),
}


def seed(now: datetime = MID_MARCH):
    return seed_demo(now, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
                     trainer_password=TRAINER_PASSWORD)


def all_sessions() -> list[CourseSession]:
    return list(db.session.scalars(select(CourseSession).order_by(CourseSession.starts_at)))


def test_seed_loads_courses_venues_staff_six_months_of_history_today_and_a_quarter_ahead(app):
    assert is_empty()
    result = seed()

    assert not is_empty()
    assert (result.courses, result.venues, result.trainers) == (8, 8, 4)
    assert 60 <= result.upcoming_sessions <= 90
    assert result.sessions_today == 4
    assert 60 <= result.past_sessions <= 100
    assert result.sessions == result.past_sessions + result.sessions_today + \
        result.upcoming_sessions
    assert result.bookings == db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.status == BookingStatus.CONFIRMED))
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == result.sessions
    roles = sorted(u.role.value for u in db.session.scalars(select(User)))
    assert roles == ["admin"] + ["trainer"] * 4
    towns = set(db.session.scalars(select(Venue.town)))
    assert {"Leeds", "Sheffield", "York", "Bradford", "Harrogate", "Wakefield",
            "Huddersfield"} <= towns


def test_course_titles_durations_and_prices_match_the_published_list(app):
    seed()
    courses = {c.slug: c for c in db.session.scalars(select(Course))}
    assert {slug: (c.title, c.duration_days, c.duration_hours, c.price_pence,
                   c.certificate_validity_months) for slug, c in courses.items()} == PUBLISHED
    assert all(c.summary and c.description_html.startswith("<p>") for c in courses.values())


def test_every_course_has_a_session_in_the_next_three_months(app):
    seed()
    horizon = MID_MARCH + timedelta(days=92)
    upcoming = {s.course.slug for s in all_sessions() if MID_MARCH < s.starts_at < horizon}
    assert upcoming == set(PUBLISHED)


def test_every_session_has_a_trainer_and_at_most_twelve_seats(app):
    seed()
    sessions = all_sessions()
    assert all(s.trainer is not None and s.trainer.role == Role.TRAINER for s in sessions)
    assert all(0 < s.capacity <= 12 for s in sessions)
    assert {12, 10, 8} & {s.capacity for s in sessions} == {12, 10, 8}


@pytest.mark.parametrize("now", [MID_MARCH, EARLY_OCTOBER], ids=["into-bst", "back-to-gmt"])
def test_sessions_keep_london_wall_clock_times_across_the_clock_change(app, now):
    seed(now)
    sessions = all_sessions()
    utc_start_hours = set()
    for s in sessions:
        start, end = s.starts_at.astimezone(LONDON), s.ends_at.astimezone(LONDON)
        days = s.course.duration_days
        assert start.time() in (time(9, 0), time(9, 30)), s
        assert start.weekday() < 6, s  # never on a Sunday
        if days > 1:
            assert start.time() == time(9, 0), s
            assert end.time() == time(16, 30), s
            assert (end.date() - start.date()).days == days - 1, s
            assert end.weekday() < 5, s  # consecutive weekdays, not across a weekend
        elif s.course.duration_hours <= 3:
            assert end - start == timedelta(hours=3, minutes=30), s
        else:
            assert (end.date(), end.time()) == (start.date(), time(16, 30)), s
        utc_start_hours.add(s.starts_at.hour)
    # 09:00 is 09:00 UTC in winter and 08:00 UTC in summer: both occur.
    assert {8, 9} <= utc_start_hours
    assert any(s.starts_at.astimezone(LONDON).weekday() == 5 for s in sessions)


@pytest.mark.parametrize("now", [MID_MARCH, EARLY_OCTOBER], ids=["into-bst", "back-to-gmt"])
def test_every_session_gives_its_courses_contact_hours(app, now):
    from app.services.catalogue.timetable import contact_hours_problem

    seed(now)
    assert [(s.course.slug, contact_hours_problem(s.course, s.starts_at, s.ends_at))
            for s in all_sessions()
            if contact_hours_problem(s.course, s.starts_at, s.ends_at)] == []


def test_no_trainer_or_venue_is_double_booked(app):
    seed()
    for key in ("trainer_id", "venue_id"):
        by_owner = defaultdict(list)
        for s in all_sessions():
            by_owner[getattr(s, key)].append(s)
        for sessions in by_owner.values():
            for earlier, later in zip(sessions, sessions[1:]):
                assert earlier.ends_at <= later.starts_at, (key, earlier, later)
                assert (earlier.ends_at.astimezone(LONDON).date()
                        < later.starts_at.astimezone(LONDON).date()), (key, earlier, later)


def test_no_sessions_over_christmas_or_on_bank_holidays(app):
    seed(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    christmas_closure = {date(2026, 12, d) for d in range(24, 32)} | {date(2027, 1, 1)}
    closed = christmas_closure | {date(2027, 3, 26), date(2027, 3, 29)}  # Good Friday, Easter Monday
    for s in all_sessions():
        start = s.starts_at.astimezone(LONDON).date()
        end = s.ends_at.astimezone(LONDON).date()
        run = {start + timedelta(days=d) for d in range((end - start).days + 1)}
        assert not run & closed, s


def test_no_seeded_text_claims_hse_approval(app):
    seed()
    claim = re.compile(r"hse[\s-]*approved", re.IGNORECASE)
    for table in db.metadata.sorted_tables:
        text_columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        for row in db.session.execute(select(*text_columns)) if text_columns else ():
            for value in row:
                assert not (value and claim.search(value)), (table.name, value)


def test_demo_bookings_vary_seat_counts_and_never_exceed_capacity(app):
    seed()
    sessions = all_sessions()
    taken = BookingRepository().seats_taken_by_session([s.id for s in sessions], MID_MARCH)
    left = [s.capacity - taken[s.id] for s in sessions]

    assert min(left) == 0  # one session is sold out ...
    assert 1 in left  # ... one has a single seat left ...
    assert len(set(left)) > 4  # ... and the others vary
    assert all(n >= 0 for n in left)


def test_demo_bookings_look_like_real_bookings(app):
    seed()
    bookings = list(db.session.scalars(select(Booking)))
    assert bookings
    assert len({b.reference for b in bookings}) == len(bookings)
    assert {b.status for b in bookings} == {BookingStatus.CONFIRMED, BookingStatus.CANCELLED,
                                             BookingStatus.EXPIRED}
    for b in bookings:
        assert b.created_at < MID_MARCH
        assert re.fullmatch(f"[{REFERENCE_ALPHABET}]{{10}}", b.reference)
        assert re.fullmatch(r"\+447700900\d{3}", b.contact_phone)
        assert b.contact_email.endswith("@example.com")
        assert b.amount_pence == b.seats * b.session.price_pence
        assert b.confirmed_at is None or b.created_at < b.confirmed_at < MID_MARCH
        assert [a.position for a in b.attendees] == list(range(b.seats))
    assert db.session.scalar(select(func.count()).select_from(Attendee)) == sum(
        b.seats for b in bookings)


def test_staff_passwords_are_stored_hashed_and_work(app):
    seed()
    staff = {u.email: u for u in db.session.scalars(select(User))}
    admin = staff[ADMIN_EMAIL]
    assert admin.is_admin and admin.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(admin.password_hash, ADMIN_PASSWORD)
    trainers = [u for u in staff.values() if u.role == Role.TRAINER]
    assert all(u.email.endswith("@reactfasttraining.co.uk") for u in trainers)
    assert all(passwords.verify_password(u.password_hash, TRAINER_PASSWORD) for u in trainers)


def test_an_existing_admin_account_is_kept_as_it_is(app):
    accounts.create_staff_user(ADMIN_EMAIL, "admin", "the-real-admin-password", "Real Admin")
    result = seed()
    admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    assert result.admin_created is False
    assert admin.full_name == "Real Admin"
    assert passwords.verify_password(admin.password_hash, "the-real-admin-password")


def test_seeding_twice_is_refused_and_changes_nothing(app):
    first = seed()
    with pytest.raises(InvalidState):
        seed()
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == first.sessions


class _Rollback(Exception):
    pass


def _timetable_of_a_seed() -> list[tuple]:
    """Seed inside a transaction that is rolled back, and return what it scheduled."""
    snapshot: list[tuple] = []
    with pytest.raises(_Rollback):
        with unit_of_work():
            seed()
            # Sorted: sessions starting at the same time have no set order in SQL.
            snapshot = sorted((s.course.slug, s.starts_at, s.venue.name, s.trainer.email,
                               s.capacity) for s in all_sessions())
            snapshot += [(b.reference, b.seats) for b in db.session.scalars(
                select(Booking).order_by(Booking.reference))]
            snapshot += [(i.number, i.booking.reference, i.paid_at) for i in db.session.scalars(
                select(Invoice).order_by(Invoice.sequence))]
            raise _Rollback
    return snapshot


def test_the_demo_is_the_same_every_time_for_the_same_day(app):
    first = _timetable_of_a_seed()
    assert is_empty()
    assert first and _timetable_of_a_seed() == first


@pytest.mark.parametrize("now", [MID_MARCH, EARLY_OCTOBER], ids=["march", "october"])
def test_demo_invoices_are_numbered_without_gaps_and_some_are_still_owed(app, now):
    seed(now)
    today = now.astimezone(LONDON).date()
    invoices = list(db.session.scalars(select(Invoice).order_by(Invoice.sequence)))
    assert [i.number for i in invoices] == [f"INV-{n:06d}" for n in range(1, len(invoices) + 1)]
    paid = [i for i in invoices if i.is_paid]
    owed = [i for i in invoices if not i.is_paid]
    assert paid and owed and [i for i in owed if i.is_overdue(today)]
    for invoice in owed:  # never described as paid, and no money recorded for it
        assert invoice.booking.awaits_payment and invoice.booking.is_invoice_unpaid
        assert "payment due" in invoice.booking.payment_note
        assert not db.session.scalars(
            select(Payment).where(Payment.booking_id == invoice.booking_id)).all()
    for invoice in paid:
        assert not invoice.booking.awaits_payment and not invoice.booking.is_invoice_unpaid
        assert invoice.paid_at < now


def test_demo_data_passes_the_same_validation_as_real_input(app):
    seed()
    for venue in db.session.scalars(select(Venue)):
        assert validate_uk_postcode(venue.postcode) == venue.postcode
    for course in db.session.scalars(select(Course)):
        assert sanitize_html(course.description_html) == course.description_html
    for b in db.session.scalars(select(Booking)):
        assert validate_uk_phone(b.contact_phone) == b.contact_phone
        assert validate_uk_postcode(b.contact_postcode) == b.contact_postcode
        assert validate_email(b.contact_email) == b.contact_email
        assert all(validate_person_name(a.full_name) == a.full_name for a in b.attendees)
