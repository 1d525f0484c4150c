"""The traffic window: per-minute request figures added by every process, summed over windows."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.models.traffic import FIGURE_COLUMNS, TrafficMinute, traffic_minute_errors, traffic_minutes
from app.repositories.base import Repository

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class TrafficRepository(Repository[TrafficMinute]):
    model = TrafficMinute

    def _add(self, table, keys: Sequence[str], counters: Sequence[str],
             rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert each row, or add its counters to the row already there: one atomic
        statement per row on both databases, so concurrent writers never lose a count.
        Rows are written in key order so that two writers take row locks in the same
        order (no deadlock between flushes on PostgreSQL)."""
        if not rows:
            return
        stmt = _DIALECT_INSERT[self.dialect_name](table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: table.c[name] + stmt.excluded[name] for name in counters})
        ordered = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
        self.session.execute(stmt, ordered)

    def add_figures(self, rows: Sequence[Mapping[str, Any]],
                    error_rows: Sequence[Mapping[str, Any]]) -> None:
        """Add minute figures (keys minute, method, route and every FIGURE_COLUMNS name)
        and classified-error counts (minute, method, route, category, severity, count)."""
        self._add(traffic_minutes, ("minute", "method", "route"), FIGURE_COLUMNS, rows)
        self._add(traffic_minute_errors, ("minute", "method", "route", "category", "severity"),
                  ("count",), error_rows)

    def figures_by_route(self, first_minute: datetime, until: datetime) -> list:
        """Summed figures per (method, route) of the minutes starting in [first_minute, until)."""
        t = traffic_minutes.c
        stmt = (select(t.method, t.route,
                       *(func.sum(t[name]).label(name) for name in FIGURE_COLUMNS))
                .where(t.minute >= first_minute, t.minute < until)
                .group_by(t.method, t.route))
        return list(self.session.execute(stmt))

    def errors_by(self, column: str, first_minute: datetime, until: datetime) -> dict[str, int]:
        """Classified errors of the minutes in [first_minute, until) by category or severity."""
        e = traffic_minute_errors.c
        stmt = (select(e[column], func.sum(e["count"]))
                .where(e.minute >= first_minute, e.minute < until).group_by(e[column]))
        return {key: int(total) for key, total in self.session.execute(stmt) if total}

    def minute_rows(self) -> list:
        """Every stored minute row (tests and diagnostics)."""
        return list(self.session.execute(select(traffic_minutes)
                                         .order_by(*traffic_minutes.primary_key.columns)))

    def delete_before(self, cutoff: datetime) -> int:
        """Remove minutes that started before `cutoff`; returns how many minute rows went."""
        self.session.execute(delete(traffic_minute_errors)
                             .where(traffic_minute_errors.c.minute < cutoff))
        return self.session.execute(
            delete(traffic_minutes).where(traffic_minutes.c.minute < cutoff)).rowcount
