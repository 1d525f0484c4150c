"""Attendees: certificates, rosters and the reminders about them."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from app.models import Attendee, Booking, BookingStatus
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
