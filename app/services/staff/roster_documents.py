"""Session rosters for trainers, as PDF and CSV, and the attendee list the
office downloads."""
from __future__ import annotations

from collections.abc import Iterator

from app.models import CourseSession
from app.repositories.attendees import AttendeeRepository
from app.repositories.recipients import RecipientRepository
from app.services.core import provider
from app.services.core.errors import NotFound
from app.services.documents import RosterLine, roster_csv, roster_pdf
from app.validation import format_uk_phone


def _session(session_id: int) -> CourseSession:
    course_session = RecipientRepository().course_session(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    return course_session


def roster_lines(session_id: int, *, requalification: bool = False) -> list[RosterLine]:
    """One line per seat of every confirmed booking, in booking order; on a
    requalification course with the certificate expiry date each attendee stated."""
    lines = []
    for number, attendee in enumerate(AttendeeRepository().on_roster(session_id), start=1):
        booking = attendee.booking
        lines.append(RosterLine(
            number=number, full_name=attendee.full_name, booking_reference=booking.reference,
            contact_name=booking.contact_name,
            contact_phone=format_uk_phone(booking.contact_phone),
            company=booking.company or "", access_needs=attendee.access_needs or "",
            attended=attendee.attended,
            prior_certificate_expires_on=(attendee.prior_certificate_expires_on
                                          if requalification else None)))
    return lines


def session_roster_pdf(session_id: int) -> bytes:
    course_session = _session(session_id)
    return roster_pdf(course_session, roster_lines(
        session_id, requalification=course_session.course.is_requalification),
        provider.current())


def session_roster_csv(session_id: int) -> str:
    _session(session_id)
    return roster_csv(roster_lines(session_id))


def attendee_list(session_id: int) -> tuple[CourseSession, Iterator]:
    """A session and its attendees (confirmed bookings, one row per seat, in
    roster order: name, email, attendance, the booking's reference and contact),
    streamed. NotFound for an unknown session, before anything is streamed."""
    course_session = _session(session_id)
    return course_session, AttendeeRepository().stream_roster_rows(session_id)
