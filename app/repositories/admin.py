"""Queries the admin portal needs beyond the aggregates' own repositories:
booking search, the admin view of the timetable, trainer clashes, waiting
lists, alerts and a booking's timeline."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import eq, ge, lt
from typing import Any

from sqlalchemy import Row, Select, case, func, or_, select, update

from app.models import (
    Alert, Booking, BookingStatus, Course, CourseSession, OutboxEvent, Role, SentEmail,
    Severity, SessionStatus, User, Venue, WaitlistEntry, WaitlistStatus,
)
from app.repositories.base import Repository
from app.repositories.locks import lock_users


def _where_given(stmt: Select, *filters: tuple[Any, Callable, object]) -> Select:
    """`stmt` narrowed by each (column, operator, value) filter whose value was given."""
    for column, compare, value in filters:
        if value is not None:
            stmt = stmt.where(compare(column, value))
    return stmt


def _owner_filters(course_id: int | None, venue_id: int | None,
                   trainer_id: int | None) -> tuple[tuple[Any, Callable, object], ...]:
    """Sessions of one course, at one venue or taught by one trainer (if given)."""
    return ((CourseSession.course_id, eq, course_id),
            (CourseSession.venue_id, eq, venue_id),
            (CourseSession.trainer_id, eq, trainer_id))


# -- bookings --------------------------------------------------------------------------
@dataclass(frozen=True)
class BookingCriteria:
    """What the admin booking table can search and filter on (all optional)."""

    text: str | None = None            # reference, contact name, email or company
    status: BookingStatus | None = None
    session_id: int | None = None
    course_id: int | None = None
    starts_from: datetime | None = None    # course date window (UTC, inclusive)
    starts_before: datetime | None = None  # (UTC, exclusive)
    booked_from: datetime | None = None    # when the booking was made (UTC, inclusive)
    booked_before: datetime | None = None  # (UTC, exclusive)


class AdminBookingRepository(Repository[Booking]):
    model = Booking

    def search(self, criteria: BookingCriteria) -> Select:
        """Bookings matching `criteria`, newest first, as a statement to paginate."""
        return self._matching(select(Booking).join(Booking.session), criteria)

    def stream_export_rows(self, criteria: BookingCriteria, *,
                           batch_size: int = 1000) -> Iterator[Row]:
        """The bookings `search` finds, in the same order, as flat rows for a
        download (booking, course, session and venue columns), fetched
        `batch_size` at a time (a server-side cursor on PostgreSQL) so that any
        number of rows streams in constant memory."""
        stmt = self._matching(
            select(Booking.reference, Booking.status, Booking.created_at,
                   Booking.confirmed_at, Booking.cancelled_at, Booking.contact_name,
                   Booking.contact_email, Booking.contact_phone, Booking.contact_postcode,
                   Booking.company, Booking.seats, Booking.amount_pence,
                   Booking.refund_due_pence, Course.title.label("course_title"),
                   CourseSession.starts_at, Venue.name.label("venue_name"),
                   Venue.town.label("venue_town"))
            .select_from(Booking).join(Booking.session).join(CourseSession.course)
            .join(CourseSession.venue),
            criteria)
        yield from self.session.execute(stmt.execution_options(yield_per=batch_size))

    def _matching(self, stmt: Select, criteria: BookingCriteria) -> Select:
        """`stmt` (over bookings joined to their session) narrowed to `criteria`,
        newest first."""
        if criteria.text:
            text = criteria.text
            stmt = stmt.where(or_(
                Booking.reference == text.upper().replace(" ", ""),
                Booking.contact_name.icontains(text, autoescape=True),
                Booking.contact_email.icontains(text, autoescape=True),
                Booking.company.icontains(text, autoescape=True),
            ))
        c = criteria
        stmt = _where_given(stmt, (Booking.status, eq, c.status),
                            (Booking.session_id, eq, c.session_id),
                            (CourseSession.course_id, eq, c.course_id),
                            (CourseSession.starts_at, ge, c.starts_from),
                            (CourseSession.starts_at, lt, c.starts_before),
                            (Booking.created_at, ge, c.booked_from),
                            (Booking.created_at, lt, c.booked_before))
        return stmt.order_by(Booking.created_at.desc(), Booking.id.desc())

    def on_session(self, session_id: int, *, statuses=None) -> list[Booking]:
        """A session's bookings, read fresh (call after taking the session's seat lock)."""
        stmt = select(Booking).where(Booking.session_id == session_id)
        if statuses is not None:
            stmt = stmt.where(Booking.status.in_(tuple(statuses)))
        stmt = stmt.order_by(Booking.id).execution_options(populate_existing=True)
        return list(self.session.scalars(stmt).unique())

    def recent(self, limit: int = 10) -> list[Booking]:
        stmt = (select(Booking).where(Booking.status != BookingStatus.EXPIRED)
                .order_by(Booking.created_at.desc(), Booking.id.desc()).limit(limit))
        return list(self.session.scalars(stmt).unique())

    def events_about(self, reference: str, session_id: int, *,
                     session_event_types: tuple[str, ...] = ()) -> list[OutboxEvent]:
        """Events about the booking, and those of its session's events that concern
        every booking on it (moved, cancelled)."""
        about = OutboxEvent.aggregate_id == reference
        if session_event_types:
            about = or_(about, (OutboxEvent.aggregate_id == str(session_id))
                        & OutboxEvent.event_type.in_(session_event_types))
        stmt = select(OutboxEvent).where(about).order_by(OutboxEvent.created_at, OutboxEvent.id)
        return list(self.session.scalars(stmt).unique())

    def emails_about(self, booking_id: int) -> list[SentEmail]:
        stmt = (select(SentEmail).where(SentEmail.booking_id == booking_id)
                .order_by(SentEmail.created_at, SentEmail.id))
        return list(self.session.scalars(stmt))


# -- sessions ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AdminSessionCriteria:
    course_id: int | None = None
    venue_id: int | None = None
    trainer_id: int | None = None
    status: SessionStatus | None = None
    starts_from: datetime | None = None    # UTC, inclusive
    starts_before: datetime | None = None  # UTC, exclusive


class AdminSessionRepository(Repository[CourseSession]):
    model = CourseSession

    def search(self, criteria: AdminSessionCriteria) -> Select:
        """Every session (any status, deleted courses too), soonest first."""
        c = criteria
        return _where_given(
            select(CourseSession), *_owner_filters(c.course_id, c.venue_id, c.trainer_id),
            (CourseSession.status, eq, c.status),
            (CourseSession.starts_at, ge, c.starts_from),
            (CourseSession.starts_at, lt, c.starts_before),
        ).order_by(CourseSession.starts_at, CourseSession.id)

    def trainer_clashes(self, trainer_id: int, starts_at: datetime, ends_at: datetime, *,
                        excluding: set[int] | frozenset[int] = frozenset()) -> list[CourseSession]:
        """The trainer's scheduled sessions that overlap [starts_at, ends_at)."""
        stmt = select(CourseSession).where(
            CourseSession.trainer_id == trainer_id,
            CourseSession.status == SessionStatus.SCHEDULED,
            CourseSession.starts_at < ends_at,
            CourseSession.ends_at > starts_at,
        )
        if excluding:
            stmt = stmt.where(CourseSession.id.not_in(tuple(excluding)))
        return list(self.session.scalars(stmt.order_by(CourseSession.starts_at)).unique())

    def upcoming_count(self, now: datetime, *, course_id: int | None = None,
                       venue_id: int | None = None, trainer_id: int | None = None) -> int:
        """Scheduled sessions that have not ended yet, for one course, venue or trainer."""
        stmt = select(func.count()).select_from(CourseSession).where(
            CourseSession.status == SessionStatus.SCHEDULED, CourseSession.ends_at > now)
        stmt = _where_given(stmt, *_owner_filters(course_id, venue_id, trainer_id))
        return int(self.session.scalar(stmt) or 0)

    def upcoming(self, now: datetime, *, course_id: int) -> list[CourseSession]:
        """A course's scheduled sessions that have not ended yet, soonest first."""
        stmt = (select(CourseSession)
                .where(CourseSession.course_id == course_id,
                       CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.ends_at > now)
                .order_by(CourseSession.starts_at, CourseSession.id))
        return list(self.session.scalars(stmt).unique())

    def upcoming_counts_by_trainer(self, trainer_ids: list[int], now: datetime) -> dict[int, int]:
        if not trainer_ids:
            return {}
        stmt = (select(CourseSession.trainer_id, func.count())
                .where(CourseSession.trainer_id.in_(trainer_ids),
                       CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.ends_at > now)
                .group_by(CourseSession.trainer_id))
        return {tid: int(n) for tid, n in self.session.execute(stmt)}

    def transfer_targets(self, course_id: int, now: datetime, *, excluding: int) -> list[CourseSession]:
        """Other scheduled, not yet started sessions of the same course."""
        stmt = (select(CourseSession)
                .where(CourseSession.course_id == course_id, CourseSession.id != excluding,
                       CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.starts_at > now)
                .order_by(CourseSession.starts_at).limit(100))
        return list(self.session.scalars(stmt).unique())

    def starting_between(self, first: datetime, last: datetime) -> list[CourseSession]:
        stmt = (select(CourseSession)
                .where(CourseSession.starts_at >= first, CourseSession.starts_at < last)
                .order_by(CourseSession.starts_at, CourseSession.id))
        return list(self.session.scalars(stmt).unique())

    def choices(self, now: datetime, *, limit: int = 300) -> list[CourseSession]:
        """Scheduled, upcoming sessions for drop-downs (manual bookings, filters)."""
        stmt = (select(CourseSession)
                .where(CourseSession.status == SessionStatus.SCHEDULED,
                       CourseSession.starts_at > now)
                .order_by(CourseSession.starts_at, CourseSession.id).limit(limit))
        return list(self.session.scalars(stmt).unique())


