"""The Alembic chain alone builds the schema the models describe, on both backends."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db


def schema_differences():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


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
