"""The trainer portal: a trainer's sessions, their rosters, attendance and completion.

Who may see what
    Every function takes the signed-in user (`actor`) and checks the object
    against them: a trainer sees and changes only sessions assigned to them,
    an administrator any session. A session (or attendee) that is not the
    actor's raises the same NotFound as one that does not exist, so ids in
    URLs tell a trainer nothing about other trainers' work.

The roster
    Only confirmed bookings are on it (a held seat may still lapse); each seat
    shows the name exactly as it will be printed on the certificate, the
    booking contact's phone, and the access needs the customer chose to share
    (no medical data is collected).

Attendance and completion
    Attendance can be taken from the first day of the session and changes
    until the session is completed. Completing needs every attendee marked
    present or absent, from the session's last day (UK time) on; it sets the
    session to completed and issues a certificate to each attendee present
    (dated the last day of the session). Both take the session's row lock
    first (SessionRepository.lock), so a late attendance change cannot slip
    past a completion running at the same time, and a double-tapped
    "complete" issues each certificate once. Completing again does nothing.
    Each change is written to the audit log and recorded as an event.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from app.models import Attendee, BookingStatus, CourseSession, SessionStatus, User, utcnow
from app.repositories import SessionRepository, unit_of_work
from app.repositories.attendees import AttendeeRepository
from app.repositories.rosters import RosterRepository
from app.services.core import events
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidState, NotFound
from app.services.core.ukformat import LONDON, london
from app.services.staff import roster_documents
from app.services.staff.certificates import issue_certificate
from app.validation import format_uk_phone

SESSION_NOT_FOUND = "We could not find that session."
ATTENDEE_NOT_FOUND = "We could not find that attendee."


# -- what the pages show -------------------------------------------------------------------
@dataclass(frozen=True)
class SessionListing:
    course_session: CourseSession
    seats_confirmed: int
    needs_completing: bool  # ended, still scheduled


@dataclass(frozen=True)
class TrainerSessions:
    upcoming: list[SessionListing]
    past: list[SessionListing]


@dataclass(frozen=True)
class RosterEntry:
    """One seat on a roster."""

    number: int
    attendee_id: int
    full_name: str             # exactly as it will appear on the certificate
    booking_reference: str
    contact_name: str
    contact_phone: str         # for display: "07700 900123"
    contact_phone_e164: str    # for tel: links
    company: str
    access_needs: str
    attended: bool | None
    certificate_number: str | None
    # On a requalification course: the expiry date the booker gave for the attendee's
    # current certificate, for the trainer to check against the certificate itself.
    prior_certificate_expires_on: date | None = None


@dataclass(frozen=True)
class Roster:
    course_session: CourseSession
    entries: list[RosterEntry]
    can_take_attendance: bool
    can_complete: bool
    is_completed: bool
    is_cancelled: bool

    @property
    def present(self) -> int:
        return sum(1 for e in self.entries if e.attended is True)

    @property
    def absent(self) -> int:
        return sum(1 for e in self.entries if e.attended is False)

    @property
    def unmarked(self) -> int:
        return sum(1 for e in self.entries if e.attended is None)


@dataclass(frozen=True)
class Completion:
    course_session: CourseSession
    certificates_issued: int
    already_completed: bool


# -- rules -----------------------------------------------------------------------------------
def _is_staff(actor: User | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) \
        and getattr(actor, "is_active", False)


def may_see(actor: User | None, course_session: CourseSession) -> bool:
    """Admins see every session; a trainer only the sessions assigned to them."""
    if not _is_staff(actor):
        return False
    return actor.is_admin or (course_session.trainer_id is not None
                              and course_session.trainer_id == actor.id)


def _first_day(course_session: CourseSession) -> date:
    return london(course_session.starts_at).date()


def _last_day(course_session: CourseSession) -> date:
    return london(course_session.ends_at).date()


def _attendance_open(course_session: CourseSession, today: date) -> bool:
    return course_session.status == SessionStatus.SCHEDULED and today >= _first_day(course_session)


def _completable(course_session: CourseSession, today: date) -> bool:
    return course_session.status == SessionStatus.SCHEDULED and today >= _last_day(course_session)


def _today(now: datetime | None) -> date:
    return london(now or utcnow()).date()


def _start_of_london_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(timezone.utc)


# -- reading ---------------------------------------------------------------------------------
def trainer_sessions(actor: User, *, now: datetime | None = None,
                     past_limit: int = 50) -> TrainerSessions:
    """The actor's own sessions: upcoming (including today's and any still to be
    completed from earlier today) and past (most recent first)."""
    today = _today(now)
    since = _start_of_london_day(today)
    repo = RosterRepository()
    upcoming = repo.upcoming_for_trainer(actor.id, since)
    past = repo.past_for_trainer(actor.id, since, limit=past_limit)
    seats = repo.confirmed_seats(s.id for s in upcoming + past)

    def listing(course_session: CourseSession) -> SessionListing:
        return SessionListing(course_session, seats.get(course_session.id, 0),
                              _completable(course_session, today)
                              and course_session.ends_at <= (now or utcnow()))

    return TrainerSessions(upcoming=[listing(s) for s in upcoming],
                           past=[listing(s) for s in past])


def get_session_for(actor: User, session_id: int) -> CourseSession:
    """A session the actor may see; NotFound for unknown ids and other trainers' alike."""
    course_session = SessionRepository().get(session_id)
    if course_session is None or not may_see(actor, course_session):
        raise NotFound(SESSION_NOT_FOUND)
    return course_session


