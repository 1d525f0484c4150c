"""Admin: waiting lists. See who is waiting for a full session, offer free seats
to the next person in line, add someone who phoned, remove an entry.

An offer does not hold seats: it is an email (WaitlistOfferMade, sent by the
notifications handler) with a link to the session's booking page, valid until
`offer_expires_at`. Seats under an unexpired offer are not offered to anyone
else, so two people are never invited for one seat; an offer that lapses
stays on the list marked as lapsed, and the admin can offer again or remove it.
Offers are made under the session's seat lock, so the free-seat count they
rely on is the one every booking sees.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from app.models import CourseSession, SessionStatus, WaitlistEntry, WaitlistStatus, utcnow
from app.repositories import BookingRepository, Page, SessionRepository, unit_of_work
from app.repositories.admin import WaitlistRepository
from app.services.core import events, links
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidState, NotFound
from app.services.core.inputs import DEFAULT_PER_PAGE, checked, parse
from app.validation import validate_email, validate_person_name, validate_uk_phone
from app.validation.admin import validate_whole_number

AUDITED_FIELDS = ("session_id", "name", "email", "phone", "seats", "status", "offered_at",
                  "offer_expires_at")
DEFAULT_OFFER_HOURS = 24
OPEN = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)

HOURS_RULE = partial(validate_whole_number, field_label="hours the offer lasts", minimum=1,
                     maximum=168)
RULES = {
    "name": validate_person_name,
    "email": validate_email,
    "phone": partial(validate_uk_phone, required=False),
    "seats": partial(validate_whole_number, field_label="seats", minimum=1, maximum=12),
}


@dataclass(frozen=True)
class EntryView:
    entry: WaitlistEntry
    position: int
    is_lapsed: bool


@dataclass(frozen=True)
class SessionWaitlist:
    session: CourseSession
    entries: list[EntryView]
    seats_available: int
    seats_offered: int

    @property
    def seats_to_offer(self) -> int:
        return max(0, self.seats_available - self.seats_offered)


@dataclass(frozen=True)
class WaitlistSummary:
    session: CourseSession
    waiting: int
    seats_available: int


def _offered_seats(entries: list[WaitlistEntry], now: datetime) -> int:
    return sum(e.seats for e in entries if e.offer_is_live(now))


def _session(session_id: int) -> CourseSession:
    course_session = SessionRepository().get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    return course_session


def overview(*, page: int = 1, now: datetime | None = None,
             per_page: int = DEFAULT_PER_PAGE) -> Page[WaitlistSummary]:
    """Upcoming sessions with someone on the waiting list, soonest first."""
    now = now or utcnow()
    repo = WaitlistRepository()
    results = repo.paginate(repo.sessions_with_waiters(now), page=page, per_page=per_page)
    ids = [s.id for s in results.items]
    waiting = repo.open_counts(ids)
    taken = BookingRepository().seats_taken_by_session(ids, now)
    return replace(results, items=[
        WaitlistSummary(s, waiting.get(s.id, 0), max(0, s.capacity - taken.get(s.id, 0)))
        for s in results.items])


def session_waitlist(session_id: int, *, now: datetime | None = None) -> SessionWaitlist:
    now = now or utcnow()
    course_session = _session(session_id)
    entries = WaitlistRepository().for_session(session_id)
    taken = BookingRepository().seats_taken(session_id, now)
    views = [EntryView(e, i + 1, e.offer_has_lapsed(now))
             for i, e in enumerate(entries)]
    return SessionWaitlist(course_session, views, max(0, course_session.capacity - taken),
                           _offered_seats(entries, now))


def add_entry(actor_id: int, session_id: int, data: Mapping) -> WaitlistEntry:
    """Put someone on a session's waiting list (they phoned or emailed)."""
    values = parse(data, RULES)
    with unit_of_work():
        course_session = _session(session_id)
        if course_session.status != SessionStatus.SCHEDULED:
            raise InvalidState("This session is not running, so it has no waiting list.")
        entry = WaitlistRepository().add(WaitlistEntry(session_id=session_id,
                                                       status=WaitlistStatus.WAITING, **values))
        record_audit(actor_id, "waitlist.add", "waitlist", entry.id,
                     after=snapshot(entry, AUDITED_FIELDS))
    return entry


