"""The stored analytics facts and the record of their refreshes.

BookingFact, SessionFact and RefundFact are materialized views on PostgreSQL
and summary tables on SQLite (migration 0013); both are filled from the same
SELECTs (app.repositories.analytics). They are read-only for the application:
only `refresh_analytics` changes them. Their tables carry
``info={"materialized_view": True}``: on PostgreSQL they are not tables, so
schema comparison and test clean-up treat them as views there.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime

MATERIALIZED_VIEW = {"materialized_view": True}


class BookingFact(db.Model):
    """One row per booking (every status), with its session, course, venue, how it
    was paid, what was refunded and how its attendees' attendance was marked."""

    __tablename__ = "analytics_booking_facts"
    __table_args__ = {"info": MATERIALIZED_VIEW}

    booking_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    venue_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_title: Mapped[str] = mapped_column(String(160), nullable=False)
    venue_name: Mapped[str] = mapped_column(String(120), nullable=False)
    town: Mapped[str] = mapped_column(String(80), nullable=False)
    session_starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    seats: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                          index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    company: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # card, invoice, bank_transfer, or none (no succeeded payment)
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)
    refunded_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    attendees: Mapped[int] = mapped_column(Integer, nullable=False)
    attended: Mapped[int] = mapped_column(Integer, nullable=False)
    no_shows: Mapped[int] = mapped_column(Integer, nullable=False)


class SessionFact(db.Model):
    """One row per session: capacity, seats sold (confirmed bookings) and its
    waiting list."""

    __tablename__ = "analytics_session_facts"
    __table_args__ = {"info": MATERIALIZED_VIEW}

    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    venue_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_title: Mapped[str] = mapped_column(String(160), nullable=False)
    venue_name: Mapped[str] = mapped_column(String(120), nullable=False)
    town: Mapped[str] = mapped_column(String(80), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    bookings: Mapped[int] = mapped_column(Integer, nullable=False)
    seats_sold: Mapped[int] = mapped_column(Integer, nullable=False)
    waitlist_entries: Mapped[int] = mapped_column(Integer, nullable=False)
    waitlist_seats: Mapped[int] = mapped_column(Integer, nullable=False)
    waitlist_open_entries: Mapped[int] = mapped_column(Integer, nullable=False)
    waitlist_open_seats: Mapped[int] = mapped_column(Integer, nullable=False)
    waitlist_booked_entries: Mapped[int] = mapped_column(Integer, nullable=False)


class RefundFact(db.Model):
    """One row per succeeded refund, with the payment method it went back to."""

    __tablename__ = "analytics_refund_facts"
    __table_args__ = {"info": MATERIALIZED_VIEW}

    refund_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    booking_id: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)


class AnalyticsRefresh(db.Model):
    """One row per refresh of the facts: when (the "figures as of" time) and how."""

    __tablename__ = "analytics_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    # CONCURRENTLY is a reserved word in PostgreSQL, hence the name.
    was_concurrent: Mapped[bool] = mapped_column(Boolean, nullable=False)
    booking_facts: Mapped[int] = mapped_column(Integer, nullable=False)
    session_facts: Mapped[int] = mapped_column(Integer, nullable=False)
    refund_facts: Mapped[int] = mapped_column(Integer, nullable=False)
