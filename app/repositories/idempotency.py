"""Stored first answers to API requests sent with an Idempotency-Key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from app.models import IdempotencyRecord
from app.repositories.base import Repository


class IdempotencyRepository(Repository[IdempotencyRecord]):
    model = IdempotencyRecord

    def get_by_key(self, key: str) -> IdempotencyRecord | None:
        return self.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))

    def purge_older_than(self, cutoff: datetime) -> int:
        result = self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
        return result.rowcount
