"""The base repository: queries, pagination, batch writes, soft delete, raw SQL,
re-reading rows, and the unit of work that owns every transaction.

Repositories never commit. Services open a `unit_of_work()` around a use case;
it commits once at the end and rolls back on any exception. Services reach the
database session only through these two: a repository's methods and the unit
of work (row locks are in app.repositories.locks).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, event, func, insert, select, text, update
from sqlalchemy.engine import Result
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.types import utcnow

M = TypeVar("M")
T = TypeVar("T")

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and what is needed to link to the others."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@contextmanager
def unit_of_work(session: Session | None = None, *,
                 keep_loaded: bool = False) -> Iterator[Session]:
    """Run a block as one transaction: commit at the end, roll back on any exception.

    Scopes nest: only the outermost one commits, so a service can call another
    service's function inside its own transaction. `keep_loaded` keeps the rows as
    the block left them after the commit instead of re-reading them on next use:
    for a block that wrote them whole under a lock (a new hold) and returns them.
    """
    session = session or db.session
    depth = session.info.get("uow_depth", 0)
    session.info["uow_depth"] = depth + 1
    try:
        yield session
        if depth == 0:
            if keep_loaded:
                target = session if isinstance(session, Session) else session()
                target.expire_on_commit = False
                try:
                    target.commit()
                finally:
                    target.expire_on_commit = True
            else:
                session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info["uow_depth"] = depth


def in_unit_of_work(session: Session | None = None) -> bool:
    """True inside a `unit_of_work` block, whose outermost scope will commit."""
    return (session or db.session).info.get("uow_depth", 0) > 0


_WROTE = "transaction_wrote"


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writes(session: Session) -> None:
    session.info.pop(_WROTE, None)


def end_read_only_transaction() -> None:
    """COMMIT this thread's open transaction if it only read, before the session is
    closed (which would ROLLBACK it).

    The two end a read-only transaction alike, but psycopg forgets every prepared
    statement of the connection on ROLLBACK, so read requests ending that way
    would have PostgreSQL plan their queries afresh every time. A transaction
    that wrote anything (a flush, or any statement but a SELECT) is left alone:
    only a unit of work commits writes."""
    if not db.session.registry.has():
        return
    session = db.session()
    if session.in_transaction() and not session.info.get(_WROTE):
        try:
            session.commit()
        except SQLAlchemyError:
            session.rollback()  # nothing was written; the answer has been made


def release_session() -> None:
    """Close this thread's session and return its connection to the pool (for
    threads that run outside any request, such as the realtime broadcaster)."""
    db.session.remove()


_STRING_LITERAL = re.compile(r"'")


class Repository(Generic[M]):
    """Data access for one model. Subclasses set `model` and add named queries."""

    model: type[M]

    def __init__(self, session: Session | None = None):
        self._session = session

    @property
    def session(self) -> Session:
        return self._session or db.session

    @property
    def dialect_name(self) -> str:
        """The database's dialect, "postgresql" or "sqlite" (for the few statements
        the two need written differently)."""
        return self.session.get_bind().dialect.name

    # -- reading -----------------------------------------------------------
    @property
    def soft_deletes(self) -> bool:
        return hasattr(self.model, "deleted_at")

    def select(self, *, include_deleted: bool = False) -> Select:
        """The base SELECT for this model; soft-deleted rows are hidden unless asked for."""
        stmt = select(self.model)
        if self.soft_deletes and not include_deleted:
            stmt = stmt.where(self.model.deleted_at.is_(None))
        return stmt

    def get(self, id_: int, *, include_deleted: bool = False) -> M | None:
        obj = self.session.get(self.model, id_)
        if obj is not None and self.soft_deletes and not include_deleted and obj.deleted_at:
            return None
        return obj

    def get_fresh(self, id_: int, *, include_deleted: bool = False) -> M | None:
        """Like `get`, but read from the database even if this session has the row
        loaded already (after taking a lock, or when another transaction changed it)."""
        obj = self.session.get(self.model, id_, populate_existing=True)
        if obj is not None and self.soft_deletes and not include_deleted and obj.deleted_at:
            return None
        return obj

    def list(self, *where, order_by=None, include_deleted: bool = False) -> list[M]:
        stmt = self.select(include_deleted=include_deleted).where(*where)
        if order_by is not None:
            stmt = stmt.order_by(*(order_by if isinstance(order_by, (list, tuple)) else [order_by]))
        return list(self.session.scalars(stmt).unique())

    def rows(self, stmt: Select, *, limit: int | None = None) -> list:
        """Run a statement built by this repository (e.g. its `search`): every row,
        or the first `limit`."""
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self.session.scalars(stmt).unique())

    def paginate(self, stmt: Select, *, page: int = 1, per_page: int = 20) -> Page:
        """Run `stmt` for one page; `total` counts every matching row."""
        page = max(1, int(page))
        per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
        count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = self.session.scalar(count_stmt) or 0
        items = list(
            self.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique()
        )
        return Page(items=items, page=page, per_page=per_page, total=total)

    def refresh(self, obj: T, *more: object) -> T:
        """Re-read loaded rows from the database (after taking the lock that guards
        them); returns the first."""
        for row in (obj, *more):
            self.session.refresh(row)
        return obj

    def expire(self, obj: object, *attributes: str) -> None:
        """Forget loaded attributes (all, if none named), so the next access reloads
        them: e.g. a relationship whose foreign key was just changed."""
        self.session.expire(obj, list(attributes) or None)

    def end_read(self) -> None:
        """End (roll back) the transaction the session holds outside any unit of work
        (reads, or what a failed step left behind) and give back its connection:
        before a slow outside call (a payment provider request), so that no
        transaction stays open across it, or after a handler or job. Loaded rows are
        expired. Refused inside a unit of work, whose changes it would throw away."""
        if in_unit_of_work(self.session):
            raise RuntimeError("end_read() inside a unit of work would discard its changes")
        self.session.rollback()

    # -- writing -----------------------------------------------------------
    def add(self, obj: M) -> M:
        """Stage a new object and flush so it has its id."""
        self.session.add(obj)
        self.session.flush()
        return obj

    def flush(self) -> None:
        """Send the pending changes to the database now (inside the caller's transaction),
        so that the queries that follow see them."""
        self.session.flush()

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert many rows in one batched statement; returns how many."""
        if not rows:
            return 0
        self.session.execute(insert(self.model), list(rows))
        return len(rows)

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Update many rows by primary key in one batch; each row holds `id` and the new values."""
        if not rows:
            return 0
        self.session.execute(update(self.model), list(rows))
        return len(rows)

    def soft_delete(self, obj: M) -> None:
        if not self.soft_deletes:
            raise TypeError(f"{self.model.__name__} has no soft delete")
        obj.deleted_at = utcnow()
        self.session.flush()

    def restore(self, obj: M) -> None:
        if not self.soft_deletes:
            raise TypeError(f"{self.model.__name__} has no soft delete")
        obj.deleted_at = None
        self.session.flush()

    # -- raw SQL -----------------------------------------------------------
    def execute_sql(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run one SQL statement whose values all arrive as bound `:name` parameters.

        String literals and stacked statements are refused, so a value can never
        be pasted into the SQL text: it must come through `params`.
        """
        if _STRING_LITERAL.search(sql):
            raise ValueError("raw SQL must not contain string literals; bind values as :params")
        if ";" in sql.strip().rstrip(";"):
            raise ValueError("raw SQL must be a single statement")
        return self.session.execute(text(sql), dict(params or {}))
