"""Bookings and their attendees, and the seat arithmetic over them."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from app.models import Booking, BookingStatus
from app.repositories.base import Repository


class BookingRepository(Repository[Booking]):
    model = Booking

    def get_by_reference(self, reference: str) -> Booking | None:
        return self.session.scalar(select(Booking).where(Booking.reference == reference))

    def manage_link_version(self, reference: str) -> int | None:
        """The booking's current manage link version (None: no such booking)."""
        return self.session.scalar(select(Booking.manage_link_version)
                                   .where(Booking.reference == reference))

    def bump_manage_link_version(self, booking: Booking) -> int:
        """Raise the version in the database (atomic under concurrent reissues)."""
        booking.manage_link_version = Booking.manage_link_version + 1
        self.session.flush()
        self.session.refresh(booking, ["manage_link_version"])
        return booking.manage_link_version

    def move_to_session(self, booking: Booking, session_id: int) -> Booking:
        """Put the booking on another session, written now, so that `booking.session`
        and any later count in this transaction see the new session."""
        booking.session_id = session_id
        self.session.flush()
        self.session.expire(booking, ["session"])
        return booking

    def seats_taken(self, session_id: int, now: datetime, *, excluding: int | None = None) -> int:
        """Seats confirmed or held (unexpired) on one session."""
        stmt = select(func.coalesce(func.sum(Booking.seats), 0)).where(
            Booking.session_id == session_id, Booking.occupies_seats(now)
        )
        if excluding is not None:
            stmt = stmt.where(Booking.id != excluding)
        return int(self.session.scalar(stmt))

    def seats_taken_by_session(self, session_ids: Iterable[int], now: datetime) -> dict[int, int]:
        """Seats taken for many sessions in one query (no N+1 on list pages)."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        stmt = (
            select(Booking.session_id, func.sum(Booking.seats))
            .where(Booking.session_id.in_(ids), Booking.occupies_seats(now))
            .group_by(Booking.session_id)
        )
        taken = {sid: int(total) for sid, total in self.session.execute(stmt)}
        return {sid: taken.get(sid, 0) for sid in ids}

    def active_hold_counts(self, session_ids: Iterable[int], now: datetime) -> dict[int, int]:
        """How many customers hold seats right now (booking intent), per session."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        stmt = (
            select(Booking.session_id, func.count())
            .where(Booking.session_id.in_(ids), Booking.hold_is_live(now))
            .group_by(Booking.session_id)
        )
        return dict(self.session.execute(stmt).all())

    def open_holds(self, now: datetime, *, client_key: str | None = None,
                   email: str | None = None) -> tuple[int, int, datetime | None]:
        """(holds, seats, earliest expiry) of the live holds asked for by one client
        key or one contact email (letter case ignored)."""
        stmt = select(func.count(Booking.id), func.coalesce(func.sum(Booking.seats), 0),
                      func.min(Booking.hold_expires_at)).where(Booking.hold_is_live(now))
        if client_key is not None:
            stmt = stmt.where(Booking.hold_client_key == client_key)
        if email is not None:
            stmt = stmt.where(func.lower(Booking.contact_email) == email.strip().lower())
        holds, seats, earliest = self.session.execute(stmt).one()
        return int(holds), int(seats), earliest

    def stale_holds(self, now: datetime, *, limit: int = 500) -> list[Booking]:
        stmt = (
            select(Booking)
            .where(Booking.hold_has_lapsed(now))
            .order_by(Booking.hold_expires_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt).unique())

    def mark_expired(self, booking_ids: list[int], now: datetime) -> int:
        """Expire holds that are still held and past their expiry; returns how many changed."""
        if not booking_ids:
            return 0
        result = self.session.execute(
            update(Booking)
            .where(Booking.id.in_(booking_ids), Booking.hold_has_lapsed(now))
            .values(status=BookingStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
