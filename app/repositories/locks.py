"""Row locks that serialise writers, all taken here.

A lock is an UPDATE of the row that guards the decision (a session's
``lock_version`` for its seats, a trainer's ``updated_at`` for their
timetable): PostgreSQL holds the row lock until commit, SQLite its single
writer lock. Like pretix's ``lock_objects``:

* keys are locked in ascending order, one UPDATE each, so two transactions
  that lock the same rows queue behind each other instead of deadlocking (an
  UPDATE ... WHERE id IN (...) locks rows in whatever order the plan visits
  them);
* a lock is taken only inside a `unit_of_work`: outside one, the next commit
  (or none at all) would end it before the decision it guards is written.

The order across kinds is sessions first, then users (see
app.services.catalogue.timetable).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import CourseSession, User
from app.repositories.base import in_unit_of_work


class LockOutsideTransaction(RuntimeError):
    """A lock was asked for outside a unit of work."""


def lock_rows(model: type, keys: Iterable[int], values: dict, *,
              session: Session | None = None) -> set[int]:
    """Lock the rows of `model` with these ids, in ascending order, by writing
    `values`; returns the ids that exist (and are now locked)."""
    session = session or db.session
    if not in_unit_of_work(session):
        raise LockOutsideTransaction(
            f"{model.__name__} rows must be locked inside a unit of work")
    locked = set()
    for key in sorted(set(keys)):
        result = session.execute(
            update(model).where(model.id == key).values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            locked.add(key)
    return locked


def lock_sessions(session_ids: Iterable[int], *, session: Session | None = None) -> bool:
    """Take the seat lock of each course session (the lock every hold, confirmation,
    cancellation, transfer and capacity change takes first). False if any is missing."""
    wanted = set(session_ids)
    return lock_rows(CourseSession, wanted,
                     {"lock_version": CourseSession.lock_version + 1},
                     session=session) == wanted


def lock_users(user_ids: Iterable[int], now: datetime, *, session: Session | None = None) -> bool:
    """Serialise changes to these staff members' timetables. False if any is missing."""
    wanted = set(user_ids)
    return lock_rows(User, wanted, {"updated_at": now}, session=session) == wanted


def lock_names(names: Iterable[str], *, session: Session | None = None) -> None:
    """Serialise the writers that decide about the same names (a client, an email
    address), in sorted order, until commit: PostgreSQL transaction-level advisory
    locks on a 64-bit digest of each name. On SQLite the transaction already holds the
    database's single writer lock (take a row lock first), so there is nothing to add."""
    session = session or db.session
    if not in_unit_of_work(session):
        raise LockOutsideTransaction("names must be locked inside a unit of work")
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        digest = hashlib.sha256(name.encode("utf-8")).digest()[:8]
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": int.from_bytes(digest, "big", signed=True)})
