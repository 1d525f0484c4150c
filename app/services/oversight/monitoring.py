"""The admin monitoring page's figures, assembled in one call.

Health and breakers come from the readiness probe (the same checks as
`/health/ready`), traffic from the shared traffic window (every process's
requests), alerts from the alerts table, WebSocket connections from the
Prometheus gauge (summed over processes in multiprocess mode), and database
performance from PostgreSQL's statistics views (migration 0011) or, on
SQLite, from what SQLite can say about itself.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from app.models import Alert, utcnow
from app.repositories.performance import (
    STATEMENTS_ENABLED, PerformanceRepository, SqliteFacts,
)
from app.services.core import alerts
from app.services.oversight.traffic import TrafficSummary, traffic_summary

WINDOWS = (("Last 15 minutes", timedelta(minutes=15)), ("Last hour", timedelta(hours=1)))


class ReadinessProbe(Protocol):
    """app.monitoring.health.HealthProbe, as far as this page needs it."""

    def readiness(self, now: datetime | None = None): ...


@dataclass(frozen=True)
class TrafficWindow:
    label: str
    summary: TrafficSummary


@dataclass(frozen=True)
class DatabaseReport:
    backend: str
    # PostgreSQL
    missing_views: list[str] = field(default_factory=list)
    statements_state: str | None = None
    slow_statements: list = field(default_factory=list)
    table_usage: list = field(default_factory=list)
    index_usage: list = field(default_factory=list)
    activity: object | None = None
    # SQLite
    sqlite: SqliteFacts | None = None
    row_counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def statements_enabled(self) -> bool:
        return self.statements_state == STATEMENTS_ENABLED


@dataclass(frozen=True)
class MonitoringOverview:
    checked_at: datetime
    health: object                      # app.monitoring.health.Readiness
    traffic: list[TrafficWindow]
    alerts: list[Alert]
    websocket_connections: int | None
    database: DatabaseReport

    @property
    def checks(self) -> dict[str, dict]:
        return self.health.checks

    @property
    def breakers(self) -> dict[str, str]:
        return self.checks.get("breakers", {}).get("states", {})

    @property
    def outbox(self) -> dict:
        return self.checks.get("outbox", {})


def monitoring_overview(probe: ReadinessProbe, *, now: datetime | None = None,
                        slow_statement_limit: int = 10,
                        windows: Sequence[tuple[str, timedelta]] = WINDOWS) -> MonitoringOverview:
    """Everything the monitoring page shows, read now."""
    now = now or utcnow()
    return MonitoringOverview(
        checked_at=now,
        health=probe.readiness(now),
        traffic=[TrafficWindow(label, traffic_summary(now - span, now)) for label, span in windows],
        alerts=alerts.open_alerts(),
        websocket_connections=websocket_connections(),
        database=database_report(slow_statement_limit),
    )


def websocket_connections() -> int | None:
    """Open WebSockets: the `websocket_connections` gauge, summed over every live
    process when prometheus-client runs in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    from app.monitoring import metrics  # noqa: F401  (defines the gauge)

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        value = registry.get_sample_value("websocket_connections")
        return int(value or 0)  # no file yet: no process has opened one
    value = REGISTRY.get_sample_value("websocket_connections")
    return None if value is None else int(value)


def database_report(slow_statement_limit: int = 10) -> DatabaseReport:
    repo = PerformanceRepository()
    backend = repo.dialect_name
    if backend == "sqlite":
        return DatabaseReport(backend, sqlite=repo.sqlite_facts(),
                              row_counts=repo.sqlite_row_counts())
    if backend != "postgresql":
        return DatabaseReport(backend)
    missing = repo.missing_views()
    if missing:
        return DatabaseReport(backend, missing_views=missing)
    state = repo.statements_state()
    return DatabaseReport(
        backend, statements_state=state,
        slow_statements=(repo.slow_statements(slow_statement_limit)
                         if state == STATEMENTS_ENABLED else []),
        table_usage=repo.table_usage(), index_usage=repo.index_usage(),
        activity=repo.database_activity())
