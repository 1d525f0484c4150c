"""Rows the admin portal edits by hand (courses, venues, staff accounts).

Each change is written in one transaction with its audit entry (the audited
fields before and after); soft-deleted rows keep their history and can be
restored. The tables differ only in their rules, so the domain modules keep
those and hand the writing to an `AuditedRecords`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.repositories import Page, unit_of_work
from app.repositories.base import Repository
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import NotFound
from app.validation import clean_text

M = TypeVar("M")


@dataclass(frozen=True)
class AuditedRecords(Generic[M]):
    """How one table's rows are read and changed by staff, with the audit trail."""

    repository: Callable[[], Repository[M]]
    entity_type: str              # the audit log's entity type ("course", "user")
    audited_fields: tuple[str, ...]
    not_found: str                # the message when an id is unknown
    action_prefix: str = ""       # audit actions are "<prefix>.<verb>"; default entity_type

    def search(self, *, text: str | None, include_deleted: bool, page: int,
               per_page: int) -> Page[M]:
        """The admin list: the repository's search (free text, deleted rows if asked)."""
        repo = self.repository()
        text = clean_text(text, field_label="search", max_length=100, required=False) if text else None
        return repo.paginate(repo.search(text=text, include_deleted=include_deleted),
                             page=page, per_page=per_page)

    def get(self, id_: int, *, include_deleted: bool = True) -> M:
        row = self.repository().get(id_, include_deleted=include_deleted)
        if row is None:
            raise NotFound(self.not_found)
        return row

    def record(self, actor_id: int, verb: str, row: M, *, before: dict | None = None) -> None:
        """Audit `verb` on `row` (its audited fields now, and `before` if given)."""
        record_audit(actor_id, f"{self.action_prefix or self.entity_type}.{verb}",
                     self.entity_type, row.id, before=before,
                     after=snapshot(row, self.audited_fields))

    def create(self, actor_id: int, row: M) -> M:
        with unit_of_work():
            self.repository().add(row)
            self.record(actor_id, "create", row)
        return row

    def change(self, actor_id: int, id_: int, verb: str, apply: Callable[[M], Any], *,
               unless: Callable[[M], bool] | None = None,
               check: Callable[[M], None] | None = None) -> M:
        """Load the row, `apply` the change and audit it as `verb`, all in one
        transaction. Nothing happens (and nothing is audited) when `unless(row)`
        holds already; `check(row)` may refuse by raising."""
        repo = self.repository()
        with unit_of_work():
            row = self.get(id_)
            if unless is not None and unless(row):
                return row
            if check is not None:
                check(row)
            before = snapshot(row, self.audited_fields)
            apply(row)
            repo.flush()
            self.record(actor_id, verb, row, before=before)
        return row

    def update(self, actor_id: int, id_: int, values: Mapping[str, Any], *,
               check: Callable[[M], None] | None = None) -> M:
        """Set `values` on the row; `check(row)`, given the row as it was, may refuse."""
        def assign(row: M) -> None:
            for name, value in values.items():
                setattr(row, name, value)
        return self.change(actor_id, id_, "update", assign, check=check)

    def soft_delete(self, actor_id: int, id_: int, *,
                    check: Callable[[M], None] | None = None) -> M:
        """Hide the row everywhere but the admin pages (restorable); a no-op when it
        is deleted already."""
        return self.change(actor_id, id_, "delete", self.repository().soft_delete,
                           unless=lambda row: row.is_deleted, check=check)

    def restore(self, actor_id: int, id_: int) -> M:
        return self.change(actor_id, id_, "restore", self.repository().restore,
                           unless=lambda row: not row.is_deleted)

