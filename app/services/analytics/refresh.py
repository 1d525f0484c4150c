"""Bringing the stored facts up to date: scheduled, on demand, and from the CLI.

PostgreSQL: ``REFRESH MATERIALIZED VIEW CONCURRENTLY`` per view. It reads the
booking tables under MVCC (ACCESS SHARE: bookings are never blocked), builds
the new rows beside the old and merges them, holding only an EXCLUSIVE lock on
the view, which lets the analytics pages keep reading meanwhile; two refreshes
at once queue on that lock instead of failing. A plain (blocking) refresh is
there for the CLI's ``--blocking``: quicker on an idle database, but it locks
the pages out until it commits.

SQLite: the summary tables are emptied and refilled in one transaction, so a
reader sees the old facts or the new, never half (SQLite's single writer lock
makes bookings wait for it, under the busy timeout, for the few milliseconds it
takes).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import utcnow
from app.repositories import unit_of_work
from app.repositories.analytics import AnalyticsRepository


@dataclass(frozen=True)
class RefreshResult:
    refreshed_at: datetime
    backend: str
    concurrently: bool
    rows: dict[str, int]

    def as_dict(self) -> dict:
        return {"refreshed_at": self.refreshed_at.isoformat(), "backend": self.backend,
                "concurrently": self.concurrently, **self.rows}


def refresh_analytics(*, concurrently: bool = True, now: datetime | None = None) -> RefreshResult:
    """Rebuild every fact from the live tables and record the refresh. Its time,
    taken before the facts are read, is the "figures as of" time."""
    repo = AnalyticsRepository()
    refreshed_at = now or utcnow()
    with unit_of_work():
        backend = repo.dialect_name
        if backend == "postgresql":
            repo.refresh_materialized_views(concurrently=concurrently)
        else:
            concurrently = False
            repo.rebuild_summary_tables()
        counts = repo.fact_counts()
        repo.record_refresh(refreshed_at, concurrently=concurrently, counts=counts)
    return RefreshResult(refreshed_at, backend, concurrently, counts)


def refresh_now() -> RefreshResult:
    """The pages' "Refresh now": a concurrent refresh, safe while people book."""
    return refresh_analytics(concurrently=True)


def last_refreshed() -> datetime | None:
    """When the figures were last brought up to date; None if never."""
    repo = AnalyticsRepository()
    return repo.last_refreshed()
