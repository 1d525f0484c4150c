"""Attendance certificates: issuing a unique number with its dates, and the
public check of a number.

The trainer portal calls `issue_certificate` when a session is completed for
each attendee present; issuing twice keeps the first certificate. Each issue
records a CertificateIssued event, which emails the certificate PDF.

After a name correction an administrator reissues a certificate
(`reissue_certificate`): same dates, a new number; the old number is kept as
superseded, so /verify says it was genuine and names its replacement (a printed
copy with the old name must not pass as current). `certificate_download` is
who may download which certificate: a manage link its booking's attendees, a
trainer their sessions', an administrator any.
"""
from __future__ import annotations

import calendar
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.models import Attendee, Booking, SupersededCertificate, utcnow
from app.repositories import unit_of_work
from app.repositories.attendees import AttendeeRepository
from app.services.core import events, links, provider
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput, InvalidState, NotFound
from app.services.core.ukformat import london
from app.services.documents import certificate_pdf
from app.validation import FieldError
from app.validation.fields import validate_person_name

# No 0/O, 1/I/L: numbers are read out over the phone and typed from paper.
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
NUMBER_PATTERN = re.compile(r"^RFT-\d{4}-[A-Z0-9]{6}$")
# How far ahead the office's list of certificates due to expire looks.
EXPIRING_WITHIN_DAYS = 90
# Shown instead of a name removed under the retention policy (see app.services.background.retention).
REMOVED_NAME = "[removed]"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def new_certificate_number(completed_on: date) -> str:
    """'RFT-2603-K7M2QX': year and month of completion, then 6 random characters."""
    suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(6))
    return f"RFT-{completed_on:%y%m}-{suffix}"


def normalise_number(raw: object) -> str | None:
    """A certificate number as typed (any case, spaces) or None if it cannot be one."""
    if not isinstance(raw, str):
        return None
    number = re.sub(r"\s+", "", raw).upper()
    return number if NUMBER_PATTERN.match(number) else None


def issue_certificate(attendee: Attendee | int, completed_on: date, *,
                      now: datetime | None = None) -> Attendee:
    """Give an attendee their certificate (valid for the course's
    certificate_validity_months from `completed_on`). Idempotent."""
    repo = AttendeeRepository()
    attendee_id = attendee if isinstance(attendee, int) else attendee.id
    with unit_of_work() as session:
        record = repo.get(attendee_id)
        if record is None:
            raise NotFound("We could not find that attendee.")
        if record.certificate_number:
            return record
        months = record.booking.session.course.certificate_validity_months
        expires_on = add_months(completed_on, months)
        for _ in range(10):
            number = new_certificate_number(completed_on)
            try:
                with session.begin_nested():
                    issued = repo.assign_certificate(attendee_id, number=number,
                                                     issued_on=completed_on,
                                                     expires_on=expires_on)
                break
            except IntegrityError:  # the number exists already: draw another
                continue
        else:  # pragma: no cover - 10 collisions in a space of 887 million
            raise RuntimeError("could not draw an unused certificate number")
        session.refresh(record)
        if issued:
            events.record_event(events.CERTIFICATE_ISSUED, record.certificate_number, {
                "attendee_id": record.id, "reference": record.booking.reference,
                "certificate_number": record.certificate_number,
                "expires_on": expires_on.isoformat()})
    return record


@dataclass(frozen=True)
class CertificateCheck:
    """What the public verification page may say about a number."""

    number: str
    status: str  # "valid", "expired", "superseded" or "unknown"
    holder_name: str | None = None
    course_title: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    # A superseded number: the number that replaced it, and when (UK date).
    replaced_by: str | None = None
    superseded_on: date | None = None

    @property
    def is_genuine(self) -> bool:
        """Issued by us (a superseded number was, but no longer stands on its own)."""
        return self.status in ("valid", "expired", "superseded")

    @property
    def holder_removed(self) -> bool:
        return self.holder_name == REMOVED_NAME


def verify_certificate(number: object, *, today: date | None = None) -> CertificateCheck:
    """Whether `number` is one of ours and still valid. Never raises for bad input."""
    cleaned = normalise_number(number)
    shown = cleaned or (str(number)[:40] if isinstance(number, str) else "")
    if cleaned is None:
        return CertificateCheck(number=shown, status="unknown")
    repo = AttendeeRepository()
    attendee = repo.get_by_certificate_number(cleaned)
    if attendee is None:
        superseded = repo.get_superseded(cleaned)
        if superseded is None:
            return CertificateCheck(number=cleaned, status="unknown")
        return CertificateCheck(
            number=cleaned, status="superseded",
            course_title=superseded.attendee.booking.session.course.title,
            issued_on=superseded.issued_on, expires_on=superseded.expires_on,
            replaced_by=superseded.replaced_by,
            superseded_on=london(superseded.superseded_at).date())
    if attendee.certificate_expires_on is None:
        return CertificateCheck(number=cleaned, status="unknown")
    today = today or london(utcnow()).date()
    status = "valid" if today <= attendee.certificate_expires_on else "expired"
    return CertificateCheck(
        number=cleaned, status=status, holder_name=attendee.full_name,
        course_title=attendee.booking.session.course.title,
        issued_on=attendee.certificate_issued_on, expires_on=attendee.certificate_expires_on)