def _entry(number: int, attendee: Attendee, course_session: CourseSession) -> RosterEntry:
    booking = attendee.booking
    return RosterEntry(
        number=number,
        attendee_id=attendee.id,
        full_name=attendee.full_name,
        booking_reference=booking.reference,
        contact_name=booking.contact_name,
        contact_phone=format_uk_phone(booking.contact_phone),
        contact_phone_e164=re.sub(r"[^\d+]", "", booking.contact_phone or ""),
        company=booking.company or "",
        access_needs=(attendee.access_needs or "").strip(),
        attended=attendee.attended,
        certificate_number=attendee.certificate_number,
        prior_certificate_expires_on=(attendee.prior_certificate_expires_on
                                      if course_session.course.is_requalification else None),
    )


def _roster(course_session: CourseSession, today: date) -> Roster:
    attendees = AttendeeRepository().on_roster(course_session.id)
    return Roster(
        course_session=course_session,
        entries=[_entry(n, a, course_session) for n, a in enumerate(attendees, start=1)],
        can_take_attendance=_attendance_open(course_session, today),
        can_complete=_completable(course_session, today),
        is_completed=course_session.status == SessionStatus.COMPLETED,
        is_cancelled=course_session.status == SessionStatus.CANCELLED,
    )


def session_roster(actor: User, session_id: int, *, now: datetime | None = None) -> Roster:
    """The roster of a session the actor may see (confirmed bookings only)."""
    return _roster(get_session_for(actor, session_id), _today(now))


def roster_entry(actor: User, session_id: int, attendee_id: int, *,
                 now: datetime | None = None) -> tuple[Roster, RosterEntry]:
    roster = session_roster(actor, session_id, now=now)
    for entry in roster.entries:
        if entry.attendee_id == attendee_id:
            return roster, entry
    raise NotFound(ATTENDEE_NOT_FOUND)


# -- changing --------------------------------------------------------------------------------
def _locked_session_for(actor: User, session_id: int) -> CourseSession:
    """Take the session's row lock (the first write of the transaction), then check access."""
    course_session = SessionRepository().lock_and_get(session_id)
    if course_session is None or not may_see(actor, course_session):
        raise NotFound(SESSION_NOT_FOUND)
    return course_session


