"""Alerts: one open alert per rule and subject (counted, even under concurrency),
a new one after resolution, routed by severity, emails rate limited, and
messages an office can read."""
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Alert, AlertEmail, OutboxEvent, Role, Severity, utcnow
from app.repositories import unit_of_work
from app.repositories.alerts import AlertRepository
from app.services.core import alerts, events
from app.services.core.alerts import open_alerts, raise_alert
from app.services.payments import refunds

from racing import race
from factories import BookingFactory, CourseFactory, SessionFactory, UserFactory, VenueFactory
from notify_helpers import deliver_all


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def alert_rows() -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(select(Alert).order_by(Alert.id)))


# -- one alert per rule and subject --------------------------------------------------------
def test_a_new_alert_is_stored_and_announced(app):
    alert = raise_alert("late_refund", "Refund for ABC failed", severity=Severity.CRITICAL)
    assert alert.id and open_alerts()[0].message == "Refund for ABC failed"
    assert (alert.count, alert.first_seen_at) == (1, alert.last_seen_at)
    event = db.session.scalars(select(OutboxEvent)).one()
    assert event.event_type == events.ALERT_RAISED and event.payload["severity"] == "critical"


def test_same_rule_and_subject_twice_is_one_alert_counted_twice(app):
    first_at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    raise_alert("low_seats", "Only 2 left", subject="session:1", now=first_at)
    raise_alert("low_seats", "Only 1 left", subject="session:1",
                now=first_at + timedelta(minutes=7))
    (alert,) = alert_rows()
    assert alert.count == 2 and alert.message == "Only 1 left"
    assert alert.first_seen_at == first_at
    assert alert.last_seen_at == first_at + timedelta(minutes=7)


def test_other_subjects_and_other_rules_are_separate_alerts(app):
    raise_alert("low_seats", "Only 2 left", subject="session:1")
    raise_alert("low_seats", "Only 2 left", subject="session:2")
    raise_alert("fully_booked", "Full", subject="session:1")
    assert [(a.kind, a.subject, a.count) for a in alert_rows()] == [
        ("low_seats", "session:1", 1), ("low_seats", "session:2", 1),
        ("fully_booked", "session:1", 1)]


def test_two_threads_raising_the_same_alert_at_once_leave_one_row_counted_twice(
        app, monkeypatch):
    """Both threads read "no open alert" before either writes (the barrier makes
    the race certain, and `first_reads` shows it happened); the partial unique
    index turns the second insert into a count on the first row."""
    barrier = threading.Barrier(2)
    first_reads = []
    seen = threading.local()
    original = AlertRepository.open_for

    def open_for_in_lockstep(self, kind, subject):
        found = original(self, kind, subject)
        if not getattr(seen, "read", False):
            seen.read = True
            first_reads.append(found)
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(AlertRepository, "open_for", open_for_in_lockstep)
    results = race(app, 2, lambda i: raise_alert("payments.breaker_open", "Stripe is down",
                                                 severity=Severity.CRITICAL,
                                                 subject="payments").id)
    assert first_reads == [None, None]  # the control: both saw nothing open
    assert all(isinstance(r, int) for r in results) and results[0] == results[1]
    (alert,) = alert_rows()
    assert alert.count == 2


def test_a_recurrence_after_resolution_opens_a_new_alert(app):
    first = raise_alert("error_rate", "Errors", severity=Severity.CRITICAL)
    assert alerts.resolve_alert("error_rate")
    assert not alerts.resolve_alert("error_rate")  # nothing open any more
    second = raise_alert("error_rate", "Errors again", severity=Severity.CRITICAL)
    rows = alert_rows()
    assert [a.id for a in rows] == [first.id, second.id] and second.id != first.id
    assert rows[0].resolved_automatically and rows[0].status == "resolved"
    assert rows[1].is_open and rows[1].count == 1


def test_an_alert_resolved_between_read_and_count_is_not_counted_on(app, monkeypatch):
    """Another process resolves the alert after this one read it as open: the
    count goes to a new alert, not to the resolved one."""
    stale = raise_alert("x", "one", subject="s")
    AlertRepository().resolve(stale.id, None, utcnow())
    db.session.commit()
    original = AlertRepository.open_for
    reads = iter([stale])
    monkeypatch.setattr(AlertRepository, "open_for",
                        lambda self, kind, subject: next(reads, None) or original(self, kind, subject))
    again = raise_alert("x", "two", subject="s")
    assert again.id != stale.id
    assert [(a.count, a.is_open) for a in alert_rows()] == [(1, False), (1, True)]


