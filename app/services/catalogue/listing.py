"""The catalogue, read side: courses, session search and seat availability.

Everything returned is a frozen dataclass built from already-loaded rows, so
templates and the API never trigger lazy loading. Dates given by people
(months, from/to days) are Europe/London calendar dates, converted to UTC.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from app.models import CourseSession, SessionStatus, utcnow
from app.repositories import (
    MAX_PER_PAGE, BookingRepository, CourseRepository, Page, SessionFilters, SessionRepository,
    VenueRepository,
)
from app.services.core.errors import InvalidInput, NotFound
from app.validation.filters import SessionSearch, is_plain, session_search_from_query

LONDON = ZoneInfo("Europe/London")
MAX_DB_ID = 2**31 - 1
CALENDAR_MONTHS = 12


# -- views ----------------------------------------------------------------------
@dataclass(frozen=True)
class CourseFacts:
    """What the catalogue tells people about a course (as Course stores it); the
    demo seed describes its courses with the same fields."""

    slug: str
    title: str
    category: str
    summary: str
    description_html: str
    duration_days: int
    duration_hours: int
    price_pence: int
    certificate_validity_months: int


@dataclass(frozen=True)
class CourseView(CourseFacts):
    id: int
    # A requalification course's full course (slug, title), as on SessionView.
    requalifies: tuple[str, str] | None = None

    @property
    def is_requalification(self) -> bool:
        return self.requalifies is not None


@dataclass(frozen=True)
class SessionView:
    id: int
    course_slug: str
    course_title: str
    course_category: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_available: int
    price_pence: int
    status: str
    venue_name: str
    venue_town: str
    venue_postcode: str
    venue_address: str
    venue_accessibility_notes: str
    trainer_first_name: str | None
    has_started: bool
    # Set for a private session only: its pages and booking form are reached with it.
    private_token: str | None = None
    # A requalification course's full course (slug, title): booking asks for each
    # attendee's current certificate expiry date, and a late one is sent there.
    requalifies: tuple[str, str] | None = None

    @property
    def is_requalification(self) -> bool:
        return self.requalifies is not None

    @property
    def is_private(self) -> bool:
        return self.private_token is not None

    @property
    def is_fully_booked(self) -> bool:
        return self.seats_available <= 0

    @property
    def is_bookable(self) -> bool:
        return (self.status == SessionStatus.SCHEDULED.value and not self.has_started
                and self.seats_available > 0)


@dataclass(frozen=True)
class CourseDetail:
    course: CourseView
    sessions: list[SessionView]
    total_sessions: int


@dataclass(frozen=True)
class HomeOverview:
    courses: list[CourseView]
    next_sessions: list[SessionView]


@dataclass(frozen=True)
class SessionCalendar:
    """Everything the session calendar page shows."""

    search: SessionSearch
    results: Page[SessionView]
    courses: list[CourseView]
    towns: list[str]
    months: list[date]
    problems: dict[str, str] = field(default_factory=dict)
    notice: str | None = None


# -- reading ----------------------------------------------------------------------
def list_courses() -> list[CourseView]:
    """Active courses, by category then title."""
    return [_course_view(c) for c in CourseRepository().list_active()]


def get_course(slug: str) -> CourseView:
    """An active course by slug; NotFound otherwise."""
    course = CourseRepository().get_by_slug(slug) if is_plain(slug, 80) else None
    if course is None or not course.is_active:
        raise NotFound("We could not find that course.")
    return _course_view(course)


def course_detail(slug: str, *, limit: int = 12, now: datetime | None = None) -> CourseDetail:
    """A course and its next `limit` upcoming sessions."""
    course = get_course(slug)
    page = search_sessions(SessionSearch(course_slug=course.slug, per_page=limit), now=now)
    return CourseDetail(course=course, sessions=page.items, total_sessions=page.total)


def upcoming_sessions(limit: int = 4, *, now: datetime | None = None) -> list[SessionView]:
    return search_sessions(SessionSearch(per_page=limit), now=now).items


def home_overview(*, session_limit: int = 4, now: datetime | None = None) -> HomeOverview:
    return HomeOverview(courses=list_courses(),
                        next_sessions=upcoming_sessions(session_limit, now=now))


def list_towns() -> list[str]:
    return VenueRepository().towns()


def search_sessions(search: SessionSearch, *, now: datetime | None = None) -> Page[SessionView]:
    """One page of sessions matching `search`, soonest first, with seats available.

    Only scheduled sessions of active courses; only upcoming ones unless
    `search.include_past`. Three queries per page (four with a town), whatever its size.
    """
    now = now or utcnow()
    starts_from, starts_before = _utc_bounds(search, now)
    if starts_before is not None and starts_from is not None and starts_before <= starts_from:
        return Page(items=[], page=search.page, per_page=search.per_page, total=0)
    town = _canonical_town(search.town) if search.town else None
    repo = SessionRepository()
    stmt = repo.search(SessionFilters(course_slug=search.course_slug, town=town,
                                      starts_from=starts_from, starts_before=starts_before))
    page = repo.paginate(stmt, page=search.page, per_page=search.per_page)
    return replace(page, items=_session_views(page.items, now))


def get_session(session_id: int, *, now: datetime | None = None) -> SessionView:
    """One session with its seats available; NotFound for unknown ids, for
    sessions of deleted or inactive courses and for private sessions (which open
    only through their private link: get_private_session). Cancelled and past
    sessions are returned (their page says so) but are not bookable."""
    session = SessionRepository().get(session_id) if 0 < session_id <= MAX_DB_ID else None
    if session is None or not session.is_listed:
        raise NotFound("We could not find that session.")
    return _public_view(session, now)


def get_private_session(token: str, *, now: datetime | None = None) -> SessionView:
    """A private session by the token of its private link; NotFound (like any
    unknown page) for a token that opens nothing."""
    session = (SessionRepository().get_by_private_token(token)
               if looks_like_private_token(token) else None)
    if session is None:
        raise NotFound("We could not find that session.")
    return _public_view(session, now)


def looks_like_private_token(token: object) -> bool:
    """Whether `token` has the shape of a private link's token (before any query)."""
    return (isinstance(token, str) and 20 <= len(token) <= 64 and token.isascii()
            and all(c.isalnum() or c in "-_" for c in token))


