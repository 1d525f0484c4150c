"""The Alembic chain alone builds the schema the models describe, on both backends."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db


def schema_differences():
    with db.engine.connect() as conn:
        opts = {"compare_type": True}
        if conn.dialect.name == "postgresql":
            opts["include_object"] = not_a_materialized_view
        context = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(context, db.metadata)


def not_a_materialized_view(obj, name, type_, reflected, compare_to):
    """The analytics facts are materialized views on PostgreSQL, which schema
    comparison does not see: test_analytics_facts_are_materialized_views checks them."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or not table.info.get("materialized_view")


def test_migrations_build_exactly_the_models_schema(app):
    assert schema_differences() == []


def test_downgrade_to_base_then_upgrade_restores_the_schema(app):
    downgrade(revision="base")
    db.engine.dispose()
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    db.engine.dispose()
    assert schema_differences() == []


def test_partial_indexes_exist_for_active_holds_and_upcoming_sessions(app):
    inspector = inspect(db.engine)
    booking_indexes = {ix["name"] for ix in inspector.get_indexes("bookings")}
    session_indexes = {ix["name"] for ix in inspector.get_indexes("course_sessions")}
    assert {"ix_bookings_active_holds", "ix_bookings_session_id_status",
            "ix_bookings_contact_email"} <= booking_indexes
    assert {"ix_course_sessions_upcoming", "ix_course_sessions_course_id_starts_at"} <= session_indexes


def test_analytics_facts_are_materialized_views_with_unique_keys_on_postgresql(app, backend):
    from sqlalchemy import text

    facts = {"analytics_booking_facts": "booking_id", "analytics_session_facts": "session_id",
             "analytics_refund_facts": "refund_id"}
    if backend == "sqlite":
        assert set(facts) <= set(inspect(db.engine).get_table_names())
        return
    with db.engine.connect() as conn:
        views = set(conn.scalars(text("SELECT matviewname FROM pg_matviews")))
        unique = {(row.tablename, row.indexdef.split("(")[-1].rstrip(")"))
                  for row in conn.execute(text(
                      "SELECT tablename, indexdef FROM pg_indexes "
                      "WHERE indexdef LIKE 'CREATE UNIQUE INDEX%'"))}
    assert set(facts) <= views
    assert set(facts.items()) <= unique
