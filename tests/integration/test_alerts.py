"""Alerts are recorded once per condition and announced as events."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, OutboxEvent, Severity
from app.services.core import events
from app.services.core.alerts import open_alerts, raise_alert


def test_alert_is_stored_and_announced(app):
    alert = raise_alert("late_refund", "Refund for ABC failed", severity=Severity.CRITICAL)
    assert alert.id and open_alerts()[0].message == "Refund for ABC failed"
    event = db.session.scalars(select(OutboxEvent)).one()
    assert event.event_type == events.ALERT_RAISED and event.payload["severity"] == "critical"


def test_same_dedupe_key_raises_one_alert(app):
    assert raise_alert("low_seats", "Only 2 left", dedupe_key="low:1:2") is not None
    assert raise_alert("low_seats", "Only 2 left", dedupe_key="low:1:2") is None
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1
