"""Admin: what has been happening. The activity feed (audit entries and alerts,
searchable, in words), alerts and their acknowledgement and resolution, dead-lettered outbox
deliveries and their replay, and the dashboard's summary of today."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from app.models import Alert, AuditLog, OutboxDelivery, utcnow
from app.repositories import Page, unit_of_work
from app.repositories.admin import AdminAlertRepository
from app.repositories.alerts import AlertRepository
from app.services.background import dispatcher
from app.services.bookings import office
from app.services.catalogue import timetable
from app.services.core.audit import record_audit, search_audit
from app.services.core.errors import NotFound
from app.services.core.inputs import DEFAULT_PER_PAGE
from app.services.core.readable import ActivityEntry, describe_entries
from app.validation.filters import ActivityFilters, activity_filters_from_query

ENTITY_TYPES = {"": "Everything", "booking": "Bookings", "session": "Sessions",
                "course": "Courses", "venue": "Venues", "user": "Trainers",
                "waitlist": "Waiting lists", "alert": "Alerts", "outbox": "Events"}


# -- activity feed --------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityFeed:
    filters: ActivityFilters
    entries: Page[AuditLog]
    alerts: list[Alert]
    problems: dict[str, str] = field(default_factory=dict)
    # `entries` in words (readable.ActivityEntry), for the page.
    rows: list[ActivityEntry] = field(default_factory=list)


def activity_feed(params: Mapping, *, per_page: int = DEFAULT_PER_PAGE) -> ActivityFeed:
    """Audit entries, newest first, searchable by action or record id (search_audit),
    with the alerts matching the same text alongside; each entry also in words."""
    filters, problems = activity_filters_from_query(params, entity_types=ENTITY_TYPES)
    entries = search_audit(entity_type=filters.entity_type or None, text=filters.text or None,
                           page=filters.page, per_page=per_page)
    alerts_repo = AdminAlertRepository()
    alerts: list[Alert] = []
    if not filters.entity_type or filters.entity_type == "alert":
        alerts = alerts_repo.rows(alerts_repo.search(text=filters.text or None), limit=20)
    return ActivityFeed(filters=filters, entries=entries, alerts=alerts, problems=problems,
                        rows=describe_entries(entries.items))


# -- alerts ------------------------------------------------------------------------------
def list_alerts(*, open_only: bool = True, page: int = 1,
                per_page: int = DEFAULT_PER_PAGE) -> Page[Alert]:
    """Open (unresolved) alerts, or all of them, open and worst first."""
    repo = AdminAlertRepository()
    return repo.paginate(repo.search(open_only=open_only), page=page, per_page=per_page)


def _alert(repo: AdminAlertRepository, alert_id: int) -> Alert:
    alert = repo.get(alert_id)
    if alert is None:
        raise NotFound("We could not find that alert.")
    return alert


def acknowledge_alert(actor_id: int, alert_id: int, *, now: datetime | None = None) -> Alert:
    """Mark an open alert as seen (someone is on it); acknowledging twice, or a
    resolved alert, changes nothing."""
    now = now or utcnow()
    repo = AdminAlertRepository()
    with unit_of_work():
        alert = _alert(repo, alert_id)
        if repo.acknowledge(alert_id, actor_id, now):
            record_audit(actor_id, "alert.acknowledge", "alert", alert_id,
                         before={"acknowledged_at": None},
                         after={"acknowledged_at": now.isoformat()})
        repo.refresh(alert)
    return alert


def resolve_alert(actor_id: int, alert_id: int, *, now: datetime | None = None) -> Alert:
    """Close an alert by hand (the problem is dealt with); resolving twice changes
    nothing. If the condition happens again, a new alert opens."""
    now = now or utcnow()
    repo = AlertRepository()
    with unit_of_work():
        alert = _alert(AdminAlertRepository(), alert_id)
        if repo.resolve(alert_id, actor_id, now):
            record_audit(actor_id, "alert.resolve", "alert", alert_id,
                         before={"resolved_at": None}, after={"resolved_at": now.isoformat()})
        repo.refresh(alert)
    return alert


# -- dead letters --------------------------------------------------------------------------
def dead_letters(limit: int = 200) -> list[OutboxDelivery]:
    """Deliveries that ran out of attempts, newest first (the dispatcher's list)."""
    return dispatcher.dead_letters(limit)


def replay_dead_letters(actor_id: int, delivery_ids: list[int] | None, *,
                        now: datetime | None = None) -> int:
    """Queue dead deliveries (these, or all with None) again with fresh attempts
    (dispatcher.replay_dead); handlers are idempotent, so a replay is safe."""
    count = dispatcher.replay_dead(delivery_ids, now=now)
    if count:
        with unit_of_work():
            record_audit(actor_id, "outbox.replay", "outbox",
                         "all" if delivery_ids is None else ",".join(map(str, delivery_ids))[:64],
                         after={"replayed": count})
    return count


# -- dashboard -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dashboard:
    todays_sessions: list
    open_alerts: list[Alert]
    open_alert_count: int
    recent_bookings: list
    dead_letter_count: int


def dashboard(*, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    repo = AdminAlertRepository()
    return Dashboard(
        todays_sessions=timetable.todays_sessions(now=now),
        open_alerts=repo.rows(repo.search(open_only=True), limit=10),
        open_alert_count=repo.open_count(),
        recent_bookings=office.recent_bookings(10),
        dead_letter_count=dispatcher.delivery_counts().get("dead", 0),
    )
