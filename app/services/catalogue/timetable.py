"""Admin: the timetable. Create a session or a recurring series, assign a
trainer, change capacity, move a session (date, time or venue) and cancel it.

Locks, in the one order every admin transaction takes them
----------------------------------------------------------
1. session rows (``SessionRepository.lock``), ascending id when there are two;
2. then a trainer's user row (``StaffRepository.lock``).

The session lock is the seat lock of app.services.bookings.holds, so a capacity
change, a cancellation or a move queues behind holds and confirmations on the
same session and sees their result; the trainer lock makes the "is this
trainer already teaching then?" check and the assignment one step, so two
admins cannot both give a trainer overlapping sessions.

Times are typed in Europe/London and stored in UTC. A multi-day course
(``Course.duration_days`` > 1) runs on consecutive calendar days: the session
starts on the chosen day at the start time and ends on the last day at the
end time, and each day runs from the start time to the end time.

A session gives at least its course's contact hours (``Course.duration_hours``),
so a certificate, which states them, never overstates what was taught: a
one-day course from start to end, a multi-day course spread evenly, each day
at least ``duration_hours / duration_days`` (see ``contact_hours_problem``).

Customers hear about changes through the outbox: SessionChanged when a
session moves (the notifications handler emails every confirmed booking),
SessionCancelled plus one BookingCancelled per booking when it is cancelled.
BookingCancelled carries ``reason: "session_cancelled"`` (so the customer gets
the session-cancelled email only, not a second one) and ``refund_due_pence``
(the whole amount, since we cancelled), which the payments handler turns into
exactly one refund per booking (its refund key is fixed per booking).
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import pairwise

from app.models import (
    Booking, BookingStatus, Course, CourseSession, Role, SessionStatus, User, WaitlistStatus,
    utcnow,
)
from app.monitoring import metrics
from app.repositories import BookingRepository, Page, SessionRepository, unit_of_work
from app.repositories.admin import (
    AdminBookingRepository, AdminCourseRepository, AdminSessionCriteria, AdminSessionRepository,
    AdminVenueRepository, StaffRepository, WaitlistRepository,
)
from app.services.bookings import holds as booking_service
from app.services.core import events
from app.services.core.audit import record_audit, search_audit, snapshot
from app.services.core.errors import InvalidInput, InvalidState, NotFound
from app.services.core.inputs import DEFAULT_PER_PAGE, checked, parse
from app.services.core.readable import describe_entries
from app.services.core.ukformat import uk_date, uk_time
from app.services.realtime import announce
from app.validation import FieldError
from app.validation.admin import (
    LONDON, london_to_utc, validate_choice, validate_clock_time, validate_date, validate_notes,
    validate_pounds, validate_record_id, validate_whole_number,
)
from app.validation.filters import TimetableFilters, london_day_bounds, timetable_filters_from_query

AUDITED_FIELDS = ("course_id", "venue_id", "trainer_id", "starts_at", "ends_at", "capacity",
                  "price_pence_override", "status", "is_private")
REPEATS = {"none": "Does not repeat", "daily": "Every day", "weekdays": "Every weekday (Mon-Fri)",
           "weekly": "Every week"}
MAX_OCCURRENCES = 52
MAX_CAPACITY = 100
STATUS_FILTERS = {"": "Any status", **{s.value: s.value.capitalize() for s in SessionStatus}}

RULES = {
    "course_id": partial(validate_record_id, field_label="course"),
    "venue_id": partial(validate_record_id, field_label="venue"),
    "trainer_id": partial(validate_record_id, field_label="trainer", required=False),
    "date": partial(validate_date, field_label="date"),
    "start_time": partial(validate_clock_time, field_label="start time"),
    "end_time": partial(validate_clock_time, field_label="end time"),
    "capacity": partial(validate_whole_number, field_label="capacity", minimum=1,
                        maximum=MAX_CAPACITY, required=False),
    "price": partial(validate_pounds, field_label="price", required=False),
    "repeat": partial(validate_choice, choices=REPEATS, field_label="repeat"),
    "occurrences": partial(validate_whole_number, field_label="number of sessions", minimum=1,
                           maximum=MAX_OCCURRENCES),
}
MOVE_FIELDS = {"venue_id", "date", "start_time", "end_time"}
CANCELLED_FIELDS = ("status", "refund_due_pence", "cancelled_at")
CAPACITY_RULE = partial(validate_whole_number, field_label="capacity", minimum=1,
                        maximum=MAX_CAPACITY)
REASON_RULE = partial(validate_notes, field_label="reason", max_length=500)


# -- reading -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRow:
    """A session with its seat counts, for tables."""

    session: CourseSession
    seats_taken: int
    waiting: int = 0

    @property
    def seats_available(self) -> int:
        return max(0, self.session.capacity - self.seats_taken)


@dataclass(frozen=True)
class SessionTable:
    filters: TimetableFilters
    rows: Page[SessionRow]
    problems: dict[str, str] = field(default_factory=dict)


def rows_for(sessions: list[CourseSession], now: datetime) -> list[SessionRow]:
    ids = [s.id for s in sessions]
    taken = BookingRepository().seats_taken_by_session(ids, now)
    waiting = WaitlistRepository().open_counts(ids)
    return [SessionRow(s, taken.get(s.id, 0), waiting.get(s.id, 0)) for s in sessions]


def list_sessions(params: Mapping, *, now: datetime | None = None,
                  per_page: int = DEFAULT_PER_PAGE) -> SessionTable:
    now = now or utcnow()
    filters, problems = timetable_filters_from_query(  # from today unless asked otherwise
        params, statuses=STATUS_FILTERS, today=now.astimezone(LONDON).date())
    starts_from, starts_before = london_day_bounds(filters.date_from, filters.date_to)
    repo = AdminSessionRepository()
    stmt = repo.search(AdminSessionCriteria(
        course_id=filters.course_id, venue_id=filters.venue_id, trainer_id=filters.trainer_id,
        status=SessionStatus(filters.status) if filters.status else None,
        starts_from=starts_from, starts_before=starts_before))
    page = repo.paginate(stmt, page=filters.page, per_page=per_page)
    return SessionTable(filters=filters, rows=replace(page, items=rows_for(page.items, now)),
                        problems=problems)


def get_session(session_id: int) -> CourseSession:
    course_session = SessionRepository().get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    return course_session


def session_row(session_id: int, *, now: datetime | None = None) -> SessionRow:
    return rows_for([get_session(session_id)], now or utcnow())[0]


@dataclass(frozen=True)
class SessionDetail:
    row: SessionRow
    bookings: list
    waitlist: list
    history: list


def session_detail(session_id: int, *, now: datetime | None = None) -> SessionDetail:
    now = now or utcnow()
    row = session_row(session_id, now=now)
    return SessionDetail(
        row=row,
        bookings=AdminBookingRepository().on_session(session_id),
        waitlist=WaitlistRepository().for_session(session_id, include_closed=True),
        history=describe_entries(
            search_audit(entity_type="session", entity_id=session_id, per_page=50).items),
    )


def trainers() -> list[User]:
    """Active trainers, for drop-downs."""
    return StaffRepository().trainers(include_inactive=False)


def upcoming_choices(*, now: datetime | None = None) -> list[CourseSession]:
    return AdminSessionRepository().choices(now or utcnow())


def todays_sessions(*, now: datetime | None = None) -> list[SessionRow]:
    now = now or utcnow()
    today = now.astimezone(LONDON).date()
    first, last = london_day_bounds(today, today)
    return rows_for(AdminSessionRepository().starting_between(first, last), now)


def form_values(course_session: CourseSession) -> dict[str, str]:
    starts, ends = course_session.starts_at.astimezone(LONDON), \
        course_session.ends_at.astimezone(LONDON)
    return {"venue_id": str(course_session.venue_id), "date": starts.date().isoformat(),
            "start_time": f"{starts:%H:%M}", "end_time": f"{ends:%H:%M}"}


# -- times ----------------------------------------------------------------------------------
def session_times(day: date, start: time, end: time, duration_days: int) -> tuple[datetime, datetime]:
    """UTC start and end of a session starting on `day` (London) and running
    `duration_days` consecutive days. InvalidInput names the field at fault."""
    starts_at = checked(lambda _: london_to_utc(day, start), None, "start_time")
    last_day = day + timedelta(days=duration_days - 1)
    ends_at = checked(lambda _: london_to_utc(last_day, end), None, "end_time")
    if ends_at <= starts_at:
        message = "The end time must be after the start time."
        raise InvalidInput(message, fields={"end_time": message})
    return starts_at, ends_at


@dataclass(frozen=True)
class ContactTime:
    """What a session gives: London calendar days spanned, and the minutes of
    each day (from the start time to the end time, London wall clock)."""

    days: int
    minutes_per_day: int

    @property
    def total_minutes(self) -> int:
        return self.days * self.minutes_per_day


def contact_time(starts_at: datetime, ends_at: datetime) -> ContactTime:
    starts, ends = starts_at.astimezone(LONDON), ends_at.astimezone(LONDON)
    per_day = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
    return ContactTime(days=(ends.date() - starts.date()).days + 1, minutes_per_day=per_day)


def _hours_text(minutes: int) -> str:
    hours, rest = divmod(max(0, minutes), 60)
    parts = ([f"{hours} hour{'' if hours == 1 else 's'}"] if hours or not rest else []) \
        + ([f"{rest} minute{'' if rest == 1 else 's'}"] if rest else [])
    return " ".join(parts)


def _nth(number: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(
        number, f"{number}th")


def required_hours_text(course) -> str:
    """'6 hours' or '18 hours over 3 days (6 hours a day)', for forms and messages."""
    days = max(1, course.duration_days)
    if days == 1:
        return _hours_text(course.duration_hours * 60)
    return (f"{_hours_text(course.duration_hours * 60)} over {days} days "
            f"({_hours_text(course.minutes_per_day)} a day)")


def contact_hours_problem(course, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a session from `starts_at` to `ends_at` cannot teach `course`, or None.

    It must span the course's days (London calendar days, ending on the last)
    and each day must last at least duration_hours / duration_days."""
    days = max(1, course.duration_days)
    given = contact_time(starts_at, ends_at)
    if given.days != days:
        if days == 1:
            return f"{course.title} is a one-day course: it must start and end on the same day."
        return (f"{course.title} runs over {days} consecutive days: the session must end "
                f"on its {_nth(days)} day.")
    if given.minutes_per_day <= 0:
        return "The end time must be after the start time: each day runs from one to the other."
    if given.minutes_per_day >= course.minutes_per_day:
        return None
    gives = _hours_text(given.total_minutes)
    if days > 1:
        gives += f" ({_hours_text(given.minutes_per_day)} a day)"
    return f"{course.title} needs {required_hours_text(course)}; this session gives {gives}."


