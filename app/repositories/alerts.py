"""Alerts for administrators."""
from __future__ import annotations

from sqlalchemy import select

from app.models import Alert
from app.repositories.base import Repository


class AlertRepository(Repository[Alert]):
    model = Alert

    def get_by_dedupe_key(self, key: str) -> Alert | None:
        return self.session.scalar(select(Alert).where(Alert.dedupe_key == key))

    def open_alerts(self, limit: int = 50) -> list[Alert]:
        stmt = (select(Alert).where(Alert.acknowledged_at.is_(None))
                .order_by(Alert.created_at.desc()).limit(limit))
        return list(self.session.scalars(stmt))
