"""Scheduled jobs: each runs once per slot across workers, and each is safe to run twice."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Attendee, Booking, BookingStatus, DeliveryStatus, JobRun, OutboxDelivery, OutboxEvent, Payment,
    PaymentStatus, SentEmail, utcnow,
)
from app.repositories import unit_of_work
from app.services.background import retention, scheduler
from app.services.bookings import holds as svc
from app.services.core import events
from app.services.core.ukformat import london
from app.services.staff import certificates

from factories import AttendeeFactory, BookingFactory, CourseFactory, SessionFactory, booking_request
from notify_helpers import confirmed_booking, deliver_all


@pytest.fixture
def app_config():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 0}}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# -- once per slot ------------------------------------------------------------------------
def test_a_job_runs_once_per_slot_however_often_the_scheduler_ticks(app):
    calls = []
    probe = scheduler.Job("probe", lambda now, config: calls.append(now) or {"n": len(calls)},
                          every_minutes=60)
    at = datetime(2026, 11, 25, 9, 5, tzinfo=timezone.utc)
    first = scheduler.run_due_jobs(app.config, now=at, jobs=(probe,))
    again = scheduler.run_due_jobs(app.config, now=at + timedelta(minutes=30), jobs=(probe,))
    next_hour = scheduler.run_due_jobs(app.config, now=at + timedelta(hours=1), jobs=(probe,))
    assert [o.status for o in first + again + next_hour] == ["done", "skipped", "done"]
    assert len(calls) == 2
    run = db.session.scalars(select(JobRun).order_by(JobRun.id)).first()
    assert (run.slot, run.status, json.loads(run.result)) == ("2026-11-25T09:00", "done", {"n": 1})


def test_two_workers_ticking_at_once_run_a_slot_once(app):
    calls = []
    gate = threading.Barrier(6)

    def slow(now, config):
        calls.append(now)
        return {}

    probe = scheduler.Job("probe", slow, every_minutes=1)
    at = utcnow()
    outcomes = []

    def tick():
        with app.app_context():
            gate.wait()
            try:
                outcomes.append(scheduler.run_job(probe, app.config, now=at))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tick) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(o.status for o in outcomes) == ["done"] + ["skipped"] * 5


def test_a_failed_run_is_retried_on_a_later_tick_and_a_vanished_one_is_taken_over(app):
    attempts = []

    def flaky(now, config):
        attempts.append(now)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")
        return {"ok": True}

    probe = scheduler.Job("probe", flaky, daily_at=time(3, 0))
    at = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
    assert scheduler.run_job(probe, app.config, now=at).status == "failed"
    assert scheduler.run_job(probe, app.config, now=at + timedelta(minutes=1)).status == "skipped"
    # Runs finish on the real clock: retry the same slot once RETRY_FAILED_AFTER has passed.
    later = utcnow() + scheduler.RETRY_FAILED_AFTER
    assert scheduler.run_job(probe, app.config, now=later, slot="2026-11-25").status == "done"
    assert len(attempts) == 2

    # A run whose worker died stays "running" until STALE_AFTER, then another takes it.
    stuck = scheduler.Job("stuck", lambda now, config: {}, daily_at=time(3, 0))
    with unit_of_work():
        db.session.add(JobRun(job="stuck", slot="2026-11-25", status="running",
                              started_at=utcnow()))
    assert scheduler.run_job(stuck, app.config, now=at).status == "skipped"
    later = utcnow() + scheduler.STALE_AFTER
    assert scheduler.run_job(stuck, app.config, now=later, slot="2026-11-25").status == "done"


# -- the jobs ----------------------------------------------------------------------------
def test_expire_holds_job_expires_stale_holds_and_their_emails_follow(app, outbox):
    course_session = SessionFactory()
    past = utcnow() - timedelta(hours=2)
    held = svc.hold_seats(booking_request(course_session.id, 2), policy=svc.BookingPolicy(),
                          now=past)
    with unit_of_work():  # the customer reached the checkout (else no email: see notifications)
        db.session.add(Payment(booking_id=held.id, provider="fake", amount_pence=held.amount_pence,
                               status=PaymentStatus.EXPIRED))
    outcome = scheduler.run_job(scheduler.get_job("expire-holds"), app.config)
    assert (outcome.status, outcome.result) == ("done", {"expired": 1})
    assert count(Booking, Booking.status == BookingStatus.EXPIRED) == 1
    deliver_all()
    assert [m.subject.split(":")[0] for m in outbox] == ["Your held seats were released"]


def test_course_reminders_go_to_courses_starting_within_two_days_once(app, outbox):
    now = utcnow()
    soon = confirmed_booking(seats=1, starts_at=now + timedelta(hours=47))
    confirmed_booking(seats=1, starts_at=now + timedelta(days=3))  # too early to remind
    started = confirmed_booking(seats=1, starts_at=now + timedelta(hours=1))
    with unit_of_work():  # a session that has already begun gets no reminder
        db.session.get(type(started.session), started.session_id).starts_at = \
            now - timedelta(minutes=5)
    reminders = scheduler.get_job("course-reminders")

    first = scheduler.run_job(reminders, app.config, now=now)
    second = scheduler.run_job(reminders, app.config, now=now + timedelta(hours=1))  # next slot
    assert first.result == {"sent": 1, "failed": 0}
    assert second.result == {"sent": 0, "failed": 0}
    assert [m.to for m in outbox] == [[soon.contact_email]]
    assert outbox[0].subject.startswith("Reminder: Emergency First Aid at Work")


def test_certificate_expiry_reminders_go_out_within_the_window_once(app, outbox):
    today = utcnow().date()
    booking = confirmed_booking(seats=3)
    due, later, removed = booking.attendees
    certificates.issue_certificate(due, add_days(today, 50 - 3 * 365))
    certificates.issue_certificate(later, today)
    certificates.issue_certificate(removed, add_days(today, 10 - 3 * 365))
    with unit_of_work():
        for attendee in db.session.scalars(select(Attendee)):
            if attendee.id == due.id:
                attendee.certificate_expires_on = today + timedelta(days=50)
                attendee.email = "learner.a@example.com"
            if attendee.id == removed.id:
                attendee.certificate_expires_on = today + timedelta(days=10)
                attendee.full_name = certificates.REMOVED_NAME
    job = scheduler.get_job("certificate-expiry-reminders")
    assert scheduler.run_job(job, app.config, slot="day-1").result == {"sent": 1, "failed": 0}
    assert scheduler.run_job(job, app.config, slot="day-2").result == {"sent": 0, "failed": 0}
    reminder = [m for m in outbox if "expires on" in m.subject]
    assert [m.to for m in reminder] == [[booking.contact_email, "learner.a@example.com"]]


class TestReminderDays:
    @pytest.fixture
    def app_config(self):
        return {"CERTIFICATE_REMINDER_DAYS": "90,30"}

    def test_each_configured_reminder_goes_once_and_links_the_next_requalifications(
            self, app, outbox):
        full = CourseFactory(slug="first-aid-at-work", title="First Aid at Work")
        requal = CourseFactory(title="First Aid at Work Requalification", requalifies=full)
        soon = SessionFactory(course=requal, starts_at=utcnow() + timedelta(days=20),
                              ends_at=utcnow() + timedelta(days=20, hours=6))
        SessionFactory(course=CourseFactory(title="Paediatric First Aid"),
                       starts_at=utcnow() + timedelta(days=10),
                       ends_at=utcnow() + timedelta(days=10, hours=6))
        starts = utcnow() - timedelta(days=3 * 365)
        done = SessionFactory(course=full, starts_at=starts, ends_at=starts + timedelta(hours=6))
        booking = BookingFactory(session=done, hold_expires_at=None, confirmed_at=starts,
                                 contact_name="Priya Shah")
        attendee = AttendeeFactory(booking=booking, full_name="Sam Patel")
        certificates.issue_certificate(attendee.id, starts.date())
        job = scheduler.get_job("certificate-expiry-reminders")
        today = london(utcnow()).date()

        def expire_in(days):
            with unit_of_work():
                db.session.get(Attendee, attendee.id).certificate_expires_on = \
                    today + timedelta(days=days)

        expire_in(80)
        assert scheduler.run_job(job, app.config, slot="a").result["sent"] == 1
        assert scheduler.run_job(job, app.config, slot="b").result["sent"] == 0
        expire_in(25)
        assert scheduler.run_job(job, app.config, slot="c").result["sent"] == 1
        assert scheduler.run_job(job, app.config, slot="d").result["sent"] == 0
        reminders = [m for m in outbox if "expires on" in m.subject]
        assert len(reminders) == 2
        body = reminders[-1].body
        assert "Hello Priya Shah," in body and "Sam Patel's First Aid at Work" in body
        assert f"/sessions/{soon.id}" in body and "Paediatric" not in body


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def test_refresh_analytics_job_rebuilds_the_facts_and_records_the_refresh(app):
    from app.services import analytics

    now = datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc)
    course_session = SessionFactory()
    BookingFactory(session=course_session, seats=2, amount_pence=20000,
                   confirmed_at=now - timedelta(hours=1))
    outcome = scheduler.run_job(scheduler.get_job("refresh-analytics"), app.config, now=now)
    assert outcome.status == "done"
    assert outcome.result["analytics_booking_facts"] == 1
    assert outcome.result["analytics_session_facts"] == 1
    assert analytics.last_refreshed() is not None
    assert scheduler.get_job("refresh-analytics").slot(now) == "2026-11-25T02:30"


# -- retention ---------------------------------------------------------------------------
def test_purge_removes_old_personal_data_keeps_certificates_verifiable_and_is_idempotent(app):
    now = utcnow()
    old_session = SessionFactory(starts_at=now - timedelta(days=8 * 365),
                                 ends_at=now - timedelta(days=8 * 365) + timedelta(hours=7))
    old = BookingFactory(session=old_session, confirmed_at=old_session.starts_at,
                         company="Old Co")
    holder = AttendeeFactory(booking=old, full_name="Old Learner", email="old@example.com")
    certificates.issue_certificate(holder, old_session.starts_at.date())

    recent_session = SessionFactory(starts_at=now - timedelta(days=60),
                                    ends_at=now - timedelta(days=60) + timedelta(hours=7))
    recent = BookingFactory(session=recent_session, confirmed_at=recent_session.starts_at)
    AttendeeFactory(booking=recent, full_name="Recent Learner", access_needs="Hearing loop")

    unpaid = BookingFactory(session=recent_session, status=BookingStatus.EXPIRED,
                            hold_expires_at=now - timedelta(days=100))
    AttendeeFactory(booking=unpaid, full_name="Never Paid")
    fresh_unpaid = BookingFactory(session=recent_session, status=BookingStatus.EXPIRED,
                                  hold_expires_at=now - timedelta(days=10))

    with unit_of_work():  # an old, fully delivered event and an old dead one
        for status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            event = events.record_event("ProbeHappened", "x", {"email": "x@example.com"})
            event.created_at = now - timedelta(days=120)
            db.session.add(OutboxDelivery(event=event, handler="probe", status=status))

    result = retention.purge_personal_data(now=now)
    assert result.as_dict() == {"paid_bookings_anonymised": 1, "unpaid_bookings_anonymised": 1,
                                "access_needs_cleared": 1, "email_addresses_removed": 0,
                                "outbox_events_deleted": 1, "traffic_minutes_deleted": 0}
    db.session.expire_all()
    old_b = db.session.get(Booking, old.id)
    assert (old_b.contact_name, old_b.contact_email, old_b.contact_phone, old_b.company) == \
        ("[removed]", retention.REMOVED_EMAIL, "", None)
    assert old_b.amount_pence > 0 and old_b.reference == old.reference  # financial record stays
    old_holder = db.session.get(Attendee, holder.id)
    assert old_holder.full_name == "[removed]" and old_holder.email is None
    check = certificates.verify_certificate(old_holder.certificate_number)
    assert check.status == "expired" and check.holder_removed

    recent_b = db.session.get(Booking, recent.id)
    assert recent_b.contact_name == "Priya Shah"
    assert recent_b.attendees[0].full_name == "Recent Learner"
    assert recent_b.attendees[0].access_needs is None  # 30 days after the course
    assert db.session.get(Booking, unpaid.id).attendees[0].full_name == "[removed]"
    assert db.session.get(Booking, fresh_unpaid.id).contact_name == "Priya Shah"
    assert count(OutboxEvent, OutboxEvent.event_type == "ProbeHappened") == 1  # dead one stays

    again = retention.purge_personal_data(now=now)
    assert set(again.as_dict().values()) == {0}


def test_purge_job_runs_with_configured_periods(app):
    # A daily job has no slot before its hour: name one, so the test runs at any time of day.
    outcome = scheduler.run_job(scheduler.get_job("purge-personal-data"), app.config,
                                slot="manual")
    assert outcome.status == "done" and outcome.result["paid_bookings_anonymised"] == 0
    assert count(SentEmail) == 0
