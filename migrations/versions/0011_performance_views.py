"""performance monitoring views

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

PostgreSQL only (SQLite has no statistics collector; the monitoring page asks
SQLite's pragmas instead). The views read PostgreSQL's statistics for the
admin monitoring page:

* perf_slow_statements: per-statement times from pg_stat_statements. That
  extension may be missing when this runs, and a view cannot name a relation
  that does not exist, so the view reads a plpgsql function that looks for
  pg_stat_statements each time it is called and returns no rows without it
  (or while it is installed but not in shared_preload_libraries). Enabling
  the extension later needs no new migration.
* perf_table_usage, perf_index_usage: scans, rows and sizes per table / index.
* perf_database_activity: connections, commits, rollbacks, cache hits,
  deadlocks and the longest open transaction of the current database.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

STATEMENT_STATS_FUNCTION = """
CREATE OR REPLACE FUNCTION perf_statement_stats()
RETURNS TABLE (queryid bigint, query text, calls bigint, total_ms double precision,
               mean_ms double precision, max_ms double precision, rows bigint,
               cache_hit_ratio double precision)
LANGUAGE plpgsql STABLE AS $body$
BEGIN
    IF to_regclass('pg_stat_statements') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT s.queryid, left(s.query, 2000), s.calls, s.total_exec_time, s.mean_exec_time,'
        '       s.max_exec_time, s.rows,'
        '       CASE WHEN s.shared_blks_hit + s.shared_blks_read = 0 THEN NULL'
        '            ELSE CAST(s.shared_blks_hit AS double precision)'
        '                 / (s.shared_blks_hit + s.shared_blks_read) END'
        '  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid'
        ' WHERE d.datname = current_database()';
EXCEPTION
    -- installed but not loaded (shared_preload_libraries), or a version without *_exec_time
    WHEN object_not_in_prerequisite_state OR undefined_column THEN
        RETURN;
END
$body$
"""

VIEWS = {
    "perf_slow_statements": "SELECT * FROM perf_statement_stats()",
    "perf_table_usage": """
        SELECT s.relname AS table_name, s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch,
               s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
               s.n_tup_ins AS rows_inserted, s.n_tup_upd AS rows_updated,
               s.n_tup_del AS rows_deleted, pg_total_relation_size(s.relid) AS total_bytes,
               GREATEST(s.last_vacuum, s.last_autovacuum) AS last_vacuumed_at,
               GREATEST(s.last_analyze, s.last_autoanalyze) AS last_analyzed_at
          FROM pg_stat_user_tables s
    """,
    "perf_index_usage": """
        SELECT s.relname AS table_name, s.indexrelname AS index_name, s.idx_scan,
               s.idx_tup_read, s.idx_tup_fetch, pg_relation_size(s.indexrelid) AS index_bytes,
               i.indisunique AS is_unique
          FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
    """,
    "perf_database_activity": """
        SELECT d.datname AS database_name, d.numbackends AS connections,
               (SELECT count(*) FROM pg_stat_activity a
                 WHERE a.datid = d.datid AND a.state = 'active') AS active_connections,
               (SELECT count(*) FROM pg_stat_activity a
                 WHERE a.datid = d.datid
                   AND a.state IN ('idle in transaction', 'idle in transaction (aborted)'))
                   AS idle_in_transaction,
               (SELECT EXTRACT(EPOCH FROM max(now() - a.xact_start)) FROM pg_stat_activity a
                 WHERE a.datid = d.datid AND a.xact_start IS NOT NULL)
                   AS longest_transaction_seconds,
               d.xact_commit AS commits, d.xact_rollback AS rollbacks,
               d.blks_hit, d.blks_read, d.deadlocks, d.temp_files, d.temp_bytes,
               pg_database_size(d.datid) AS database_bytes, d.stats_reset
          FROM pg_stat_database d
         WHERE d.datname = current_database()
    """,
}


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _is_postgresql():
        return
    op.execute(STATEMENT_STATS_FUNCTION)
    for name, query in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")


def downgrade():
    if not _is_postgresql():
        return
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS perf_statement_stats()")
