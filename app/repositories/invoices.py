"""Invoices, credit notes and the counters that number them."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.models import Booking, BookingStatus, CreditNote, DocumentCounter, Invoice
from app.repositories.base import Repository, in_unit_of_work
from app.repositories.locks import LockOutsideTransaction


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    def next_number(self, series: str) -> int:
        """Take the next number of `series` in the caller's transaction.

        The counter row is locked by UPDATE-ing it first, as app.repositories.locks
        does (PostgreSQL: a row lock held to commit, so a racer's UPDATE waits and
        then adds to the committed value; SQLite: the single writer lock, taken at
        that statement, so nothing read before it can be stale). The number is used
        once, and only a rollback gives it back. No database sequence: those skip
        numbers on rollback."""
        if not in_unit_of_work(self.session):
            raise LockOutsideTransaction("a document number must be taken inside a unit of work")
        bump = (update(DocumentCounter).where(DocumentCounter.series == series)
                .values(last_number=DocumentCounter.last_number + 1)
                .execution_options(synchronize_session=False))
        if self.session.execute(bump).rowcount != 1:
            try:
                with self.session.begin_nested():
                    self.session.add(DocumentCounter(series=series, last_number=0))
            except IntegrityError:  # another transaction created it first
                pass
            self.session.execute(bump)
        return self.session.scalar(
            select(DocumentCounter.last_number).where(DocumentCounter.series == series))

    def get_by_number(self, number: str) -> Invoice | None:
        return self.session.scalars(select(Invoice).where(Invoice.number == number)).one_or_none()

    def for_booking(self, booking_id: int) -> Invoice | None:
        return self.session.scalars(
            select(Invoice).where(Invoice.booking_id == booking_id)).one_or_none()

    def unpaid(self, *, due_before: date | None = None) -> list[Invoice]:
        """Invoices not marked paid, earliest due first (`due_before`: due strictly
        before that date, i.e. overdue then). Fully credited ones are left to the caller
        (the model knows what is outstanding)."""
        stmt = select(Invoice).where(Invoice.paid_at.is_(None))
        if due_before is not None:
            stmt = stmt.where(Invoice.due_on < due_before)
        return [invoice for invoice in
                self.session.scalars(stmt.order_by(Invoice.due_on, Invoice.sequence))
                if invoice.outstanding_pence > 0]

    def due_on_any_of(self, days: list[date]) -> list[Invoice]:
        """Unpaid invoices of confirmed bookings whose due date is one of `days`."""
        if not days:
            return []
        stmt = (select(Invoice).join(Booking, Booking.id == Invoice.booking_id)
                .where(Invoice.paid_at.is_(None), Invoice.due_on.in_(days),
                       Booking.status == BookingStatus.CONFIRMED)
                .order_by(Invoice.sequence))
        return [invoice for invoice in self.session.scalars(stmt)
                if invoice.outstanding_pence > 0]

    def recent(self, limit: int = 100) -> list[Invoice]:
        return list(self.session.scalars(
            select(Invoice).order_by(Invoice.sequence.desc()).limit(limit)))

    def add_credit_note(self, note: CreditNote) -> CreditNote:
        self.session.add(note)
        self.session.flush()
        return note

    def credit_note_by_number(self, number: str) -> CreditNote | None:
        return self.session.scalars(
            select(CreditNote).where(CreditNote.number == number)).one_or_none()
