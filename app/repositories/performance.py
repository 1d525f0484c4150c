"""What the database says about its own performance, for the monitoring page.

PostgreSQL: the views of migration 0011 (perf_slow_statements,
perf_table_usage, perf_index_usage, perf_database_activity). SQLite: its
pragmas and plain row counts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import text

from app.repositories.base import Repository

PERFORMANCE_VIEWS = ("perf_slow_statements", "perf_table_usage", "perf_index_usage",
                     "perf_database_activity")

# What pg_stat_statements can say: enabled, or why not.
STATEMENTS_ENABLED = "enabled"
STATEMENTS_NOT_INSTALLED = "not_installed"   # no CREATE EXTENSION in this database
STATEMENTS_NOT_LOADED = "not_loaded"         # not in shared_preload_libraries


@dataclass(frozen=True)
class SqliteFacts:
    version: str
    journal_mode: str
    page_size: int
    page_count: int
    freelist_count: int
    file_bytes: int | None
    wal_bytes: int | None

    @property
    def database_bytes(self) -> int:
        return self.page_size * self.page_count


class PerformanceRepository(Repository):
    # -- PostgreSQL ------------------------------------------------------------------------
    def missing_views(self) -> list[str]:
        """The performance views not in the database (0011 not applied yet)."""
        return [name for name in PERFORMANCE_VIEWS
                if self.session.scalar(text("SELECT to_regclass(:name) IS NULL"),
                                       {"name": name})]

    def statements_state(self) -> str:
        """Whether pg_stat_statements is installed here and loaded by the server."""
        installed = self.session.scalar(text(
            "SELECT count(*) FROM pg_extension WHERE extname = :name"),
            {"name": "pg_stat_statements"})
        if not installed:
            return STATEMENTS_NOT_INSTALLED
        libraries = self.session.scalar(text("SELECT current_setting(:name)"),
                                        {"name": "shared_preload_libraries"}) or ""
        loaded = "pg_stat_statements" in {lib.strip().strip('"') for lib in libraries.split(",")}
        return STATEMENTS_ENABLED if loaded else STATEMENTS_NOT_LOADED

    def slow_statements(self, limit: int = 10) -> list:
        """Statements of this database by mean time, slowest first."""
        return list(self.session.execute(text(
            "SELECT query, calls, total_ms, mean_ms, max_ms, rows, cache_hit_ratio "
            "FROM perf_slow_statements ORDER BY mean_ms DESC LIMIT :limit"),
            {"limit": limit}))

    def table_usage(self) -> list:
        """Tables by total size, largest first."""
        return list(self.session.execute(text(
            "SELECT * FROM perf_table_usage ORDER BY total_bytes DESC, table_name")))

    def index_usage(self) -> list:
        return list(self.session.execute(text(
            "SELECT * FROM perf_index_usage ORDER BY table_name, idx_scan DESC, index_name")))

    def database_activity(self):
        return self.session.execute(text("SELECT * FROM perf_database_activity")).first()

    # -- SQLite ----------------------------------------------------------------------------
    def sqlite_facts(self) -> SqliteFacts:
        def pragma(name: str):
            return self.session.execute(text(f"PRAGMA {name}")).scalar()

        path = next((row[2] for row in self.session.execute(text("PRAGMA database_list"))
                     if row[1] == "main"), "")
        return SqliteFacts(
            version=self.session.scalar(text("SELECT sqlite_version()")),
            journal_mode=str(pragma("journal_mode")),
            page_size=int(pragma("page_size")),
            page_count=int(pragma("page_count")),
            freelist_count=int(pragma("freelist_count")),
            file_bytes=_size(path), wal_bytes=_size(f"{path}-wal") if path else None)

    def sqlite_row_counts(self) -> list[tuple[str, int]]:
        """Every table and its rows (SQLite keeps no statistics to estimate from)."""
        names = [name for name in self.session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = :type ORDER BY name"), {"type": "table"})
            if not name.startswith("sqlite_")]
        quoted = ['"' + name.replace('"', '""') + '"' for name in names]
        return [(name, int(self.session.scalar(text(f"SELECT count(*) FROM {q}"))))
                for name, q in zip(names, quoted)]


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if path else None
    except OSError:
        return None


__all__ = ["PERFORMANCE_VIEWS", "PerformanceRepository", "SqliteFacts", "STATEMENTS_ENABLED",
           "STATEMENTS_NOT_INSTALLED", "STATEMENTS_NOT_LOADED"]