def check_contact_hours(course, slots: list[tuple[datetime, datetime]]) -> None:
    """InvalidInput at the end time if any slot is shorter than the course."""
    for starts_at, ends_at in slots:
        message = contact_hours_problem(course, starts_at, ends_at)
        if message:
            raise InvalidInput(message, fields={"end_time": message})


def check_course_length(course: Course, values: Mapping[str, int], now: datetime) -> None:
    """Refuse a new duration_days / duration_hours (InvalidInput at the changed
    fields) that an upcoming scheduled session of `course` would not give:
    its certificates would state hours it does not teach."""
    changed = [name for name in ("duration_days", "duration_hours")
               if values[name] != getattr(course, name)]
    if not changed:
        return
    proposed = Course(title=course.title, duration_days=values["duration_days"],
                      duration_hours=values["duration_hours"])
    short = [(s, problem) for s in AdminSessionRepository().upcoming(now, course_id=course.id)
             if (problem := contact_hours_problem(proposed, s.starts_at, s.ends_at))]
    if not short:
        return
    first, problem = short[0]
    when = f"{uk_date(first.starts_at)}, {uk_time(first.starts_at)} to {uk_time(first.ends_at)}"
    if len(short) == 1:
        message = (f"An upcoming session ({when}) would not fit the new length: {problem} "
                   "Move or cancel it first, or keep the current length.")
    else:
        message = (f"{len(short)} upcoming sessions would not fit the new length; the first "
                   f"({when}): {problem} Move or cancel them first, or keep the current "
                   "length.")
    raise InvalidInput(message, fields={name: message for name in changed})


