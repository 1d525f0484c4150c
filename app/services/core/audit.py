"""The audit trail of staff changes: who, when, what, and the values before and after."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime

from app.models import AuditLog
from app.repositories import Page, unit_of_work
from app.repositories.audit import AuditRepository


def snapshot(obj: object, fields: Iterable[str]) -> dict:
    """The named attributes of `obj` as JSON-safe values, for before/after records."""
    values = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, (datetime, date)):
            value = value.isoformat()
        values[name] = value
    return values


def record_audit(actor_id: int | None, action: str, entity_type: str, entity_id: object, *,
                 before: dict | None = None, after: dict | None = None) -> AuditLog:
    """Add an audit entry in the caller's transaction (or a new one).

    Only the fields that changed are kept when both before and after are given.
    """
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    with unit_of_work():
        return AuditRepository().add(AuditLog(
            actor_id=actor_id, action=action, entity_type=entity_type,
            entity_id=str(entity_id), before=before, after=after))


def search_audit(*, entity_type: str | None = None, entity_id: object = None,
                 actor_id: int | None = None, text: str | None = None,
                 page: int = 1, per_page: int = 50) -> Page[AuditLog]:
    """Audit entries, newest first, filtered as asked."""
    repo = AuditRepository()
    stmt = repo.search(entity_type=entity_type,
                       entity_id=None if entity_id is None else str(entity_id),
                       actor_id=actor_id, text=text)
    return repo.paginate(stmt, page=page, per_page=per_page)
