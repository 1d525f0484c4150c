"""Queries that find who an email or reminder goes to."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from app.models import Booking, BookingStatus, CourseSession, Role, SessionStatus, User
from app.repositories.base import Repository


class RecipientRepository(Repository[Booking]):
    model = Booking

    def bookings_on_session(self, session_id: int, statuses: Iterable[BookingStatus],
                            references: Iterable[str] | None = None) -> list[Booking]:
        where = [Booking.session_id == session_id, Booking.status.in_(list(statuses))]
        if references:
            where.append(Booking.reference.in_(list(references)))
        return self.list(*where, order_by=Booking.id)

    def confirmed_bookings_starting_between(self, start: datetime, end: datetime) -> list[Booking]:
        """Confirmed bookings on scheduled sessions starting in [start, end)."""
        stmt = (select(Booking).join(Booking.session)
                .where(Booking.status == BookingStatus.CONFIRMED,
                       CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.starts_at >= start, CourseSession.starts_at < end)
                .order_by(CourseSession.starts_at, Booking.id))
        return list(self.session.scalars(stmt).unique())

    def course_session(self, session_id: int) -> CourseSession | None:
        return self.session.get(CourseSession, session_id)

    def admin_emails(self) -> list[str]:
        stmt = (select(User.email).where(User.role == Role.ADMIN, User.is_active.is_(True))
                .order_by(User.id))
        return list(self.session.scalars(stmt))