def certificates_due_to_expire(*, today: date | None = None,
                               within_days: int = EXPIRING_WITHIN_DAYS) -> Iterator:
    """Certificates expiring from `today` to `within_days` later (both included, UK
    days), soonest first, with the booking's contact, for the office to offer
    requalification. Streamed rows; names removed under the retention policy are
    left out (there is nobody left to contact)."""
    today = today or london(utcnow()).date()
    return AttendeeRepository().stream_certificates_expiring(
        today, today + timedelta(days=within_days), excluding_name=REMOVED_NAME)


def certificate_document(attendee: Attendee) -> bytes:
    """The certificate PDF of an attendee who has been issued one."""
    if not attendee.certificate_number:
        raise NotFound("This attendee has no certificate yet.")
    course_session = attendee.booking.session
    course = course_session.course
    days = f"{course.duration_days}-day course" if course.duration_days else "Course"
    return certificate_pdf(
        learner_name=attendee.full_name, course_title=course.title,
        duration_text=f"{days} ({course.duration_hours} hours)",
        completed_on=attendee.certificate_issued_on, expires_on=attendee.certificate_expires_on,
        certificate_number=attendee.certificate_number,
        verify_url=links.current().verify_link(attendee.certificate_number),
        provider=provider.current(),
        trainer_name=course_session.trainer.full_name if course_session.trainer else None,
        venue_town=course_session.venue.town)


# -- who downloads, reissues and resends --------------------------------------------------
def certificate_download(number: object, *, booking: Booking | None = None,
                         trainer_id: int | None = None, as_admin: bool = False) -> tuple[str, bytes]:
    """The current certificate `number` as (number, PDF), for whoever may have it: the
    holder of `booking`'s manage link if the certificate is one of its attendees', the
    trainer `trainer_id` if it is from one of their sessions, an administrator always.
    Anything else, a superseded or unknown number included, is NotFound: the answer
    says nothing about certificates the caller may not see."""
    cleaned = normalise_number(number)
    attendee = AttendeeRepository().get_by_certificate_number(cleaned) if cleaned else None
    allowed = attendee is not None and (
        as_admin
        or (booking is not None and attendee.booking_id == booking.id)
        or (trainer_id is not None and attendee.booking.session.trainer_id == trainer_id))
    if not allowed:
        raise NotFound("We could not find that certificate.")
    return attendee.certificate_number, certificate_document(attendee)


def _draw_unused_number(repo: AttendeeRepository, completed_on: date) -> str:
    for _ in range(10):
        number = new_certificate_number(completed_on)
        if repo.get_by_certificate_number(number) is None and repo.get_superseded(number) is None:
            return number
    raise RuntimeError("could not draw an unused certificate number")  # pragma: no cover


def reissue_certificate(attendee_id: int, *, actor_id: int | None, full_name: object = None,
                        now: datetime | None = None) -> Attendee:
    """Correct the name on an attendee's certificate (`full_name`; None keeps it) and
    reissue it: a new number, the same dates; the old number is kept as superseded
    by the new one, and the new certificate is emailed. A name on an issued
    certificate changes only this way. Raises NotFound, InvalidInput (field "name"),
    or InvalidState if the attendee has no certificate or another reissue won the race."""
    now = now or utcnow()
    repo = AttendeeRepository()
    name = None
    if full_name is not None:
        try:
            name = validate_person_name(full_name)
        except FieldError as exc:
            raise InvalidInput(fields={"name": exc.message}) from None
    with unit_of_work():
        record = repo.get(attendee_id)
        if record is None:
            raise NotFound("We could not find that attendee.")
        old = record.certificate_number
        if not old:
            raise InvalidState("This attendee has no certificate to reissue.")
        if record.full_name == REMOVED_NAME:
            raise InvalidState("This attendee's details were removed under the retention policy.")
        old_name = record.full_name
        if name is not None:
            record.full_name = name
        new = _draw_unused_number(repo, record.certificate_issued_on)
        if not repo.replace_certificate_number(attendee_id, old=old, new=new):
            raise InvalidState("The certificate was reissued meanwhile; reload the page.")
        repo.add_superseded(SupersededCertificate(
            attendee_id=attendee_id, number=old, issued_on=record.certificate_issued_on,
            expires_on=record.certificate_expires_on, replaced_by=new, superseded_at=now,
            superseded_by_id=actor_id))
        repo.session.refresh(record)
        events.record_event(events.CERTIFICATE_ISSUED, new, {
            "attendee_id": record.id, "reference": record.booking.reference,
            "certificate_number": new, "replaces": old,
            "expires_on": record.certificate_expires_on.isoformat()})
        record_audit(actor_id, "certificate.reissue", "booking", record.booking.reference,
                     before={"certificate_number": old, "name": old_name},
                     after={"certificate_number": new, "name": record.full_name})
    return record


def resend_certificate(attendee_id: int, *, actor_id: int | None) -> Attendee:
    """Email an attendee's current certificate again (through the outbox)."""
    repo = AttendeeRepository()
    with unit_of_work():
        record = repo.get(attendee_id)
        if record is None:
            raise NotFound("We could not find that attendee.")
        if not record.certificate_number:
            raise InvalidState("This attendee has no certificate to send.")
        event = events.record_event(events.CERTIFICATE_RESEND_REQUESTED, record.certificate_number, {
            "attendee_id": record.id, "reference": record.booking.reference,
            "certificate_number": record.certificate_number, "requested_by": actor_id})
        record_audit(actor_id, "certificate.resend", "booking", record.booking.reference,
                     after={"certificate_number": record.certificate_number,
                            "event_id": event.id})
    return record
