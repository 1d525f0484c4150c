"""Bulk anonymising updates for the personal-data retention job."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, select, update

from app.models import (
    Attendee, Booking, BookingStatus, CourseSession, DeliveryStatus, OutboxDelivery, OutboxEvent,
    SentEmail,
)
from app.repositories.base import Repository


class RetentionRepository(Repository[Booking]):
    model = Booking

    def _update(self, stmt) -> int:
        return self.session.execute(stmt.execution_options(synchronize_session=False)).rowcount

    def paid_bookings_of_sessions_ended_before(self, cutoff: datetime, removed_email: str):
        return (select(Booking.id).join(CourseSession, Booking.session_id == CourseSession.id)
                .where(Booking.confirmed_at.is_not(None), CourseSession.ends_at < cutoff,
                       Booking.contact_email != removed_email))

    def unpaid_bookings_ended_before(self, cutoff: datetime, removed_email: str):
        ended = func.coalesce(Booking.cancelled_at, Booking.hold_expires_at, Booking.created_at)
        return select(Booking.id).where(
            Booking.confirmed_at.is_(None), ended < cutoff,
            Booking.status.in_((BookingStatus.EXPIRED, BookingStatus.CANCELLED)),
            Booking.contact_email != removed_email)

    def anonymise_bookings(self, booking_ids, *, removed_name: str, removed_email: str,
                           now: datetime) -> int:
        """Remove contact details and attendee names/emails of these bookings (a subquery)."""
        ids = list(self.session.scalars(booking_ids))
        if not ids:
            return 0
        self._update(update(Attendee).where(Attendee.booking_id.in_(ids)).values(
            full_name=removed_name, email=None, access_needs=None, updated_at=now))
        self._update(update(SentEmail).where(SentEmail.booking_id.in_(ids)).values(
            to_address=removed_name))
        return self._update(update(Booking).where(Booking.id.in_(ids)).values(
            contact_name=removed_name, contact_email=removed_email, contact_phone="",
            contact_postcode="", company=None, updated_at=now))

    def clear_access_needs_of_sessions_ended_before(self, cutoff: datetime, now: datetime) -> int:
        ended = (select(Booking.id).join(CourseSession, Booking.session_id == CourseSession.id)
                 .where(CourseSession.ends_at < cutoff))
        return self._update(update(Attendee).where(
            Attendee.booking_id.in_(ended), Attendee.access_needs.is_not(None)).values(
            access_needs=None, updated_at=now))

    def anonymise_unlinked_emails_before(self, cutoff: datetime, removed: str) -> int:
        return self._update(update(SentEmail).where(
            SentEmail.booking_id.is_(None), SentEmail.created_at < cutoff,
            SentEmail.to_address != removed).values(to_address=removed))

    def delete_delivered_events_before(self, cutoff: datetime) -> int:
        """Outbox events older than `cutoff` whose every delivery is done (dead ones stay)."""
        unfinished = exists().where(OutboxDelivery.event_id == OutboxEvent.id,
                                    OutboxDelivery.status != DeliveryStatus.DELIVERED)
        ids = list(self.session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.created_at < cutoff, ~unfinished)))
        if not ids:
            return 0
        self._update(delete(OutboxDelivery).where(OutboxDelivery.event_id.in_(ids)))
        return self._update(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
