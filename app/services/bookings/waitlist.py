"""Waiting lists: customers join a full session's list (the public page and the
API, while the ``WAITLIST_ENABLED`` switch is on) and leave it through a signed
link; staff see each list with its offers, add someone who phoned, offer seats
by hand and remove entries.

An offer holds seats: it is a hold made for the entry under the session's seat
lock (app.services.bookings.waitlist_offers explains why, and when offers are
made automatically). Staff offers are made the same way, so an offer can never
promise a seat someone else holds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from app.models import CourseSession, SessionStatus, WaitlistEntry, WaitlistStatus, utcnow
from app.repositories import BookingRepository, Page, SessionRepository, unit_of_work
from app.repositories.admin import WaitlistRepository
from app.services.bookings import waitlist_offers as offers
from app.services.core import switches
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import (
    InvalidState, InvalidToken, NotFound, SeatsAvailable, SessionNotBookable,
)
from app.services.core.inputs import DEFAULT_PER_PAGE, checked, parse
from app.validation import validate_email, validate_person_name, validate_uk_phone
from app.validation.admin import validate_whole_number

AUDITED_FIELDS = offers.AUDITED_FIELDS
DEFAULT_OFFER_HOURS = offers.DEFAULT_OFFER_HOURS
OPEN = WaitlistEntry.OPEN_STATUSES
# Entries staff may offer seats to: waiting, or after an offer that ended unanswered or declined.
OFFERABLE = (WaitlistStatus.WAITING, WaitlistStatus.LAPSED, WaitlistStatus.DECLINED)

HOURS_RULE = partial(validate_whole_number, field_label="hours the offer lasts", minimum=1,
                     maximum=168)
RULES = {
    "name": validate_person_name,
    "email": validate_email,
    "phone": partial(validate_uk_phone, required=False),
    "seats": partial(validate_whole_number, field_label="seats", minimum=1, maximum=12),
}
PUBLIC_FIELDS = {"name", "email", "seats"}


class WaitlistClosed(NotFound):
    """The public waiting list is switched off: its form is not shown and its
    API answers 404 with this code and message."""

    code = "waitlist_disabled"
    message = "This site is not taking waiting-list entries at the moment."


@dataclass(frozen=True)
class EntryView:
    entry: WaitlistEntry
    position: int
    state: WaitlistStatus  # the entry's status as its offer's hold stands now

    @property
    def is_lapsed(self) -> bool:
        return self.state == WaitlistStatus.LAPSED


@dataclass(frozen=True)
class SessionWaitlist:
    session: CourseSession
    entries: list[EntryView]    # on the list: waiting, or holding an offer
    history: list[EntryView]    # booked, declined, lapsed or removed
    seats_available: int        # free now (seats held by offers are taken)
    seats_offered: int          # held by live offers

    @property
    def seats_to_offer(self) -> int:
        return self.seats_available


@dataclass(frozen=True)
class WaitlistSummary:
    session: CourseSession
    waiting: int
    seats_available: int


@dataclass(frozen=True)
class Joined:
    entry: WaitlistEntry
    position: int
    is_new: bool
    leave_url: str


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
    """One session's list in order, each entry with its offer's state as it stands
    now, and the closed entries below."""
    now = now or utcnow()
    course_session = _session(session_id)
    entries = WaitlistRepository().for_session(session_id, include_closed=True)
    states = [(e, e.offer_outcome(now)) for e in entries]
    open_entries = [(e, st) for e, st in states if st in OPEN]
    views = [EntryView(e, i + 1, st) for i, (e, st) in enumerate(open_entries)]
    history = [EntryView(e, 0, st) for e, st in states if st not in OPEN]
    taken = BookingRepository().seats_taken(session_id, now)
    return SessionWaitlist(course_session, views, history,
                           max(0, course_session.capacity - taken),
                           sum(e.seats for e, st in open_entries
                               if st == WaitlistStatus.OFFERED))


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


# -- the public list ------------------------------------------------------------------------
def is_open_to_public() -> bool:
    return switches.is_on("WAITLIST_ENABLED")


def join(session_id: int, data: Mapping, *, max_seats: int = 12,
         now: datetime | None = None) -> Joined:
    """A customer joins a session's list for `seats` seats.

    Under the session's seat lock, so the seat count is the one every hold sees
    and one email is on a list once: the same email again returns its entry
    (is_new False). WaitlistClosed (404) while the switch is off; SeatsAvailable
    (409, ``seats_available``) if the seats are free now; SessionNotBookable for
    a session that has started or is not running; InvalidInput per field."""
    if not is_open_to_public():
        raise WaitlistClosed()
    rules = {**RULES, "seats": partial(validate_whole_number, field_label="seats", minimum=1,
                                       maximum=max_seats)}
    values = parse({k: data.get(k) for k in PUBLIC_FIELDS}, rules, only=PUBLIC_FIELDS)
    now = now or utcnow()
    with unit_of_work():
        course_session = SessionRepository().lock_and_get(session_id)
        if course_session is None or not course_session.is_listed:
            # A private session is only ever reached through its private link, and its
            # seats are the client's to fill: no public waiting list, not even by id.
            raise NotFound("We could not find that session.")
        if not offers._is_bookable(course_session, now):
            raise SessionNotBookable("This session is not taking bookings, so it has no "
                                     "waiting list.")
        entries = WaitlistRepository().for_session(session_id)
        email = values["email"].lower()
        for position, entry in enumerate(entries, start=1):
            if entry.email.lower() == email:
                return Joined(entry, position, False, offers.leave_url(entry))
        if values["seats"] <= offers.free_seats(course_session, now):
            raise SeatsAvailable(fields={"seats": "Those seats are free now: book them instead."})
        entry = WaitlistRepository().add(WaitlistEntry(
            session_id=session_id, status=WaitlistStatus.WAITING, name=values["name"],
            email=values["email"], seats=values["seats"]))
        return Joined(entry, len(entries) + 1, True, offers.leave_url(entry))


def entry_from_leave_link(entry_id: int, token: object) -> WaitlistEntry:
    """The entry a signed leave link names; InvalidToken for anything else."""
    entry = WaitlistRepository().get(entry_id)
    if entry is None or not offers.token_matches(token, offers.policy().leave_token(entry_id)):
        raise InvalidToken()
    return entry


def leave(entry_id: int, token: object, *, now: datetime | None = None) -> WaitlistEntry:
    """Leave the list through the signed link; a live offer's seats go on to the
    next entry. Harmless twice; a booked entry stays booked."""
    now = now or utcnow()
    entry = entry_from_leave_link(entry_id, token)
    with unit_of_work():
        SessionRepository().lock_and_get(entry.session_id)
        entry = WaitlistRepository().refresh(entry)
        offers.settle([entry], now)
        if entry.status in OPEN:
            offers.give_back(entry, entry.booking, now, WaitlistStatus.CANCELLED)
    return entry


# -- staff offers ---------------------------------------------------------------------------
def _locked_list(session_id: int, now: datetime) -> tuple[CourseSession, list[WaitlistEntry]]:
    """Take the session's seat lock; its entries (all of them) with ended offers settled."""
    course_session = SessionRepository().lock_and_get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    if not offers._is_bookable(course_session, now):
        raise InvalidState("This session is not taking bookings, so no seats can be offered.")
    entries = WaitlistRepository().for_session(session_id, include_closed=True)
    offers.settle(entries, now)
    return course_session, entries