def refuse_while_upcoming(now: datetime, message: Callable[[int], str], *,
                          course_id: int | None = None, venue_id: int | None = None,
                          trainer_id: int | None = None) -> None:
    """Refuse (InvalidState, `message(count)`) while the course, venue or trainer
    has scheduled sessions that have not ended: a row in use is not retired."""
    upcoming = AdminSessionRepository().upcoming_count(
        now, course_id=course_id, venue_id=venue_id, trainer_id=trainer_id)
    if upcoming:
        raise InvalidState(message(upcoming))


def occurrence_days(first: date, repeat: str, count: int) -> list[date]:
    if repeat == "none":
        return [first]
    if repeat == "daily":
        return [first + timedelta(days=i) for i in range(count)]
    if repeat == "weekly":
        return [first + timedelta(weeks=i) for i in range(count)]
    if first.weekday() >= 5:
        message = "A series on weekdays must start on a weekday."
        raise InvalidInput(message, fields={"date": message})
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _describe(course_session: CourseSession) -> str:
    return (f"{course_session.course.title} on {uk_date(course_session.starts_at)}, "
            f"{uk_time(course_session.starts_at)} to {uk_time(course_session.ends_at)}")


def _clash_message(trainer: User, clash: CourseSession) -> str:
    return (f"{trainer.full_name} is already teaching {_describe(clash)} "
            f"(session {clash.id}). Choose another trainer or time.")


