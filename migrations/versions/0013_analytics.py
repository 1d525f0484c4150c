"""analytics: materialized views on PostgreSQL, summary tables on SQLite

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

The analytics facts (one row per booking, per session, per succeeded refund)
and the record of their refreshes. PostgreSQL: materialized views, each with
a unique index on its key so ``REFRESH MATERIALIZED VIEW CONCURRENTLY`` can
run while the pages read them. SQLite: plain tables of the same columns,
rebuilt by the refresh job. The SELECTs are a frozen copy of those in
app.repositories.analytics (a test checks they still agree; a change there
needs a new migration that re-creates the views).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BOOKING_FACTS_SQL = """
SELECT b.id AS booking_id, b.session_id, s.course_id, s.venue_id,
       c.title AS course_title, v.name AS venue_name, v.town,
       s.starts_at AS session_starts_at,
       b.status, b.seats, b.amount_pence, b.created_at, b.confirmed_at, b.cancelled_at,
       NULLIF(TRIM(b.company), '') AS company,
       CASE COALESCE((SELECT p.provider FROM payments p
              WHERE p.booking_id = b.id AND p.status = 'succeeded'
              ORDER BY p.id DESC LIMIT 1), '')
             WHEN '' THEN 'none'
             WHEN 'invoice' THEN 'invoice'
             WHEN 'bank_transfer' THEN 'bank_transfer'
             ELSE 'card' END
           AS payment_method,
       COALESCE(r.refunded_pence, 0) AS refunded_pence,
       COALESCE(a.attendees, 0) AS attendees,
       COALESCE(a.attended, 0) AS attended,
       COALESCE(a.no_shows, 0) AS no_shows
  FROM bookings b
  JOIN course_sessions s ON s.id = b.session_id
  JOIN courses c ON c.id = s.course_id
  JOIN venues v ON v.id = s.venue_id
  LEFT JOIN (SELECT booking_id, SUM(amount_pence) AS refunded_pence
               FROM refunds WHERE status = 'succeeded' GROUP BY booking_id) r
         ON r.booking_id = b.id
  LEFT JOIN (SELECT booking_id, COUNT(*) AS attendees,
                    SUM(CASE WHEN attended THEN 1 ELSE 0 END) AS attended,
                    SUM(CASE WHEN NOT attended THEN 1 ELSE 0 END) AS no_shows
               FROM attendees GROUP BY booking_id) a
         ON a.booking_id = b.id
"""

SESSION_FACTS_SQL = """
SELECT s.id AS session_id, s.course_id, s.venue_id,
       c.title AS course_title, v.name AS venue_name, v.town,
       s.starts_at, s.status, s.capacity,
       COALESCE(k.bookings, 0) AS bookings,
       COALESCE(k.seats_sold, 0) AS seats_sold,
       COALESCE(w.entries, 0) AS waitlist_entries,
       COALESCE(w.seats, 0) AS waitlist_seats,
       COALESCE(w.open_entries, 0) AS waitlist_open_entries,
       COALESCE(w.open_seats, 0) AS waitlist_open_seats,
       COALESCE(w.booked_entries, 0) AS waitlist_booked_entries
  FROM course_sessions s
  JOIN courses c ON c.id = s.course_id
  JOIN venues v ON v.id = s.venue_id
  LEFT JOIN (SELECT session_id, COUNT(*) AS bookings, SUM(seats) AS seats_sold
               FROM bookings WHERE status = 'confirmed' GROUP BY session_id) k
         ON k.session_id = s.id
  LEFT JOIN (SELECT session_id, COUNT(*) AS entries, SUM(seats) AS seats,
                    SUM(CASE WHEN status IN ('waiting', 'offered') THEN 1 ELSE 0 END)
                        AS open_entries,
                    SUM(CASE WHEN status IN ('waiting', 'offered') THEN seats ELSE 0 END)
                        AS open_seats,
                    SUM(CASE WHEN status = 'booked' THEN 1 ELSE 0 END) AS booked_entries
               FROM waitlist_entries GROUP BY session_id) w
         ON w.session_id = s.id
