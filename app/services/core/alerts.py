"""Alerts for administrators: stored once per rule and subject while open, routed
by severity.

`raise_alert(kind, message, subject=...)` opens an alert for (kind, subject),
or, while one is open, counts another occurrence on it (``count``,
``last_seen_at``, the latest message and severity). A unique partial index
keeps one open row per (kind, subject) whatever the number of processes: the
loser of a race to open it gets a unique violation inside a savepoint, re-reads
and counts on the winner's row. A resolved alert stays as history; the next
occurrence opens a new one.

Routing: every new alert, and a repeat of a critical one that has not been
emailed for ALERT_EMAIL_INTERVAL_MINUTES, records an AlertRaised event. Its
email handler (app.services.messaging.notifications) emails critical alerts
to the administrators through `claim_alert_email`, which lets at most one email
per rule and subject through per interval and at most ALERT_EMAILS_PER_HOUR in
any sliding hour, counting rows in ``alert_emails`` (shared by every process).
Warning and info alerts only appear on the dashboard and the alerts page.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.models import Alert, AlertEmail, Booking, Severity, utcnow
from app.repositories import unit_of_work
from app.repositories.alerts import AlertRepository
from app.services.core import events
from app.services.core.installed import Installed
from app.services.core.ukformat import session_label

# A raise that keeps losing races (opened and resolved by others in between) gives up.
_ATTEMPTS = 5


@dataclass(frozen=True)
class AlertSettings:
    email_interval: timedelta = timedelta(minutes=30)   # ALERT_EMAIL_INTERVAL_MINUTES
    emails_per_hour: int = 10                           # ALERT_EMAILS_PER_HOUR

    @classmethod
    def from_config(cls, config: Mapping) -> "AlertSettings":
        return cls(
            email_interval=timedelta(minutes=float(config.get(
                "ALERT_EMAIL_INTERVAL_MINUTES", cls.email_interval.total_seconds() / 60))),
            emails_per_hour=int(config.get("ALERT_EMAILS_PER_HOUR", cls.emails_per_hour)))


_installed: Installed[AlertSettings] = Installed("alert settings")


def install(settings: AlertSettings) -> AlertSettings:
    return _installed.install(settings)


def current_settings() -> AlertSettings:
    """The installed settings (create_app installs them), else the defaults."""
    return _installed.get_or_none() or AlertSettings()


# -- raising and resolving -------------------------------------------------------------------
def raise_alert(kind: str, message: str, *, severity: Severity = Severity.WARNING,
                subject: str = "", now: datetime | None = None) -> Alert:
    """Record an occurrence of `kind` about `subject` in the caller's transaction
    (or a new one) and return its open alert: a new one, or the open one with
    its count raised. A savepoint keeps a lost race from spoiling the caller's
    transaction."""
    now = now or utcnow()
    subject = subject[:200]
    repo = AlertRepository()
    with unit_of_work() as session:
        for _ in range(_ATTEMPTS):
            alert = repo.open_for(kind, subject)
            if alert is not None:
                if repo.bump(alert.id, message=message, severity=severity, now=now):
                    repo.refresh(alert)
                    if severity == Severity.CRITICAL and _email_due(alert, now):
                        _announce(alert)
                    return alert
                continue  # resolved meanwhile: open a new one
            try:
                with session.begin_nested():
                    alert = repo.add(Alert(kind=kind, subject=subject, message=message,
                                           severity=severity, count=1, created_at=now,
                                           first_seen_at=now, last_seen_at=now))
            except IntegrityError:
                continue  # another process opened it first: count on theirs
            _announce(alert)
            return alert
    raise RuntimeError(f"could not record alert {kind} {subject!r}: too many concurrent changes")


def resolve_alert(kind: str, subject: str = "", *, now: datetime | None = None) -> bool:
    """Resolve the open alert of `kind` and `subject` by itself (its condition
    cleared); False if none was open."""
    return resolve_alerts((kind,), subject, now=now) > 0


def resolve_alerts(kinds: tuple[str, ...], subject: str = "", *,
                   now: datetime | None = None) -> int:
    """Resolve by themselves the open alerts of any of `kinds` about `subject`, found
    with one query; how many were open."""
    repo = AlertRepository()
    with unit_of_work():
        return sum(repo.resolve(alert.id, None, now or utcnow())
                   for alert in repo.open_for_kinds(tuple(kinds), subject[:200]))


def open_alerts(limit: int = 50) -> list[Alert]:
    return AlertRepository().open_alerts(limit)


def _email_due(alert: Alert, now: datetime) -> bool:
    """A repeat of a critical alert is worth an event only when the rate limit
    could let an email through: nothing emailed for this rule and subject, nor
    the alert opened (and announced), within the interval. Keeps a long outage
    from filling the outbox."""
    last = AlertRepository().last_email_at(alert.kind, alert.subject)
    latest = max(last, alert.first_seen_at) if last else alert.first_seen_at
    return latest <= now - current_settings().email_interval


def _announce(alert: Alert) -> None:
    events.record_event(events.ALERT_RAISED, alert.id, {
        "kind": alert.kind, "subject": alert.subject, "severity": alert.severity.value,
        "message": alert.message, "count": alert.count})


# -- the email rate limit ----------------------------------------------------------------------
def claim_alert_email(event_id: int, alert_id: int, *, now: datetime | None = None,
                      settings: AlertSettings | None = None) -> Alert | None:
    """Decide whether the AlertRaised event `event_id` may email its alert; the
    alert if so, None if the rate limit holds it back (or the alert was resolved
    or deleted meanwhile). Once granted, a retry of the same event is granted
    again, so a failed send is retried rather than lost."""
    now = now or utcnow()
    settings = settings or current_settings()
    repo = AlertRepository()
    with unit_of_work():
        alert = repo.get(alert_id)
        if alert is None:
            return None
        if repo.email_for_event(event_id) is not None:
            return alert
        if not alert.is_open:
            return None
        repo.lock_alert_emails()
        granted = repo.add(AlertEmail(event_id=event_id, alert_id=alert.id, kind=alert.kind,
                                      subject=alert.subject, created_at=now))
        same = repo.emails_since(now - settings.email_interval, kind=alert.kind,
                                 subject=alert.subject, excluding=granted.id)
        in_hour = repo.emails_since(now - timedelta(hours=1), excluding=granted.id)
        if same or in_hour >= settings.emails_per_hour:
            repo.session.delete(granted)
            return None
    return alert


# -- messages shared by several raisers ---------------------------------------------------------
def describe_task(handler: str) -> str:
    """'the booking confirmed email' for the outbox handler "email.booking_confirmed"."""
    area, _, name = handler.partition(".")
    words = (name or area).replace("_", " ")
    return f"the {words} email" if area == "email" and name else f"the {words} task"


_BOOKING_EVENT_PREFIXES = ("Booking", "Hold", "Payment", "Refund", "LatePayment",
                           "Confirmation", "Certificate")


def dead_letter_message(handler: str, event_type: str, about: str, attempts: int,
                        error: str | None) -> str:
    """What an office needs to hear about an outbox delivery that gave up."""
    task = describe_task(handler)
    target = f" for booking {about}" if event_type.startswith(_BOOKING_EVENT_PREFIXES) else ""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    reason = f" ({lines[-1][:200]})" if lines else ""
    return (f"{task[:1].upper()}{task[1:]}{target} could not be completed after {attempts} "
            f"attempts{reason}. Fix the cause, then replay it from the dead-letter list.")


def booking_words(booking: Booking) -> str:
    """'Jane Smith for Emergency First Aid at Work, Tue 8 Dec 2026, Bradford (booking
    TX4A)': who and what a booking is, with the reference customers quote last."""
    course_session = booking.session
    label = session_label(course_session.course.title, course_session.starts_at,
                          course_session.venue.town)
    return f"{booking.contact_name} for {label} (booking {booking.reference})"