def _make_offer(actor_id: int, entry: WaitlistEntry, hours: int, now: datetime) -> WaitlistEntry:
    before = snapshot(entry, AUDITED_FIELDS)
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.offer_expires_at = now + timedelta(hours=hours)
    WaitlistRepository().flush()
    events.record_event(events.WAITLIST_OFFER_MADE, entry.id, {
        "entry_id": entry.id, "email": entry.email, "name": entry.name,
        "session_id": entry.session_id, "seats": entry.seats,
        "offer_url": links.current().session_link(entry.session_id),
        "expires_at": entry.offer_expires_at.isoformat(),
    })
    record_audit(actor_id, "waitlist.offer", "waitlist", entry.id,
                 before=before, after=snapshot(entry, AUDITED_FIELDS))
    return entry


def _lock_and_count(session_id: int, now: datetime) -> tuple[list[WaitlistEntry], int]:
    """Take the session's seat lock; return its open entries and the seats that can
    be offered (free seats less those under unexpired offers)."""
    course_session = SessionRepository().lock_and_get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    if course_session.status != SessionStatus.SCHEDULED or course_session.starts_at <= now:
        raise InvalidState("This session is not taking bookings, so no seats can be offered.")
    entries = WaitlistRepository().for_session(session_id)
    free = course_session.capacity - BookingRepository().seats_taken(session_id, now)
    return entries, free - _offered_seats(entries, now)


def offer_next(actor_id: int, session_id: int, *, hours: object = DEFAULT_OFFER_HOURS,
               now: datetime | None = None) -> WaitlistEntry:
    """Offer seats to the first person waiting whose request fits the seats free."""
    now = now or utcnow()
    hours = checked(HOURS_RULE, hours, "hours")
    with unit_of_work():
        entries, to_offer = _lock_and_count(session_id, now)
        if to_offer <= 0:
            raise InvalidState("No seats are free to offer on this session right now.")
        waiting = [e for e in entries if e.status == WaitlistStatus.WAITING]
        if not waiting:
            raise InvalidState("Nobody is waiting for this session.")
        entry = next((e for e in waiting if e.seats <= to_offer), None)
        if entry is None:
            noun = "seat is" if to_offer == 1 else "seats are"
            raise InvalidState(f"Only {to_offer} {noun} free: nobody waiting asked for so few.")
        return _make_offer(actor_id, entry, hours, now)


def offer(actor_id: int, entry_id: int, *, hours: object = DEFAULT_OFFER_HOURS,
          now: datetime | None = None) -> WaitlistEntry:
    """Offer seats to one particular entry (or offer again after a lapsed offer)."""
    now = now or utcnow()
    hours = checked(HOURS_RULE, hours, "hours")
    entry = _entry(entry_id)
    with unit_of_work():
        entries, to_offer = _lock_and_count(entry.session_id, now)
        entry = next((e for e in entries if e.id == entry_id), None)
        if entry is None:
            raise InvalidState("This person is no longer on the waiting list.")
        if entry.offer_is_live(now):
            to_offer += entry.seats  # re-offering: their own seats are not "taken" by them
        if entry.seats > to_offer:
            noun = "seat is" if to_offer == 1 else "seats are"
            raise InvalidState(f"{max(0, to_offer)} {noun} free to offer; "
                               f"{entry.name} asked for {entry.seats}.")
        return _make_offer(actor_id, entry, hours, now)


def _entry(entry_id: int) -> WaitlistEntry:
    entry = WaitlistRepository().get(entry_id)
    if entry is None:
        raise NotFound("We could not find that waiting-list entry.")
    return entry


def remove(actor_id: int, entry_id: int) -> WaitlistEntry:
    """Take someone off the list (they booked, or no longer want a seat)."""
    with unit_of_work():
        entry = _entry(entry_id)
        if entry.status not in OPEN:
            return entry
        before = snapshot(entry, AUDITED_FIELDS)
        entry.status = WaitlistStatus.CANCELLED
        record_audit(actor_id, "waitlist.remove", "waitlist", entry.id,
                     before=before, after=snapshot(entry, AUDITED_FIELDS))
    return entry


def get_entry(entry_id: int) -> WaitlistEntry:
    return _entry(entry_id)