# -- courses, venues and staff ----------------------------------------------------------------
class AdminCourseRepository(Repository[Course]):
    model = Course

    def search(self, *, text: str | None = None, include_deleted: bool = False,
               only_active: bool | None = None) -> Select:
        stmt = self.select(include_deleted=include_deleted)
        if text:
            stmt = stmt.where(or_(Course.title.icontains(text, autoescape=True),
                                  Course.slug.icontains(text, autoescape=True),
                                  Course.category.icontains(text, autoescape=True)))
        if only_active is not None:
            stmt = stmt.where(Course.is_active.is_(only_active))
        return stmt.order_by(Course.deleted_at.is_not(None), Course.category, Course.title)

    def slug_taken(self, slug: str, *, excluding: int | None = None) -> bool:
        stmt = select(Course.id).where(Course.slug == slug)
        if excluding is not None:
            stmt = stmt.where(Course.id != excluding)
        return self.session.scalar(stmt.limit(1)) is not None


class AdminVenueRepository(Repository[Venue]):
    model = Venue

    def search(self, *, text: str | None = None, include_deleted: bool = False) -> Select:
        stmt = self.select(include_deleted=include_deleted)
        if text:
            stmt = stmt.where(or_(Venue.name.icontains(text, autoescape=True),
                                  Venue.town.icontains(text, autoescape=True),
                                  Venue.postcode.icontains(text, autoescape=True)))
        return stmt.order_by(Venue.deleted_at.is_not(None), Venue.town, Venue.name)


