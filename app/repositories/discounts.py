"""Discount codes and the bookings that use them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from app.models import Booking, DiscountCode
from app.repositories.base import Repository
from app.repositories.locks import lock_rows


def _is_use(now: datetime):
    """A booking that takes one of its code's uses: a live hold, or confirmed at some
    point (a paid booking cancelled later keeps its use; an unpaid hold that lapsed
    or was cancelled gives it back)."""
    return or_(Booking.confirmed_at.is_not(None), Booking.hold_is_live(now))


class DiscountRepository(Repository[DiscountCode]):
    model = DiscountCode

    def get_by_code(self, code: str) -> DiscountCode | None:
        return self.session.scalar(select(DiscountCode).where(DiscountCode.code == code))

    def all_codes(self) -> list[DiscountCode]:
        return self.list(order_by=[DiscountCode.is_active.desc(), DiscountCode.code])

    def lock(self, code_id: int) -> bool:
        """Serialise the holds that count this code's uses, until commit."""
        return bool(lock_rows(DiscountCode, [code_id],
                              {"lock_version": DiscountCode.lock_version + 1},
                              session=self.session))

    def uses(self, code_id: int, now: datetime, *, email: str | None = None) -> int:
        stmt = select(func.count(Booking.id)).where(Booking.discount_code_id == code_id,
                                                    _is_use(now))
        if email is not None:
            stmt = stmt.where(func.lower(Booking.contact_email) == email.strip().lower())
        return int(self.session.scalar(stmt))

    def uses_by_code(self, now: datetime) -> dict[int, int]:
        rows = self.session.execute(
            select(Booking.discount_code_id, func.count(Booking.id))
            .where(Booking.discount_code_id.is_not(None), _is_use(now))
            .group_by(Booking.discount_code_id))
        return {code_id: count for code_id, count in rows}

    def bookings_with(self, code_id: int, *, limit: int = 200) -> list[Booking]:
        """Every booking that carried the code, newest first (lapsed holds included)."""
        return self.rows(select(Booking).where(Booking.discount_code_id == code_id)
                         .order_by(Booking.created_at.desc()), limit=limit)
