"""Sent emails (one row per intended email) and scheduled job runs (one per slot)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update

from app.models import JobRun, SentEmail
from app.repositories.base import Repository


class SentEmailRepository(Repository[SentEmail]):
    model = SentEmail

    def get_by_key(self, dedupe_key: str) -> SentEmail | None:
        return self.session.scalar(select(SentEmail).where(SentEmail.dedupe_key == dedupe_key))

    def count_to(self, address: str, since: datetime, *, excluding_status: str) -> int:
        """Emails to `address` (letter case ignored) recorded since `since`, other than
        those with `excluding_status`."""
        stmt = select(func.count(SentEmail.id)).where(
            SentEmail.created_at >= since, SentEmail.status != excluding_status,
            func.lower(SentEmail.to_address) == address.strip().lower())
        return int(self.session.scalar(stmt))


class JobRunRepository(Repository[JobRun]):
    model = JobRun

    def get_run(self, job: str, slot: str) -> JobRun | None:
        return self.session.scalar(select(JobRun).where(JobRun.job == job, JobRun.slot == slot))

    def retake(self, job: str, slot: str, *, now: datetime, failed_before: datetime,
               stale_before: datetime) -> bool:
        """Take over a slot whose run failed a while ago or whose runner vanished."""
        result = self.session.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.slot == slot, or_(
                (JobRun.status == "failed") & (JobRun.finished_at <= failed_before),
                (JobRun.status == "running") & (JobRun.started_at <= stale_before)))
            .values(status="running", started_at=now, finished_at=None)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def recent(self, limit: int = 50) -> list[JobRun]:
        stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
        return list(self.session.scalars(stmt))
