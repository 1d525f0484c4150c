"""Requalification courses: who may book them, and which sessions to offer someone
whose certificate runs out.

A requalification course (Course.requalifies_course_id names the full course it
renews) is only for people whose certificate is still valid, or expired at most
REQUAL_GRACE_DAYS (default 28) before the course starts. Both days are UK calendar
days: a course starting at 00:30 on 1 April in London starts on 31 March in UTC,
and the grace period must not shift with the clock change in between.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from app.models import Course, CourseSession, utcnow
from app.repositories.sessions import SessionRepository
from app.services.core import links
from app.services.core.errors import InvalidInput
from app.services.core.ukformat import london, uk_date

FIELD = "certificate_expires_on"


def latest_eligible_expiry(course_session: CourseSession, grace_days: int) -> date:
    """The earliest expiry date that may still book `course_session`'s requalification."""
    return london(course_session.starts_at).date() - timedelta(days=grace_days)


def refusal(name: str, expires_on: date, full_course: Course, grace_days: int) -> str:
    return (f"{name}'s certificate expired on {uk_date(expires_on)}, more than {grace_days} "
            f"days before this course starts, so it can no longer be renewed by "
            f"requalification. Book the full {full_course.title} course instead: "
            f"{links.current().course_link(full_course.slug)}")


def check_attendees(course_session: CourseSession, attendees: Sequence,
                    *, grace_days: int) -> list[date | None]:
    """Each attendee's current certificate expiry date to store (None on other
    courses), or InvalidInput with a message at attendees.N.certificate_expires_on for
    each one missing or expired more than `grace_days` days before the course starts."""
    course = course_session.course
    if not course.is_requalification:
        return [None] * len(attendees)
    full_course = course.requalifies
    earliest = latest_eligible_expiry(course_session, grace_days)
    errors: dict[str, str] = {}
    for index, attendee in enumerate(attendees):
        expires_on = attendee.certificate_expires_on
        if expires_on is None:
            errors[f"attendees.{index}.{FIELD}"] = (
                f"Enter the date {attendee.name}'s current {full_course.title} certificate "
                f"expires: requalification is only for current certificate holders.")
        elif expires_on < earliest:
            errors[f"attendees.{index}.{FIELD}"] = refusal(attendee.name, expires_on,
                                                           full_course, grace_days)
    if errors:
        raise InvalidInput("Requalification is only for people whose certificate is current "
                           "or recently expired.", fields=errors)
    return [attendee.certificate_expires_on for attendee in attendees]


def next_requalification_sessions(course: Course, *, limit: int = 3,
                                  now: datetime | None = None) -> list[CourseSession]:
    """The next bookable sessions that renew a certificate from `course` (a full
    course, or a requalification of one), soonest first."""
    return SessionRepository().upcoming_requalifications(course.full_course_id,
                                                         now=now or utcnow(), limit=limit)