def _trainer_for(trainer_id: int) -> User:
    trainer = StaffRepository().get(trainer_id)
    if trainer is None or trainer.role != Role.TRAINER or not trainer.is_active:
        message = "Choose an active trainer from the list."
        raise InvalidInput(message, fields={"trainer_id": message})
    return trainer


def _check_trainer_free(trainer: User, slots: list[tuple[datetime, datetime]], now: datetime,
                        *, excluding: set[int] = frozenset()) -> None:
    """Take the trainer's lock, then refuse if any slot overlaps their other sessions."""
    StaffRepository().lock(trainer.id, now)
    repo = AdminSessionRepository()
    for starts_at, ends_at in slots:
        clashes = repo.trainer_clashes(trainer.id, starts_at, ends_at, excluding=excluding)
        if clashes:
            message = _clash_message(trainer, clashes[0])
            raise InvalidInput(message, fields={"trainer_id": message})


# -- creating --------------------------------------------------------------------------------
def create_sessions(actor_id: int, data: Mapping, *, now: datetime | None = None,
                    private: bool = False) -> list[CourseSession]:
    """Create one session, or a series (`repeat` daily, weekdays or weekly for
    `occurrences` sessions), in one transaction: all of them or none.

    Capacity defaults to the course's; price is an optional override in pounds.
    A `private` session (on-site training for one employer) is on no public list
    and is booked only through its private link (a random token of its own).
    """
    now = now or utcnow()
    values = parse({"repeat": "none", "occurrences": "1", **dict(data)}, RULES)
    course = checked(lambda _: _course_for_session(values["course_id"]), None, "course_id")
    venue = checked(lambda _: _venue_for_session(values["venue_id"]), None, "venue_id")
    count = 1 if values["repeat"] == "none" else values["occurrences"]
    days = occurrence_days(values["date"], values["repeat"], count)
    slots = [session_times(day, values["start_time"], values["end_time"], course.duration_days)
             for day in days]
    check_contact_hours(course, slots)
    if slots[0][0] <= now:
        message = "The first session must start in the future."
        raise InvalidInput(message, fields={"date": message})
    for (_, previous_end), (next_start, _) in pairwise(slots):
        if next_start < previous_end:
            message = (f"A {course.duration_days}-day course repeated like this would overlap "
                       "itself. Choose a weekly series.")
            raise InvalidInput(message, fields={"repeat": message})
    capacity = values["capacity"] or course.default_capacity
    repo = SessionRepository()
    created: list[CourseSession] = []
    with unit_of_work():
        trainer = None
        if values["trainer_id"]:
            trainer = _trainer_for(values["trainer_id"])
            _check_trainer_free(trainer, slots, now)
        for starts_at, ends_at in slots:
            course_session = repo.add(CourseSession(
                course_id=course.id, venue_id=venue.id,
                trainer_id=trainer.id if trainer else None, starts_at=starts_at,
                ends_at=ends_at, capacity=capacity, price_pence_override=values["price"],
                status=SessionStatus.SCHEDULED, is_private=private,
                private_token=new_private_token() if private else None))
            created.append(course_session)
        series = [s.id for s in created] if len(created) > 1 else None
        for course_session in created:
            after = snapshot(course_session, AUDITED_FIELDS)
            if series:
                after["series"] = series
            record_audit(actor_id, "session.create", "session", course_session.id, after=after)
    return created


def new_private_token() -> str:
    """The unguessable part of a private session's link (192 random bits)."""
    return secrets.token_urlsafe(24)


def _course_for_session(course_id: int):
    course = AdminCourseRepository().get(course_id, include_deleted=False)
    if course is None:
        raise FieldError("Choose a course from the list.")
    return course


def _venue_for_session(venue_id: int):
    venue = AdminVenueRepository().get(venue_id, include_deleted=False)
    if venue is None:
        raise FieldError("Choose a venue from the list.")
    return venue


