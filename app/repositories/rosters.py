"""A trainer's sessions and the seats on them, for the trainer portal."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from app.models import Attendee, Booking, BookingStatus, CourseSession, SessionStatus
from app.repositories.base import Repository


class RosterRepository(Repository[CourseSession]):
    model = CourseSession

    def upcoming_for_trainer(self, trainer_id: int, since: datetime) -> list[CourseSession]:
        """Scheduled sessions of a trainer that end at or after `since`, soonest first."""
        stmt = (select(CourseSession)
                .where(CourseSession.trainer_id == trainer_id,
                       CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.ends_at >= since)
                .order_by(CourseSession.starts_at, CourseSession.id))
        return list(self.session.scalars(stmt).unique())

    def past_for_trainer(self, trainer_id: int, since: datetime, *,
                         limit: int = 50) -> list[CourseSession]:
        """Everything else of a trainer's: ended before `since`, completed or cancelled;
        most recent first."""
        stmt = (select(CourseSession)
                .where(CourseSession.trainer_id == trainer_id,
                       or_(CourseSession.status != SessionStatus.SCHEDULED,
                           CourseSession.ends_at < since))
                .order_by(CourseSession.starts_at.desc(), CourseSession.id.desc())
                .limit(limit))
        return list(self.session.scalars(stmt).unique())

    def confirmed_seats(self, session_ids: Iterable[int]) -> dict[int, int]:
        """Seats of confirmed bookings per session (sessions with none are absent)."""
        ids = list(session_ids)
        if not ids:
            return {}
        stmt = (select(Booking.session_id, func.coalesce(func.sum(Booking.seats), 0))
                .where(Booking.session_id.in_(ids), Booking.status == BookingStatus.CONFIRMED)
                .group_by(Booking.session_id))
        return {session_id: int(seats) for session_id, seats in self.session.execute(stmt)}

    def attendee_on_confirmed_booking(self, attendee_id: int) -> Attendee | None:
        """An attendee whose booking is confirmed (so on a roster), else None."""
        stmt = (select(Attendee).join(Attendee.booking)
                .where(and_(Attendee.id == attendee_id,
                            Booking.status == BookingStatus.CONFIRMED)))
        return self.session.scalar(stmt)
