"""Attendees: certificates, rosters and the reminders about them."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import Row, select, update

from app.models import (
    Attendee, Booking, BookingStatus, Course, CourseSession, SupersededCertificate,
)
from app.repositories.base import Repository


class AttendeeRepository(Repository[Attendee]):
    model = Attendee

    def get_by_certificate_number(self, number: str) -> Attendee | None:
        return self.session.scalar(select(Attendee).where(Attendee.certificate_number == number))

    def on_roster(self, session_id: int) -> list[Attendee]:
        """Attendees of confirmed bookings on a session, by booking then seat."""
        stmt = (select(Attendee).join(Attendee.booking)
                .where(Booking.session_id == session_id,
                       Booking.status == BookingStatus.CONFIRMED)
                .order_by(Booking.confirmed_at, Booking.id, Attendee.position))
        return list(self.session.scalars(stmt))

    def certificates_expiring_between(self, first: date, last: date) -> list[Attendee]:
        """Certificates that expire on a day in [first, last] and still have a name on them."""
        stmt = (select(Attendee)
                .where(Attendee.certificate_number.is_not(None),
                       Attendee.certificate_expires_on >= first,
                       Attendee.certificate_expires_on <= last)
                .order_by(Attendee.certificate_expires_on, Attendee.id))
        return list(self.session.scalars(stmt))

    def stream_roster_rows(self, session_id: int, *, batch_size: int = 1000) -> Iterator[Row]:
        """`on_roster` as flat rows (attendee, booking contact, course and date) for a
        download, fetched `batch_size` at a time."""
        stmt = (self._export_columns()
                .where(Booking.session_id == session_id,
                       Booking.status == BookingStatus.CONFIRMED)
                .order_by(Booking.confirmed_at, Booking.id, Attendee.position))
        yield from self.session.execute(stmt.execution_options(yield_per=batch_size))

    def stream_certificates_expiring(self, first: date, last: date, *, excluding_name: str,
                                     batch_size: int = 1000) -> Iterator[Row]:
        """Certificates that expire on a day in [first, last], soonest first, as flat
        rows for a download; those whose holder's name is `excluding_name` (removed
        under the retention policy) are left out."""
        stmt = (self._export_columns()
                .where(Attendee.certificate_number.is_not(None),
                       Attendee.certificate_expires_on >= first,
                       Attendee.certificate_expires_on <= last,
                       Attendee.full_name != excluding_name)
                .order_by(Attendee.certificate_expires_on, Attendee.id))
        yield from self.session.execute(stmt.execution_options(yield_per=batch_size))

    @staticmethod
    def _export_columns():
        return (select(Attendee.full_name, Attendee.email, Attendee.attended,
                       Attendee.certificate_number, Attendee.certificate_issued_on,
                       Attendee.certificate_expires_on, Booking.reference,
                       Booking.contact_name, Booking.contact_email, Booking.contact_phone,
                       Booking.company, Course.title.label("course_title"),
                       CourseSession.starts_at)
                .select_from(Attendee).join(Attendee.booking).join(Booking.session)
                .join(CourseSession.course))

    def assign_certificate(self, attendee_id: int, *, number: str, issued_on: date,
                           expires_on: date) -> bool:
        """Give an attendee a certificate unless they already have one (conditional,
        so two concurrent issues cannot both win)."""
        result = self.session.execute(
            update(Attendee)
            .where(Attendee.id == attendee_id, Attendee.certificate_number.is_(None))
            .values(certificate_number=number, certificate_issued_on=issued_on,
                    certificate_expires_on=expires_on, attended=True)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def replace_certificate_number(self, attendee_id: int, *, old: str, new: str) -> bool:
        """Give the attendee's certificate a new number if it still has `old`
        (conditional, so two concurrent reissues cannot both win)."""
        result = self.session.execute(
            update(Attendee)
            .where(Attendee.id == attendee_id, Attendee.certificate_number == old)
            .values(certificate_number=new)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    def get_superseded(self, number: str) -> SupersededCertificate | None:
        return self.session.scalar(
            select(SupersededCertificate).where(SupersededCertificate.number == number))

    def add_superseded(self, row: SupersededCertificate) -> SupersededCertificate:
        self.session.add(row)
        self.session.flush()
        return row

    def superseded_numbers(self, attendee_id: int) -> list[SupersededCertificate]:
        return list(self.session.scalars(
            select(SupersededCertificate).where(SupersededCertificate.attendee_id == attendee_id)
            .order_by(SupersededCertificate.superseded_at)))