def mark_attendance(actor: User, attendee_id: int, attended: bool, *,
                    session_id: int | None = None, now: datetime | None = None) -> RosterEntry:
    """Mark one attendee present (True) or absent (False).

    `session_id`, when given (it is in the URL), must be the attendee's session.
    Raises NotFound for an attendee not on a roster the actor may see, and
    InvalidState before the session's first day, once it is completed, or if
    it was cancelled.
    """
    if not isinstance(attended, bool):
        raise TypeError("attended must be True or False")
    repo = RosterRepository()
    today = _today(now)
    with unit_of_work():
        attendee = repo.attendee_on_confirmed_booking(attendee_id)
        if attendee is None or (session_id is not None
                                and attendee.booking.session_id != session_id):
            raise NotFound(ATTENDEE_NOT_FOUND)
        course_session = _locked_session_for(actor, attendee.booking.session_id)
        # Read again under the lock: the booking may have moved or been cancelled meanwhile.
        repo.refresh(attendee, attendee.booking)
        if attendee.booking.session_id != course_session.id \
                or attendee.booking.status != BookingStatus.CONFIRMED:
            raise NotFound(ATTENDEE_NOT_FOUND)
        if course_session.status == SessionStatus.CANCELLED:
            raise InvalidState("This session was cancelled.")
        if course_session.status == SessionStatus.COMPLETED:
            raise InvalidState("This session is completed, so attendance can no longer be "
                               "changed. Ask an administrator if something is wrong.")
        if today < _first_day(course_session):
            raise InvalidState("You can take the register from the first day of the session.")
        before = attendee.attended
        if before != attended:
            attendee.attended = attended
            key = f"attendee:{attendee.id}.attended"
            record_audit(actor.id, "attendance.mark", "session", course_session.id,
                         before={key: before}, after={key: attended})
            events.record_event(events.ATTENDANCE_MARKED, course_session.id, {
                "session_id": course_session.id, "attendee_id": attendee.id,
                "reference": attendee.booking.reference, "attended": attended,
                "actor_id": actor.id})
        position = [a.id for a in AttendeeRepository().on_roster(course_session.id)]
        return _entry(position.index(attendee.id) + 1, attendee, course_session)


def complete_session(actor: User, session_id: int, today: date) -> Completion:
    """Complete a session and issue certificates to the attendees marked present.

    Idempotent: a completed session is returned as it is. Raises NotFound
    (not the actor's), InvalidState (cancelled, before its last day, or with
    attendees not yet marked).
    """
    with unit_of_work():
        course_session = _locked_session_for(actor, session_id)
        if course_session.status == SessionStatus.COMPLETED:
            return Completion(course_session, certificates_issued=0, already_completed=True)
        if course_session.status == SessionStatus.CANCELLED:
            raise InvalidState("This session was cancelled, so it cannot be completed.")
        if today < _last_day(course_session):
            raise InvalidState("A session can be completed on its last day or later.")
        attendees = AttendeeRepository().on_roster(course_session.id)
        unmarked = [a for a in attendees if a.attended is None]
        if unmarked:
            noun = "attendee is" if len(unmarked) == 1 else "attendees are"
            raise InvalidState(f"{len(unmarked)} {noun} not marked yet. Mark everyone present "
                               "or absent, then complete the session.")
        completed_on = _last_day(course_session)
        course_session.status = SessionStatus.COMPLETED
        issued = 0
        for attendee in attendees:
            if attendee.attended and not attendee.certificate_number:
                issue_certificate(attendee, completed_on)
                issued += 1
        record_audit(actor.id, "session.complete", "session", course_session.id,
                     before={"status": SessionStatus.SCHEDULED.value},
                     after={"status": SessionStatus.COMPLETED.value,
                            "certificates_issued": issued})
        events.record_event(events.SESSION_COMPLETED, course_session.id, {
            "session_id": course_session.id, "completed_on": completed_on.isoformat(),
            "present": sum(1 for a in attendees if a.attended),
            "absent": sum(1 for a in attendees if a.attended is False),
            "certificates_issued": issued, "actor_id": actor.id})
    return Completion(course_session, certificates_issued=issued, already_completed=False)


# -- documents -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes
    mimetype: str


def _filename(course_session: CourseSession, extension: str) -> str:
    day = london(course_session.starts_at).date().isoformat()
    return f"roster-{day}-{course_session.course.slug}-{course_session.id}.{extension}"


def roster_csv_download(actor: User, session_id: int) -> Download:
    """The roster as CSV (UTF-8 with a byte order mark, so Excel reads names right)."""
    course_session = get_session_for(actor, session_id)
    return Download(_filename(course_session, "csv"),
                    roster_documents.session_roster_csv(course_session.id).encode("utf-8-sig"),
                    "text/csv")


def roster_pdf_download(actor: User, session_id: int) -> Download:
    """The roster as PDF, with a signature column (app.services.documents.roster)."""
    course_session = get_session_for(actor, session_id)
    return Download(_filename(course_session, "pdf"),
                    roster_documents.session_roster_pdf(course_session.id), "application/pdf")
