"""Outbox deliveries: claiming due ones without two workers taking the same row,
and recording how each attempt went."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update

from app.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from app.repositories.base import Repository


class OutboxDeliveryRepository(Repository[OutboxDelivery]):
    model = OutboxDelivery

    def _due(self, now: datetime):
        return (
            OutboxDelivery.status == DeliveryStatus.PENDING,
            OutboxDelivery.next_attempt_at <= now,
            or_(OutboxDelivery.locked_until.is_(None), OutboxDelivery.locked_until <= now),
        )

    def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Ids of deliveries due at `now`, oldest first.

        On PostgreSQL the rows are also locked FOR UPDATE SKIP LOCKED until the
        transaction ends, so concurrent claimers each get different rows and
        never wait for one another (SQLite has no SKIP LOCKED; its single writer
        lock serialises the leases instead).
        """
        stmt = (select(OutboxDelivery.id).where(*self._due(now))
                .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id).limit(limit))
        if self.dialect_name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt))

    def take_lease(self, delivery_id: int, *, worker: str, now: datetime,
                   until: datetime) -> bool:
        """Lease one delivery if it is still due and unleased; counts the attempt.

        The WHERE clause is re-checked under the write lock, so of two workers
        racing for a row exactly one gets rowcount 1.
        """
        result = self.session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id == delivery_id, *self._due(now))
            .values(locked_until=until, locked_by=worker, attempts=OutboxDelivery.attempts + 1,
                    updated_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def finish(self, delivery_id: int, *, worker: str, now: datetime, **values) -> bool:
        """Record an attempt's outcome, only if this worker still holds the lease."""
        result = self.session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id == delivery_id, OutboxDelivery.locked_by == worker,
                   OutboxDelivery.status == DeliveryStatus.PENDING)
            .values(locked_until=None, locked_by=None, updated_at=now, **values)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def dead(self, limit: int = 100) -> list[OutboxDelivery]:
        stmt = (select(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.DEAD)
                .order_by(OutboxDelivery.updated_at.desc()).limit(limit))
        return list(self.session.scalars(stmt).unique())

    def revive(self, delivery_ids: list[int] | None, now: datetime) -> int:
        """Put dead deliveries (all, or these ids) back in the queue with fresh attempts."""
        stmt = update(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.DEAD)
        if delivery_ids is not None:
            stmt = stmt.where(OutboxDelivery.id.in_(delivery_ids))
        result = self.session.execute(
            stmt.values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now,
                        locked_until=None, locked_by=None, updated_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def counts_by_status(self) -> dict[str, int]:
        stmt = select(OutboxDelivery.status, func.count()).group_by(OutboxDelivery.status)
        counts = {s.value: 0 for s in DeliveryStatus}
        counts.update({status.value: n for status, n in self.session.execute(stmt)})
        return counts

    def oldest_pending_created_at(self) -> datetime | None:
        """When the oldest event that still has a pending delivery was recorded."""
        stmt = (select(func.min(OutboxEvent.created_at))
                .join(OutboxDelivery, OutboxDelivery.event_id == OutboxEvent.id)
                .where(OutboxDelivery.status == DeliveryStatus.PENDING))
        return self.session.scalar(stmt)

    def event(self, event_id: int) -> OutboxEvent | None:
        return self.session.get(OutboxEvent, event_id)
