"""Invoices and credit notes for bookings paid by invoice, and the counters that
number them without gaps."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class DocumentCounter(db.Model):
    """The last number issued in one series ("invoice", "credit_note").

    A number is taken by locking this row in the transaction that writes the
    document: a rollback gives the number back, a commit makes it permanent, so a
    series has neither gaps nor duplicates (a database sequence would skip
    numbers on rollback)."""

    __tablename__ = "document_counters"

    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class InvoiceStatus:
    """What the customer's side of an invoice looks like today (never stored: it
    follows from the payment, the credit notes and the date)."""

    DUE = "due"
    PAID = "paid"
    OVERDUE = "overdue"
    REFUNDED = "refunded"


class Invoice(TimestampMixin, db.Model):
    """The invoice of one booking: issued once, its figures and parties fixed then."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("gross_pence = net_pence + vat_pence", name="parts_add_up"),
        CheckConstraint("gross_pence >= 0", name="gross_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True,
                                            nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    purchase_order: Mapped[str | None] = mapped_column(String(64), nullable=True)
    billing_company: Mapped[str] = mapped_column(String(120), nullable=False)
    billing_name: Mapped[str] = mapped_column(String(100), nullable=False)
    billing_email: Mapped[str] = mapped_column(String(254), nullable=False)
    billing_address: Mapped[str] = mapped_column(Text, nullable=False)
    supplier_name: Mapped[str] = mapped_column(String(200), nullable=False)
    supplier_address: Mapped[str] = mapped_column(Text, nullable=False)
    supplier_vat_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    vat_rate_percent: Mapped[int] = mapped_column(Integer, nullable=False)
    net_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    vat_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    gross_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)

    booking = relationship("Booking", back_populates="invoice", lazy="joined")
    credit_notes = relationship("CreditNote", back_populates="invoice",
                                order_by="CreditNote.sequence", lazy="selectin")

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    @property
    def credited_pence(self) -> int:
        return sum(note.gross_pence for note in self.credit_notes)

    @property
    def outstanding_pence(self) -> int:
        """What the customer still owes: nothing once paid, less whatever was credited."""
        if self.is_paid:
            return 0
        return max(0, self.gross_pence - self.credited_pence)

    def is_overdue(self, today: date) -> bool:
        """Unpaid, something still owed, and past its due date (the due date itself is
        still on time)."""
        return self.outstanding_pence > 0 and today > self.due_on

    def status(self, today: date) -> str:
        """due, paid, overdue or refunded (fully credited), as of `today` (UK date)."""
        if self.gross_pence > 0 and self.credited_pence >= self.gross_pence:
            return InvoiceStatus.REFUNDED
        if self.is_paid:
            return InvoiceStatus.PAID
        if self.outstanding_pence == 0:
            return InvoiceStatus.REFUNDED
        return InvoiceStatus.OVERDUE if self.is_overdue(today) else InvoiceStatus.DUE

    def __repr__(self) -> str:
        return f"<Invoice {self.number}>"


class CreditNote(TimestampMixin, db.Model):
    """Money taken off an invoice (a cancellation or refund), numbered in its own series."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        CheckConstraint("gross_pence = net_pence + vat_pence", name="parts_add_up"),
        CheckConstraint("gross_pence > 0", name="gross_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False,
                                            index=True)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    net_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    vat_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    gross_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    invoice = relationship("Invoice", back_populates="credit_notes")

    def __repr__(self) -> str:
        return f"<CreditNote {self.number}>"