def _lock_session(session_id: int) -> CourseSession:
    course_session = SessionRepository().lock_and_get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    return course_session


def _require_scheduled(course_session: CourseSession, what: str) -> None:
    if course_session.status != SessionStatus.SCHEDULED:
        raise InvalidState(f"A {course_session.status.value} session cannot be {what}.")


# -- changing ---------------------------------------------------------------------------------
def assign_trainer(actor_id: int, session_id: int, trainer_id: object, *,
                   now: datetime | None = None) -> CourseSession:
    """Give a session a trainer (or none, with an empty value). Refused with a
    clear message if the trainer teaches an overlapping session."""
    now = now or utcnow()
    new_id = checked(partial(validate_record_id, field_label="trainer", required=False),
                     trainer_id, "trainer_id")
    with unit_of_work():
        course_session = _lock_session(session_id)
        _require_scheduled(course_session, "given a trainer")
        if course_session.trainer_id == new_id:
            return course_session
        before = snapshot(course_session, AUDITED_FIELDS)
        if new_id is not None:
            trainer = _trainer_for(new_id)
            _check_trainer_free(trainer, [(course_session.starts_at, course_session.ends_at)],
                                now, excluding={course_session.id})
        course_session.trainer_id = new_id
        sessions = SessionRepository()
        sessions.flush()
        sessions.expire(course_session, "trainer")
        record_audit(actor_id, "session.assign_trainer", "session", session_id,
                     before=before, after=snapshot(course_session, AUDITED_FIELDS))
    return course_session


def change_capacity(actor_id: int, session_id: int, capacity: object, *,
                    now: datetime | None = None) -> CourseSession:
    """Set the capacity; never below the seats already taken (booking.change_capacity)."""
    now = now or utcnow()
    new_capacity = checked(CAPACITY_RULE, capacity, "capacity")
    with unit_of_work():
        course_session = _lock_session(session_id)
        _require_scheduled(course_session, "resized")
        before = snapshot(course_session, AUDITED_FIELDS)
        if course_session.capacity == new_capacity:
            return course_session
        course_session = booking_service.change_capacity(session_id, new_capacity, now=now)
        record_audit(actor_id, "session.capacity", "session", session_id,
                     before=before, after=snapshot(course_session, AUDITED_FIELDS))
    return course_session


def move_session(actor_id: int, session_id: int, data: Mapping, *,
                 now: datetime | None = None) -> CourseSession:
    """Change a session's date, times or venue. Customers with confirmed bookings
    are told (SessionChanged); the trainer must still be free at the new time."""
    now = now or utcnow()
    values = parse(data, RULES, only=MOVE_FIELDS)
    venue = checked(lambda _: _venue_for_session(values["venue_id"]), None, "venue_id")
    with unit_of_work():
        course_session = _lock_session(session_id)
        _require_scheduled(course_session, "moved")
        starts_at, ends_at = session_times(values["date"], values["start_time"],
                                           values["end_time"], course_session.course.duration_days)
        if starts_at <= now:
            message = "The session must start in the future."
            raise InvalidInput(message, fields={"date": message})
        if (starts_at, ends_at, venue.id) == (course_session.starts_at, course_session.ends_at,
                                              course_session.venue_id):
            return course_session
        check_contact_hours(course_session.course, [(starts_at, ends_at)])
        before = snapshot(course_session, AUDITED_FIELDS)
        old_summary = _where_and_when(course_session)
        if course_session.trainer is not None:
            _check_trainer_free(course_session.trainer, [(starts_at, ends_at)], now,
                                excluding={course_session.id})
        course_session.starts_at, course_session.ends_at = starts_at, ends_at
        course_session.venue_id = venue.id
        sessions = SessionRepository()
        sessions.flush()
        sessions.expire(course_session, "venue")
        new_summary = _where_and_when(course_session)
        events.record_event(events.SESSION_CHANGED, course_session.id, {
            "session_id": course_session.id,
            "summary": f"Your course has moved. It is now {new_summary} "
                       f"(it was {old_summary}).",
            "before": {k: before[k] for k in ("starts_at", "ends_at", "venue_id")},
            "after": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                      "venue_id": venue.id},
        })
        record_audit(actor_id, "session.move", "session", session_id,
                     before=before, after=snapshot(course_session, AUDITED_FIELDS))
        announce.announce_seats_changed(course_session.id)
    return course_session