# -- routing by severity and the email rate limit -------------------------------------------
def test_a_critical_alert_emails_every_admin_and_a_warning_or_info_emails_nobody(app, outbox):
    UserFactory(email="boss@reactfasttraining.co.uk", role=Role.ADMIN)
    UserFactory(email="office@reactfasttraining.co.uk", role=Role.ADMIN)
    UserFactory(email="trainer@reactfasttraining.co.uk", role=Role.TRAINER)
    raise_alert("low_seats", "Only 2 left", severity=Severity.WARNING)
    raise_alert("fully_booked", "Full", severity=Severity.INFO)
    deliver_all()
    assert outbox == []
    raise_alert("payments.refund_failed", "Refund of £60.00 owed to Jane Smith failed",
                severity=Severity.CRITICAL, subject="refund:1")
    deliver_all()
    (message,) = outbox
    assert sorted(message.to) == ["boss@reactfasttraining.co.uk",
                                  "office@reactfasttraining.co.uk"]
    assert message.subject == "[Critical] Refund failed: Refund of £60.00 owed to Jane Smith failed"


@pytest.mark.parametrize("app_config", [{"ALERT_EMAILS_PER_HOUR": 2,
                                         "ALERT_EMAIL_INTERVAL_MINUTES": 30}])
def test_alert_emails_are_limited_per_rule_and_subject_and_per_hour(app, outbox):
    UserFactory(email="boss@reactfasttraining.co.uk", role=Role.ADMIN)

    def send(subject: str) -> int:
        raise_alert("database_errors", f"Database down ({subject})",
                    severity=Severity.CRITICAL, subject=subject)
        deliver_all()
        return len(outbox)

    def age_emails(minutes: int) -> None:
        for row in db.session.scalars(select(AlertEmail)):
            row.created_at -= timedelta(minutes=minutes)
        db.session.execute(update(Alert).values(first_seen_at=utcnow() - timedelta(hours=2)))
        db.session.commit()

    assert send("a") == 1
    alerts.resolve_alert("database_errors", "a")
    assert send("a") == 1      # a new alert, same rule and subject, within 30 minutes
    age_emails(31)
    assert send("a") == 2      # the interval has passed
    assert send("b") == 2      # another subject, but two emails in the last hour already
    age_emails(61)
    assert send("b") == 3
    assert db.session.scalar(select(func.count()).select_from(AlertEmail)) == 3


def test_repeats_of_an_open_critical_alert_within_the_interval_record_no_event(app):
    UserFactory(role=Role.ADMIN)
    for _ in range(5):
        raise_alert("error_rate", "Errors", severity=Severity.CRITICAL)
    deliver_all()
    for _ in range(5):
        raise_alert("error_rate", "Errors", severity=Severity.CRITICAL)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
    assert alert_rows()[0].count == 10


def test_a_granted_email_is_granted_again_when_its_delivery_is_retried(app):
    alert = raise_alert("error_rate", "Errors", severity=Severity.CRITICAL)
    assert alerts.claim_alert_email(41, alert.id) is not None
    assert alerts.claim_alert_email(41, alert.id) is not None  # the same event, retried
    assert alerts.claim_alert_email(42, alert.id) is None      # another event: rate limited


# -- messages for an office ------------------------------------------------------------------
def test_a_refund_alert_names_person_course_date_and_town_in_pounds(app):
    course = CourseFactory(title="Emergency First Aid at Work")
    session = SessionFactory(course=course, venue=VenueFactory(town="Bradford"),
                             starts_at=datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc))
    booking = BookingFactory(session=session, contact_name="Jane Smith", amount_pence=6000,
                             reference="TX4ABCDEFG")
    with unit_of_work():
        refunds.create_refund_row(booking, None, 6000, reason=refunds.REASON_ADMIN)
    (alert,) = alert_rows()
    assert alert.message.startswith(
        "Refund of £60.00 owed to Jane Smith for Emergency First Aid at Work, Tue 8 Dec 2026, "
        "Bradford (booking TX4ABCDEFG).")
    assert alert.title == "Refund to pay by bank transfer"
    assert "pence" not in alert.message and "6000" not in alert.message
    assert not re.search(rf"\b{session.id}\b", alert.message.replace("2026", ""))


def test_a_dead_letter_message_says_what_failed_for_whom_without_internal_ids():
    message = alerts.dead_letter_message(
        "email.booking_confirmed", "BookingConfirmed", "TX4ABCDEFG", 8,
        "Traceback (most recent call last):\n  ...\nSMTPServerDisconnected: gone\n")
    assert message == (
        "The booking confirmed email for booking TX4ABCDEFG could not be completed after 8 "
        "attempts (SMTPServerDisconnected: gone). Fix the cause, then replay it from the "
        "dead-letter list.")


def test_every_alert_raised_in_the_code_is_written_without_pence_or_dedupe_keys():
    """A guard over the callers: each passes a subject, none words money in pence."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    calls = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        calls += [(path.name, m.group(0)) for m in
                  re.finditer(r"raise_alert\((?:[^()]|\([^()]*\))*\)", text)
                  if "def raise_alert" not in text[max(0, m.start() - 4):m.start()]]
    assert len(calls) >= 10
    for name, call in calls:
        assert "pence" not in call.replace("_pence", ""), name
        assert "dedupe_key" not in call, name