class StaffRepository(Repository[User]):
    model = User

    def trainers(self, *, include_inactive: bool = True) -> list[User]:
        stmt = select(User).where(User.role == Role.TRAINER)
        if not include_inactive:
            stmt = stmt.where(User.is_active.is_(True))
        return list(self.session.scalars(stmt.order_by(User.is_active.desc(), User.full_name)))

    def lock(self, user_id: int, now: datetime) -> bool:
        """Serialise changes to one trainer's timetable (an UPDATE of their row is the
        lock, as for a session's seats): two admins assigning the same trainer at once
        to overlapping sessions cannot both pass the clash check."""
        return lock_users([user_id], now, session=self.session)


# -- waiting lists ---------------------------------------------------------------------------
class WaitlistRepository(Repository[WaitlistEntry]):
    model = WaitlistEntry

    def for_session(self, session_id: int, *, include_closed: bool = False) -> list[WaitlistEntry]:
        stmt = select(WaitlistEntry).where(WaitlistEntry.session_id == session_id)
        if not include_closed:
            stmt = stmt.where(WaitlistEntry.status.in_((WaitlistStatus.WAITING,
                                                        WaitlistStatus.OFFERED)))
        stmt = stmt.order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        return list(self.session.scalars(stmt.execution_options(populate_existing=True)).unique())

    def open_counts(self, session_ids: list[int] | None = None) -> dict[int, int]:
        """People waiting or offered a seat, per session."""
        stmt = (select(WaitlistEntry.session_id, func.count())
                .where(WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)))
                .group_by(WaitlistEntry.session_id))
        if session_ids is not None:
            if not session_ids:
                return {}
            stmt = stmt.where(WaitlistEntry.session_id.in_(session_ids))
        return {sid: int(n) for sid, n in self.session.execute(stmt)}

    def sessions_with_waiters(self, now: datetime) -> Select:
        """Upcoming sessions with someone waiting or offered a seat, soonest first."""
        waiting = (select(WaitlistEntry.session_id)
                   .where(WaitlistEntry.status.in_((WaitlistStatus.WAITING,
                                                    WaitlistStatus.OFFERED))))
        return (select(CourseSession)
                .where(CourseSession.id.in_(waiting), CourseSession.ends_at > now)
                .order_by(CourseSession.starts_at, CourseSession.id))


# -- alerts ---------------------------------------------------------------------------------
class AdminAlertRepository(Repository[Alert]):
    model = Alert

    def acknowledge(self, alert_id: int, user_id: int, now: datetime) -> bool:
        """Acknowledge an open alert; False if it was already acknowledged, resolved
        (or unknown)."""
        result = self.session.execute(
            update(Alert).where(Alert.id == alert_id, Alert.acknowledged_at.is_(None),
                                Alert.resolved_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by_id=user_id)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def search(self, *, text: str | None = None, open_only: bool = False) -> Select:
        """Alerts, open ones first (worst severity first), then by last occurrence."""
        stmt = select(Alert)
        if open_only:
            stmt = stmt.where(Alert.resolved_at.is_(None))
        if text:
            stmt = stmt.where(or_(Alert.message.icontains(text, autoescape=True),
                                  Alert.kind.icontains(text, autoescape=True)))
        severity_rank = case({s: s.rank for s in Severity}, value=Alert.severity)
        return stmt.order_by(Alert.resolved_at.is_not(None), severity_rank.desc(),
                             Alert.last_seen_at.desc(), Alert.id.desc())

    def open_count(self) -> int:
        return int(self.session.scalar(
            select(func.count()).select_from(Alert).where(Alert.resolved_at.is_(None))) or 0)


__all__ = [
    "AdminAlertRepository", "AdminBookingRepository", "AdminCourseRepository",
    "AdminSessionCriteria", "AdminSessionRepository", "AdminVenueRepository", "BookingCriteria",
    "StaffRepository", "WaitlistRepository",
]
