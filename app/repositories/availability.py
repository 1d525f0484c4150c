"""Read-side queries for live availability: each session's seats and active
holds in one query (the WebSocket hub runs it on every change)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select

from app.models import Booking, Course, CourseSession, SessionStatus
from app.repositories.base import Repository
from app.repositories.sessions import SessionFilters, SessionRepository


@dataclass(frozen=True)
class SeatRow:
    session_id: int
    course_slug: str
    capacity: int
    seats_taken: int
    active_holds: int  # customers holding seats now
    earliest_hold_expiry: datetime | None
    is_upcoming: bool  # scheduled, not started, course active and not deleted
    is_listed: bool = True  # on public lists (CourseSession.is_listed)


class AvailabilityRepository(Repository[CourseSession]):
    model = CourseSession

    def seat_rows(self, session_ids: Iterable[int], now: datetime) -> list[SeatRow]:
        """Seats taken and active holds of the given sessions (unknown ids left out)."""
        ids = sorted(set(session_ids))
        if not ids:
            return []
        held_now = Booking.hold_is_live(now)
        occupying = Booking.occupies_seats(now)
        stmt = (
            select(
                CourseSession.id, Course.slug, CourseSession.capacity, CourseSession.status,
                CourseSession.starts_at, Course.is_active, Course.deleted_at,
                CourseSession.is_listed,
                func.coalesce(func.sum(case((occupying, Booking.seats), else_=0)), 0),
                func.count(case((held_now, Booking.id))),
                func.min(case((held_now, Booking.hold_expires_at))),
            )
            .join(Course, CourseSession.course_id == Course.id)
            .outerjoin(Booking, and_(
                Booking.session_id == CourseSession.id,
                Booking.status.in_(Booking.LIVE_STATUSES)))
            .where(CourseSession.id.in_(ids))
            .group_by(CourseSession.id, Course.id)
            .order_by(CourseSession.id)
        )
        return [
            SeatRow(session_id=sid, course_slug=slug, capacity=capacity, seats_taken=int(taken),
                    active_holds=int(holds), earliest_hold_expiry=expiry,
                    is_upcoming=(status == SessionStatus.SCHEDULED and starts_at > now
                                 and is_active and deleted_at is None),
                    is_listed=bool(listed))
            for (sid, slug, capacity, status, starts_at, is_active, deleted_at, listed, taken,
                 holds, expiry) in self.session.execute(stmt)
        ]

    def upcoming_session_ids(self, now: datetime, *, course_slug: str | None = None,
                             limit: int = 500) -> list[int]:
        """Ids of bookable-looking sessions from `now` on, soonest first."""
        stmt = SessionRepository(self._session).search(
            SessionFilters(course_slug=course_slug, starts_from=now))
        return list(self.session.scalars(stmt.with_only_columns(CourseSession.id).limit(limit)))
