"""Raising alerts for administrators. An alert is a row (shown in the admin
pages) plus an AlertRaised event (which notifications turn into an email)."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.models import Alert, Severity
from app.repositories import unit_of_work
from app.repositories.alerts import AlertRepository
from app.services.core import events


def raise_alert(kind: str, message: str, *, severity: Severity = Severity.WARNING,
                dedupe_key: str | None = None) -> Alert | None:
    """Record an alert in the caller's transaction (or a new one).

    With a `dedupe_key`, the same condition raises one alert only: a repeat
    returns None. A savepoint keeps a duplicate from spoiling the caller's
    transaction.
    """
    repo = AlertRepository()
    if dedupe_key and repo.get_by_dedupe_key(dedupe_key) is not None:
        return None
    with unit_of_work() as session:
        try:
            with session.begin_nested():
                alert = repo.add(Alert(kind=kind, message=message, severity=severity,
                                       dedupe_key=dedupe_key))
        except IntegrityError:
            return None
        events.record_event(events.ALERT_RAISED, alert.id, {
            "kind": kind, "severity": severity.value, "message": message})
    return alert


def open_alerts(limit: int = 50) -> list[Alert]:
    return AlertRepository().open_alerts(limit)