def _where_and_when(course_session: CourseSession) -> str:
    venue = course_session.venue
    return (f"{uk_date(course_session.starts_at)} from {uk_time(course_session.starts_at)} to "
            f"{uk_time(course_session.ends_at)}"
            + (f" (ending {uk_date(course_session.ends_at)})"
               if course_session.ends_at.astimezone(LONDON).date()
               != course_session.starts_at.astimezone(LONDON).date() else "")
            + f" at {venue.name}, {venue.one_line_address}")


# -- cancelling -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionCancellation:
    session: CourseSession
    cancelled_references: list[str]
    refunds_due_pence: int
    was_already_cancelled: bool


def cancel_session(actor_id: int, session_id: int, *, reason: object = None,
                   now: datetime | None = None) -> SessionCancellation:
    """Cancel a session and, in the same transaction, every live booking on it.

    Each confirmed booking is owed its whole amount (we cancelled, not the
    customer); the BookingCancelled event carries that and the payments handler
    refunds it once. SessionCancelled tells each customer (one email per
    booking). Safe to repeat or to run twice at once: the session lock
    serialises the runs and only a live booking is cancelled, so the second run
    finds nothing to do and records nothing.
    """
    now = now or utcnow()
    reason_text = checked(REASON_RULE, reason, "reason")
    cancelled: list[str] = []
    refunds_due = 0
    with unit_of_work():
        course_session = _lock_session(session_id)
        if course_session.status == SessionStatus.COMPLETED:
            raise InvalidState("A completed session cannot be cancelled.")
        was_cancelled = course_session.status == SessionStatus.CANCELLED
        before = snapshot(course_session, AUDITED_FIELDS)
        booking_repo, waitlist_repo = AdminBookingRepository(), WaitlistRepository()
        bookings = booking_repo.on_session(session_id, statuses=Booking.LIVE_STATUSES)
        confirmed = {b.id for b in bookings if b.status == BookingStatus.CONFIRMED}
        befores = [snapshot(b, CANCELLED_FIELDS) for b in bookings]
        booking_repo.update_many([
            {"id": b.id, "status": BookingStatus.CANCELLED, "cancelled_at": now,
             "hold_expires_at": None,
             "refund_due_pence": b.amount_pence if b.id in confirmed else 0}
            for b in bookings])
        for booking, booking_before in zip(bookings, befores):
            refunds_due += booking.refund_due_pence
            events.record_event(events.BOOKING_CANCELLED, booking.reference, {
                "reference": booking.reference, "session_id": session_id,
                "seats": booking.seats, "amount_pence": booking.amount_pence,
                "was_confirmed": booking.id in confirmed,
                "refund_due_pence": booking.refund_due_pence, "reason": "session_cancelled",
            })
            metrics.count_booking(booking_repo.session, "cancelled", booking.seats)
            record_audit(actor_id, "booking.cancel", "booking", booking.reference,
                         before=booking_before, after=snapshot(booking, CANCELLED_FIELDS))
            cancelled.append(booking.reference)
        waitlist_repo.update_many([{"id": e.id, "status": WaitlistStatus.CANCELLED}
                                   for e in waitlist_repo.for_session(session_id)])
        if not was_cancelled or cancelled:
            course_session.status = SessionStatus.CANCELLED
            SessionRepository().flush()
            events.record_event(events.SESSION_CANCELLED, course_session.id, {
                "session_id": course_session.id, "references": cancelled,
                "reason": reason_text or None, "course_title": course_session.course.title,
                "starts_at": course_session.starts_at.isoformat(),
            })
            after = snapshot(course_session, AUDITED_FIELDS)
            after.update(bookings_cancelled=cancelled, refunds_due_pence=refunds_due,
                         reason=reason_text)
            record_audit(actor_id, "session.cancel", "session", session_id,
                         before=before, after=after)
            announce.announce_seats_changed(course_session.id)
    return SessionCancellation(course_session, cancelled, refunds_due, was_cancelled)


def cancellation_preview(session_id: int) -> dict:
    """What cancelling would do, for the confirmation page."""
    bookings = AdminBookingRepository().on_session(session_id, statuses=Booking.LIVE_STATUSES)
    confirmed = [b for b in bookings if b.status == BookingStatus.CONFIRMED]
    return {"bookings": bookings, "confirmed": len(confirmed),
            "held": len(bookings) - len(confirmed),
            "refund_pence": sum(b.amount_pence for b in confirmed)}
