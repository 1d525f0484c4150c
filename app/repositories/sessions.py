"""Course sessions: search for the calendar and the API, and the seat lock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.orm import contains_eager

from app.models import Course, CourseSession, SessionStatus, Venue
from app.repositories.base import Repository
from app.repositories.locks import lock_sessions


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
        """Sessions matching the filters, soonest first, as a statement to paginate.

        This is the one query behind every public list of sessions (the calendar,
        course pages, the home page, the API's lists, live counts): private
        sessions are left out here and nowhere else.

        The joins that filter also load the course and venue (contains_eager): the
        models' own joined loading would join both tables a second time, and
        PostgreSQL spends longer planning six tables than running the query."""
        stmt = (
            self.select()
            .join(CourseSession.course)
            .join(CourseSession.venue)
            .options(contains_eager(CourseSession.course), contains_eager(CourseSession.venue))
            .where(Course.deleted_at.is_(None), Course.is_active.is_(True),
                   CourseSession.is_listed)
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

    def upcoming_requalifications(self, full_course_id: int, *, now: datetime,
                                  limit: int) -> list[CourseSession]:
        """The next public sessions of courses that renew `full_course_id`'s certificate."""
        stmt = (self.search(SessionFilters(starts_from=now))
                .where(Course.requalifies_course_id == full_course_id).limit(limit))
        return list(self.session.scalars(stmt))

    def get_by_private_token(self, token: str) -> CourseSession | None:
        """The private session whose private link carries `token`."""
        return self.session.scalars(self.select().where(
            CourseSession.private_token == token, CourseSession.is_private.is_(True))).first()

    def lock(self, *session_ids: int) -> bool:
        """Take the write lock that serialises seat changes on these sessions
        (app.repositories.locks: ascending id, inside a unit of work). It must be
        the first write of the transaction. False if a session does not exist."""
        return lock_sessions(session_ids, session=self.session)

    def lock_and_get(self, session_id: int) -> CourseSession | None:
        """Take the seat lock, then load the session fresh from the database."""
        if not self.lock(session_id):
            return None
        return self.get_fresh(session_id)
