"""The analytics facts: the SELECTs that define them, their refresh, and reads.

The three SELECTs below are the single definition of the stored facts. They
are written in the SQL PostgreSQL and SQLite share (CASE, COALESCE, grouped
sub-queries, correlated LIMIT 1), so the same text is the body of a
materialized view on PostgreSQL (migration 0013 keeps a copy; a test checks
the two agree) and the ``INSERT ... SELECT`` that rebuilds the summary tables
on SQLite. Attendance booleans are summed through ``CASE WHEN attended``,
which both read the same way (NULL, unmarked, falls to ELSE).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, text

from app.models import AnalyticsRefresh, BookingFact, RefundFact, SessionFact
from app.repositories.base import Repository

# The payment method a provider stands for ('stripe' and 'fake' take cards).
_METHOD_OF_PROVIDER = """CASE COALESCE({provider}, '')
             WHEN '' THEN 'none'
             WHEN 'invoice' THEN 'invoice'
             WHEN 'bank_transfer' THEN 'bank_transfer'
             ELSE 'card' END"""

_LAST_SUCCEEDED_PROVIDER = """(SELECT p.provider FROM payments p
              WHERE p.booking_id = {booking} AND p.status = 'succeeded'
              ORDER BY p.id DESC LIMIT 1)"""

BOOKING_FACTS_SQL = f"""
SELECT b.id AS booking_id, b.session_id, s.course_id, s.venue_id,
       c.title AS course_title, v.name AS venue_name, v.town,
       s.starts_at AS session_starts_at,
       b.status, b.seats, b.amount_pence, b.created_at, b.confirmed_at, b.cancelled_at,
       NULLIF(TRIM(b.company), '') AS company,
       {_METHOD_OF_PROVIDER.format(provider=_LAST_SUCCEEDED_PROVIDER.format(booking='b.id'))}
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

REFUND_FACTS_SQL = f"""
SELECT r.id AS refund_id, r.booking_id, r.amount_pence, r.created_at AS refunded_at,
       {_METHOD_OF_PROVIDER.format(provider='COALESCE(p.provider, ' + _LAST_SUCCEEDED_PROVIDER.format(booking='r.booking_id') + ')')}
           AS payment_method
  FROM refunds r
  LEFT JOIN payments p ON p.id = r.payment_id
 WHERE r.status = 'succeeded'
"""

# name -> (model, SELECT, unique key column)
FACTS = {
    BookingFact.__tablename__: (BookingFact, BOOKING_FACTS_SQL, "booking_id"),
    SessionFact.__tablename__: (SessionFact, SESSION_FACTS_SQL, "session_id"),
    RefundFact.__tablename__: (RefundFact, REFUND_FACTS_SQL, "refund_id"),
}

KEEP_REFRESHES = 200


class AnalyticsRepository(Repository[BookingFact]):
    model = BookingFact

    # -- refreshing ----------------------------------------------------------------------
    def refresh_materialized_views(self, *, concurrently: bool) -> None:
        """PostgreSQL: REFRESH each view, CONCURRENTLY (readers keep reading the old
        rows meanwhile; needs the unique index of migration 0013) or not (faster on
        an idle database, but it locks out readers until commit)."""
        how = "CONCURRENTLY " if concurrently else ""
        for name in FACTS:
            self.session.execute(text(f"REFRESH MATERIALIZED VIEW {how}{name}"))

    def rebuild_summary_tables(self) -> None:
        """SQLite: empty and refill each table from its SELECT, in the caller's
        transaction (so readers see the old rows or the new, never a half)."""
        for name, (model, query, _key) in FACTS.items():
            columns = ", ".join(column.name for column in model.__table__.columns)
            self.session.execute(delete(model))
            self.session.execute(text(
                f"INSERT INTO {name} ({columns}) SELECT {columns} FROM ({query}) AS facts"))

    def fact_counts(self) -> dict[str, int]:
        return {name: int(self.session.scalar(select(func.count()).select_from(model)) or 0)
                for name, (model, _query, _key) in FACTS.items()}

    def record_refresh(self, refreshed_at: datetime, *, concurrently: bool,
                       counts: dict[str, int]) -> AnalyticsRefresh:
        """Note the refresh, keeping the last KEEP_REFRESHES."""
        row = self.add(AnalyticsRefresh(
            refreshed_at=refreshed_at, was_concurrent=concurrently,
            booking_facts=counts[BookingFact.__tablename__],
            session_facts=counts[SessionFact.__tablename__],
            refund_facts=counts[RefundFact.__tablename__]))
        oldest_kept = select(AnalyticsRefresh.id).order_by(AnalyticsRefresh.id.desc()) \
            .offset(KEEP_REFRESHES).limit(1).scalar_subquery()
        self.session.execute(delete(AnalyticsRefresh).where(AnalyticsRefresh.id <= oldest_kept))
        return row

    def last_refreshed(self) -> datetime | None:
        return self.session.scalar(select(func.max(AnalyticsRefresh.refreshed_at)))

    # -- reading ---------------------------------------------------------------------------
    def _rows(self, stmt) -> list:
        """Plain rows (not ORM objects): the identity map would otherwise hand back
        facts read before a refresh."""
        return list(self.session.execute(stmt).all())

    def bookings_confirmed_between(self, start: datetime, end: datetime) -> list:
        """Bookings ever confirmed with confirmed_at in [start, end)."""
        return self._rows(select(BookingFact.__table__).where(
            BookingFact.confirmed_at >= start, BookingFact.confirmed_at < end)
            .order_by(BookingFact.confirmed_at, BookingFact.booking_id))

    def bookings_created_between(self, start: datetime, end: datetime) -> list:
        return self._rows(select(BookingFact.__table__).where(
            BookingFact.created_at >= start, BookingFact.created_at < end)
            .order_by(BookingFact.booking_id))

    def confirmed_bookings_on_sessions_starting_between(self, start: datetime,
                                                        end: datetime) -> list:
        return self._rows(select(BookingFact.__table__).where(
            BookingFact.status == "confirmed",
            BookingFact.session_starts_at >= start, BookingFact.session_starts_at < end)
            .order_by(BookingFact.booking_id))

    def sessions_starting_between(self, start: datetime, end: datetime) -> list:
        return self._rows(select(SessionFact.__table__).where(
            SessionFact.starts_at >= start, SessionFact.starts_at < end)
            .order_by(SessionFact.starts_at, SessionFact.session_id))

    def refunds_between(self, start: datetime, end: datetime) -> list:
        return self._rows(select(RefundFact.__table__).where(
            RefundFact.refunded_at >= start, RefundFact.refunded_at < end)
            .order_by(RefundFact.refunded_at, RefundFact.refund_id))
