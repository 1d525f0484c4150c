"""Counting the SQL statements a piece of work sends to the database.

A page whose statement count grows with the rows it shows (an N+1: one query per
row for a relationship) is slow in proportion to its data however fast each query
is. Tests open `count_statements()` (the fixture of that name in conftest) around a
request and compare counts for few and many rows.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Transaction control is not a query: it depends on how the work commits, not on rows.
_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT",
            "ROLLBACK")


class StatementLog(list):
    """The statements (SQL text) sent while the block ran, in order."""

    @property
    def count(self) -> int:
        return len(self)

    def describe(self) -> str:
        return "\n".join(f"{i}. {' '.join(sql.split())[:200]}" for i, sql in enumerate(self, 1))


@contextmanager
def statements_sent(engine: Engine) -> Iterator[StatementLog]:
    """Record every statement `engine` executes (executemany counts once) until the
    block ends, leaving out transaction control."""
    log = StatementLog()

    def note(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(_CONTROL):
            log.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", note)