"""

REFUND_FACTS_SQL = """
SELECT r.id AS refund_id, r.booking_id, r.amount_pence, r.created_at AS refunded_at,
       CASE COALESCE(COALESCE(p.provider, (SELECT p.provider FROM payments p
              WHERE p.booking_id = r.booking_id AND p.status = 'succeeded'
              ORDER BY p.id DESC LIMIT 1)), '')
             WHEN '' THEN 'none'
             WHEN 'invoice' THEN 'invoice'
             WHEN 'bank_transfer' THEN 'bank_transfer'
             ELSE 'card' END
           AS payment_method
  FROM refunds r
  LEFT JOIN payments p ON p.id = r.payment_id
 WHERE r.status = 'succeeded'
"""

# view / table -> (SELECT, unique key)
FACTS = {
    "analytics_booking_facts": (BOOKING_FACTS_SQL, "booking_id"),
    "analytics_session_facts": (SESSION_FACTS_SQL, "session_id"),
    "analytics_refund_facts": (REFUND_FACTS_SQL, "refund_id"),
}

# Indexes for the date each figure filters on.
DATE_INDEXES = {
    "analytics_booking_facts": "confirmed_at",
    "analytics_session_facts": "starts_at",
    "analytics_refund_facts": "refunded_at",
}


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _summary_tables():
    """SQLite: the same columns as the views, as plain tables."""
    when = sa.DateTime(timezone=True)
    op.create_table(
        "analytics_booking_facts",
        sa.Column("booking_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("course_title", sa.String(length=160), nullable=False),
        sa.Column("venue_name", sa.String(length=120), nullable=False),
        sa.Column("town", sa.String(length=80), nullable=False),
        sa.Column("session_starts_at", when, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("confirmed_at", when, nullable=True),
        sa.Column("cancelled_at", when, nullable=True),
        sa.Column("company", sa.String(length=120), nullable=True),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.Column("refunded_pence", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Integer(), nullable=False),
        sa.Column("no_shows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.create_table(
        "analytics_session_facts",
        sa.Column("session_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("course_title", sa.String(length=160), nullable=False),
        sa.Column("venue_name", sa.String(length=120), nullable=False),
        sa.Column("town", sa.String(length=80), nullable=False),
        sa.Column("starts_at", when, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("seats_sold", sa.Integer(), nullable=False),
        sa.Column("waitlist_entries", sa.Integer(), nullable=False),
        sa.Column("waitlist_seats", sa.Integer(), nullable=False),
        sa.Column("waitlist_open_entries", sa.Integer(), nullable=False),
        sa.Column("waitlist_open_seats", sa.Integer(), nullable=False),
        sa.Column("waitlist_booked_entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "analytics_refund_facts",
        sa.Column("refund_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("refunded_at", when, nullable=False),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("refund_id"),
    )


def upgrade():
    op.create_table(
        "analytics_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("was_concurrent", sa.Boolean(), nullable=False),
        sa.Column("booking_facts", sa.Integer(), nullable=False),
        sa.Column("session_facts", sa.Integer(), nullable=False),
        sa.Column("refund_facts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_analytics_refreshes_refreshed_at", "analytics_refreshes",
                    ["refreshed_at"])
    if _is_postgresql():
        for name, (query, key) in FACTS.items():
            op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query} WITH DATA")
            # CONCURRENTLY needs a unique index on plain columns with no WHERE.
            op.execute(f"CREATE UNIQUE INDEX uq_{name}_{key} ON {name} ({key})")
    else:
        _summary_tables()
    for name, column in DATE_INDEXES.items():
        op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade():
    for name, column in DATE_INDEXES.items():
        op.drop_index(f"ix_{name}_{column}", table_name=name)
    for name in reversed(list(FACTS)):
        if _is_postgresql():
            op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {name}")
        else:
            op.drop_table(name)
    op.drop_index("ix_analytics_refreshes_refreshed_at", table_name="analytics_refreshes")
    op.drop_table("analytics_refreshes")