def _public_view(session: CourseSession, now: datetime | None) -> SessionView:
    if session.course.is_deleted or not session.course.is_active:
        raise NotFound("We could not find that session.")
    return _session_views([session], now or utcnow())[0]


# -- parsing search parameters ------------------------------------------------------
def parse_session_search(params: Mapping[str, str]) -> SessionSearch:
    """Validate query parameters (course, town, month, from, to, page, per_page).

    Raises InvalidInput whose `fields` name every bad parameter. An unknown
    course slug is not an error: it is a filter that matches nothing.
    """
    search, problems = session_search_from_query(params, max_per_page=MAX_PER_PAGE)
    if problems:
        raise InvalidInput("Some of the search parameters are not valid.", fields=problems)
    return search


def session_calendar(params: Mapping[str, str], *, now: datetime | None = None) -> SessionCalendar:
    """The calendar page: bad parameters are dropped with a message, never refused."""
    now = now or utcnow()
    search, problems = session_search_from_query(params, max_per_page=MAX_PER_PAGE)
    courses = list_courses()
    notice = None
    if search.course_slug and search.course_slug not in {c.slug for c in courses}:
        notice = "We don't currently run a course with that name, so there are no dates to show."
    results = search_sessions(search, now=now)
    return SessionCalendar(search=search, results=results, courses=courses, towns=list_towns(),
                           months=_calendar_months(now, search.month), problems=problems,
                           notice=notice)


# -- helpers ------------------------------------------------------------------------
def london_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in London."""
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(timezone.utc)


def _next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def _utc_bounds(search: SessionSearch, now: datetime) -> tuple[datetime | None, datetime | None]:
    lower: list[datetime] = [] if search.include_past else [now]
    upper: list[datetime] = []
    if search.month:
        lower.append(london_midnight(search.month))
        upper.append(london_midnight(_next_month(search.month)))
    if search.date_from:
        lower.append(london_midnight(search.date_from))
    if search.date_to:
        upper.append(london_midnight(search.date_to + timedelta(days=1)))
    return (max(lower) if lower else None), (min(upper) if upper else None)


def _calendar_months(now: datetime, chosen: date | None) -> list[date]:
    first = now.astimezone(LONDON).date().replace(day=1)
    months = [first]
    for _ in range(CALENDAR_MONTHS - 1):
        months.append(_next_month(months[-1]))
    if chosen and chosen not in months:
        months = sorted([*months, chosen])
    return months


def _canonical_town(town: str) -> str:
    """Towns match whatever the case: 'leeds' finds 'Leeds'."""
    for known in list_towns():
        if known.casefold() == town.casefold():
            return known
    return town


def _course_view(course) -> CourseView:
    return CourseView(
        id=course.id, slug=course.slug, title=course.title, category=course.category,
        summary=course.summary, description_html=course.description_html,
        duration_days=course.duration_days, duration_hours=course.duration_hours,
        price_pence=course.price_pence,
        certificate_validity_months=course.certificate_validity_months,
        requalifies=((course.requalifies.slug, course.requalifies.title)
                     if course.requalifies_course_id is not None else None),
    )


def _session_views(sessions: Sequence[CourseSession], now: datetime) -> list[SessionView]:
    taken = BookingRepository().seats_taken_by_session([s.id for s in sessions], now)
    return [_session_view(s, taken.get(s.id, 0), now) for s in sessions]


def _session_view(session: CourseSession, seats_taken: int, now: datetime) -> SessionView:
    course, venue, trainer = session.course, session.venue, session.trainer
    return SessionView(
        id=session.id,
        course_slug=course.slug,
        course_title=course.title,
        course_category=course.category,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        capacity=session.capacity,
        seats_available=max(0, session.capacity - seats_taken),
        price_pence=session.price_pence,
        status=session.status.value,
        venue_name=venue.name,
        venue_town=venue.town,
        venue_postcode=venue.postcode,
        venue_address=venue.one_line_address,
        venue_accessibility_notes=venue.accessibility_notes,
        trainer_first_name=trainer.full_name.split()[0] if trainer and trainer.full_name else None,
        has_started=session.starts_at <= now,
        private_token=session.private_token if session.is_private else None,
        # Loaded only for requalification courses (one query per full course at most).
        requalifies=((course.requalifies.slug, course.requalifies.title)
                     if course.requalifies_course_id is not None else None),
    )
