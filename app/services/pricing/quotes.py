"""A booking's price for a session, a number of seats, a code and an email.

`quote` answers the booking form as the customer types (nothing is locked or
written); `price_hold` is called by the hold, inside its transaction, and
decides for real: it locks the code's row before counting its uses, so the
last use of a code goes to exactly one of any number of racing holds (on
PostgreSQL the lock queues them; on SQLite the writer lock already has).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import CourseSession, DiscountCode, utcnow
from app.repositories import SessionRepository
from app.repositories.discounts import DiscountRepository
from app.services.core import switches
from app.services.core.errors import InvalidInput, NotFound
from app.services.pricing.price import GroupDiscount, Price, price_booking
from app.validation import FieldError
from app.validation.booking import validate_discount_code

FIELD = "discount_code"

SWITCHED_OFF = "Discount codes cannot be used at the moment."
UNKNOWN = "We don't recognise that discount code. Check it and try again."
WITHDRAWN = "That discount code is no longer available."
NOT_YET = "That discount code cannot be used yet."
EXPIRED = "That discount code has expired."
WRONG_COURSE = "That discount code cannot be used for this course."
USED_UP = "That discount code has been used up."
USED_BY_EMAIL = "That discount code has already been used with this email address."


def normalise_code(value: object) -> str | None:
    """The code as stored (capitals), None for an empty one; InvalidInput on the
    field for something that cannot be a code."""
    try:
        return validate_discount_code(value)
    except FieldError as exc:
        raise InvalidInput(exc.message, fields={FIELD: exc.message}) from None


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, fields={FIELD: message})


def check_code(code_text: str, *, course_id: int, email: str | None, now: datetime,
               lock: bool) -> DiscountCode:
    """The code if it may be used on this course by this email now; InvalidInput on
    `discount_code` saying why not. With `lock` (inside the hold's unit of work) the
    code's row is locked before its uses are counted."""
    if not switches.is_on("DISCOUNTS_ENABLED"):
        raise _refuse(SWITCHED_OFF)
    repo = DiscountRepository()
    code = repo.get_by_code(code_text)
    if code is None:
        raise _refuse(UNKNOWN)
    if not code.is_active:
        raise _refuse(WITHDRAWN)
    if not code.has_started(now):
        raise _refuse(NOT_YET)
    if code.has_ended(now):
        raise _refuse(EXPIRED)
    if not code.applies_to_course(course_id):
        raise _refuse(WRONG_COURSE)
    if lock:
        repo.lock(code.id)
    if code.max_uses is not None and repo.uses(code.id, now) >= code.max_uses:
        raise _refuse(USED_UP)
    if email and code.max_uses_per_email is not None \
            and repo.uses(code.id, now, email=email) >= code.max_uses_per_email:
        raise _refuse(USED_BY_EMAIL)
    return code


def price_hold(course_session: CourseSession, seats: int, *, code_text: str | None,
               email: str, group: GroupDiscount, now: datetime) -> Price:
    """The price the hold stores (call inside its unit of work, after the seat lock)."""
    code = None
    if code_text:
        code = check_code(code_text, course_id=course_session.course_id, email=email,
                          now=now, lock=True)
    return price_booking(course_session.price_pence, seats, group=group, code=code)


@dataclass(frozen=True)
class Quote:
    price: Price
    # Why the code typed cannot be used (the price is then without it).
    code_problem: str | None = None


def quote(session_id: int, seats: int, *, code_text: object, email: str | None,
          group: GroupDiscount, now: datetime | None = None) -> Quote:
    """The price the booking form shows before anything is held."""
    now = now or utcnow()
    course_session = SessionRepository().get(session_id)
    if course_session is None:
        raise NotFound("We could not find that session.")
    seats = max(1, seats)
    code = None
    problem = None
    try:
        normalised = normalise_code(code_text)
        if normalised:
            code = check_code(normalised, course_id=course_session.course_id, email=email,
                              now=now, lock=False)
    except InvalidInput as exc:
        problem = exc.fields.get(FIELD, exc.message)
    return Quote(price_booking(course_session.price_pence, seats, group=group, code=code),
                 problem)
