"""Discount codes: a percentage or a fixed amount off one booking, for all courses
or chosen ones, within a validity window and usage limits."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Enum, ForeignKey, Integer, String, Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class DiscountKind(str, enum.Enum):
    PERCENT = "percent"
    AMOUNT = "amount"


discount_code_courses = Table(
    "discount_code_courses", db.metadata,
    Column("discount_code_id", ForeignKey("discount_codes.id", ondelete="CASCADE"),
           primary_key=True),
    Column("course_id", ForeignKey("courses.id"), primary_key=True),
)


def percent_of(amount_pence: int, percent: int) -> int:
    """`percent` of an amount, to the nearest penny (half up)."""
    return (amount_pence * percent * 2 + 100) // 200


class DiscountCode(TimestampMixin, db.Model):
    """A code a customer types when booking. Its uses are the bookings that carry it
    and hold or held it for real: a live hold, or a booking that was confirmed
    (see DiscountRepository.uses), so a lapsed or unpaid-then-cancelled hold gives
    its use back without anything to repair."""

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'percent' AND percent BETWEEN 1 AND 100 AND amount_pence IS NULL) OR "
            "(kind = 'amount' AND amount_pence > 0 AND percent IS NULL)",
            name="value_matches_kind"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint("max_uses_per_email IS NULL OR max_uses_per_email > 0",
                        name="max_uses_per_email_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored in capitals; customers may type it in any case.
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    kind: Mapped[DiscountKind] = mapped_column(
        Enum(DiscountKind, name="discount_kind", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False)
    percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Off the whole booking, not per seat.
    amount_pence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_uses_per_email: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Bumped to lock the code while a hold counts its uses (app.repositories.locks).
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                              server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    # None of them: every course.
    courses = relationship("Course", secondary=discount_code_courses, lazy="selectin",
                           order_by="Course.title")

    @property
    def applies_to_all_courses(self) -> bool:
        return not self.courses

    def applies_to_course(self, course_id: int) -> bool:
        return self.applies_to_all_courses or any(c.id == course_id for c in self.courses)

    def has_started(self, now: datetime) -> bool:
        return self.valid_from is None or self.valid_from <= now

    def has_ended(self, now: datetime) -> bool:
        return self.valid_until is not None and self.valid_until <= now

    def discount_on(self, amount_pence: int) -> int:
        """What the code takes off a booking costing `amount_pence` (never more than it)."""
        if self.kind == DiscountKind.PERCENT:
            return min(amount_pence, percent_of(amount_pence, self.percent or 0))
        return min(amount_pence, self.amount_pence or 0)

    @property
    def describe(self) -> str:
        if self.kind == DiscountKind.PERCENT:
            return f"{self.percent}% off"
        pence = self.amount_pence or 0
        return f"£{pence // 100:,}.{pence % 100:02d} off"

    def __repr__(self) -> str:
        return f"<DiscountCode {self.code}>"