def _no_room(free: int, entry: WaitlistEntry | None = None) -> InvalidState:
    noun = "seat is" if free == 1 else "seats are"
    if entry is None:
        return InvalidState(f"Only {max(0, free)} {noun} free: nobody waiting asked for so few.")
    return InvalidState(f"{max(0, free)} {noun} free to offer; "
                        f"{entry.name} asked for {entry.seats}.")


def offer_next(actor_id: int, session_id: int, *, hours: object = DEFAULT_OFFER_HOURS,
               now: datetime | None = None) -> WaitlistEntry:
    """Offer seats to the first person waiting whose request fits the seats free."""
    now = now or utcnow()
    hours = checked(HOURS_RULE, hours, "hours")
    with unit_of_work():
        course_session, entries = _locked_list(session_id, now)
        free = offers.free_seats(course_session, now)
        if free <= 0:
            raise InvalidState("No seats are free to offer on this session right now.")
        waiting = [e for e in entries if e.status == WaitlistStatus.WAITING]
        if not waiting:
            raise InvalidState("Nobody is waiting for this session.")
        entry = next((e for e in waiting if e.seats <= free), None)
        if entry is None:
            raise _no_room(free)
        offers.hold_for(entry, course_session, now, hours=hours, actor_id=actor_id)
    return entry


def offer(actor_id: int, entry_id: int, *, hours: object = DEFAULT_OFFER_HOURS,
          now: datetime | None = None) -> WaitlistEntry:
    """Offer seats to one particular entry (waiting, or after an offer that ended)."""
    now = now or utcnow()
    hours = checked(HOURS_RULE, hours, "hours")
    entry = _entry(entry_id)
    with unit_of_work():
        course_session, entries = _locked_list(entry.session_id, now)
        entry = next(e for e in entries if e.id == entry_id)
        if entry.status == WaitlistStatus.OFFERED:
            raise InvalidState(f"{entry.name} already holds an offer for these seats.")
        if entry.status not in OFFERABLE:
            raise InvalidState("This person is no longer on the waiting list.")
        free = offers.free_seats(course_session, now)
        if entry.seats > free:
            raise _no_room(free, entry)
        offers.hold_for(entry, course_session, now, hours=hours, actor_id=actor_id)
    return entry


def _entry(entry_id: int) -> WaitlistEntry:
    entry = WaitlistRepository().get(entry_id)
    if entry is None:
        raise NotFound("We could not find that waiting-list entry.")
    return entry


def remove(actor_id: int, entry_id: int, *, now: datetime | None = None) -> WaitlistEntry:
    """Take someone off the list (they booked, or no longer want a seat); a live
    offer's seats go on to the next entry."""
    now = now or utcnow()
    entry = _entry(entry_id)
    with unit_of_work():
        SessionRepository().lock_and_get(entry.session_id)
        entry = WaitlistRepository().refresh(entry)
        offers.settle([entry], now)
        if entry.status not in OPEN + (WaitlistStatus.LAPSED, WaitlistStatus.DECLINED):
            return entry
        before = snapshot(entry, AUDITED_FIELDS)
        offers.give_back(entry, entry.booking, now, WaitlistStatus.CANCELLED)
        record_audit(actor_id, "waitlist.remove", "waitlist", entry.id,
                     before=before, after=snapshot(entry, AUDITED_FIELDS))
    return entry


def get_entry(entry_id: int) -> WaitlistEntry:
    return _entry(entry_id)
