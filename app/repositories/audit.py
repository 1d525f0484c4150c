"""The audit log."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.models import AuditLog
from app.repositories.base import Repository


class AuditRepository(Repository[AuditLog]):
    model = AuditLog

    def search(self, *, entity_type: str | None = None, entity_id: str | None = None,
               actor_id: int | None = None, text: str | None = None) -> Select:
        stmt = select(AuditLog)
        if entity_type:
            stmt = stmt.where(AuditLog.entity_type == entity_type)
        if entity_id:
            stmt = stmt.where(AuditLog.entity_id == str(entity_id))
        if actor_id:
            stmt = stmt.where(AuditLog.actor_id == actor_id)
        if text:
            like = f"%{text}%"
            stmt = stmt.where(or_(AuditLog.action.ilike(like), AuditLog.entity_id.ilike(like)))
        return stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
