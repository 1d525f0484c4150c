"""Course sessions: search for the calendar and the API, and the seat lock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, update

from app.models import Course, CourseSession, SessionStatus, Venue
from app.repositories.base import Repository


@dataclass(frozen=True)
class SessionFilters:
    """What the calendar and `GET /api/v1/sessions` can filter on (all optional)."""

    course_slug: str | None = None
    town: str | None = None
    starts_from: datetime | None = None  # inclusive, UTC
    starts_before: datetime | None = None  # exclusive, UTC
    include_cancelled: bool = False


class SessionRepository(Repository[CourseSession]):
    model = CourseSession

    def search(self, filters: SessionFilters) -> Select:
        """Sessions matching the filters, soonest first, as a statement to paginate."""
        stmt = (
            self.select()
            .join(CourseSession.course)
            .join(CourseSession.venue)
            .where(Course.deleted_at.is_(None), Course.is_active.is_(True))
        )
        if not filters.include_cancelled:
            stmt = stmt.where(CourseSession.status == SessionStatus.SCHEDULED)
        if filters.course_slug:
            stmt = stmt.where(Course.slug == filters.course_slug)
        if filters.town:
            stmt = stmt.where(Venue.town == filters.town)
        if filters.starts_from:
            stmt = stmt.where(CourseSession.starts_at >= filters.starts_from)
        if filters.starts_before:
            stmt = stmt.where(CourseSession.starts_at < filters.starts_before)
        return stmt.order_by(CourseSession.starts_at, CourseSession.id)

    def lock(self, session_id: int) -> bool:
        """Take the write lock that serialises seat changes on one session.

        An UPDATE of the session row is the lock on both backends: PostgreSQL
        holds a row lock until commit, SQLite its single writer lock. It must
        be the first write of the transaction. Returns False if there is no
        such session.
        """
        result = self.session.execute(
            update(CourseSession)
            .where(CourseSession.id == session_id)
            .values(lock_version=CourseSession.lock_version + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def lock_and_get(self, session_id: int) -> CourseSession | None:
        """Take the seat lock, then load the session fresh from the database."""
        if not self.lock(session_id):
            return None
        return self.session.get(CourseSession, session_id, populate_existing=True)
