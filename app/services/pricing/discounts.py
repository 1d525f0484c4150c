"""Discount codes for staff (admin portal and `flask --app wsgi discounts`): create,
edit, deactivate and reactivate, each with its audit entry, and the uses of a code.

A code is a percentage (1 to 100) or a fixed amount in pence off the whole
booking; for every course or the chosen ones; valid from the start of
`valid_from` to the end of `valid_until` (UK dates); with an optional limit of
uses in total and per email address. Codes are never deleted once made: a
deactivated code stops working and keeps its history.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from app.models import Booking, DiscountCode, DiscountKind, utcnow
from app.repositories import CourseRepository, unit_of_work
from app.repositories.discounts import DiscountRepository
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidInput, NotFound
from app.services.core.ukformat import london
from app.validation import FieldError
from app.validation.admin import (
    london_to_utc, validate_date, validate_pounds, validate_whole_number,
)
from app.validation.booking import validate_discount_code

AUDITED_FIELDS = ("code", "kind", "percent", "amount_pence", "valid_from", "valid_until",
                  "max_uses", "max_uses_per_email", "is_active")
MAX_AMOUNT_PENCE = 1_000_000
MAX_USES = 1_000_000


@dataclass(frozen=True)
class CodeWithUses:
    code: DiscountCode
    uses: int


def _values(data: Mapping, *, code_required: bool) -> dict:
    """Staff input (strings as typed, or ints from the CLI) as column values; every
    problem at once as InvalidInput with one message per field."""
    errors: dict[str, str] = {}
    values: dict = {}
    data = dict(data)
    if data.get("amount_pence") in (None, "") and data.get("amount") not in (None, ""):
        try:  # the admin form takes pounds
            data["amount_pence"] = validate_pounds(data["amount"], field_label="amount off",
                                                   allow_zero=False,
                                                   maximum_pence=MAX_AMOUNT_PENCE)
        except FieldError as exc:
            errors["amount"] = exc.message
    if data.get("kind") == DiscountKind.PERCENT.value:  # the admin form's choice wins
        data["amount_pence"] = None
    elif data.get("kind") == DiscountKind.AMOUNT.value:
        data["percent"] = None

    def take(name, rule):
        try:
            values[name] = rule(data.get(name))
        except FieldError as exc:
            errors[name] = exc.message

    if code_required:
        take("code", validate_discount_code)
        if "code" in values and not values["code"]:
            errors["code"] = "Enter the code customers will type, like SPRING10."
    take("percent", lambda v: validate_whole_number(v, field_label="percentage", minimum=1,
                                                    maximum=100, required=False))
    take("amount_pence", lambda v: validate_whole_number(
        v, field_label="amount in pence", minimum=1, maximum=MAX_AMOUNT_PENCE, required=False))
    take("max_uses", lambda v: validate_whole_number(v, field_label="limit of uses", minimum=1,
                                                     maximum=MAX_USES, required=False))
    take("max_uses_per_email", lambda v: validate_whole_number(
        v, field_label="limit per email address", minimum=1, maximum=MAX_USES, required=False))
    take("valid_from", lambda v: validate_date(v, field_label="first day", required=False))
    take("valid_until", lambda v: validate_date(v, field_label="last day", required=False))

    if "percent" in values and "amount_pence" in values:
        percent, amount = values["percent"], values["amount_pence"]
        if (percent is None) == (amount is None) and "amount" not in errors:
            message = ("Give either a percentage or an amount off, not both."
                       if percent is not None else "Give a percentage or an amount off.")
            errors.setdefault("percent", message)
        values["kind"] = DiscountKind.PERCENT if percent is not None else DiscountKind.AMOUNT
    first, last = values.get("valid_from"), values.get("valid_until")
    if first and last and last < first:
        errors["valid_until"] = "The last day must be on or after the first day."
    values["courses"] = _courses(data.get("courses") or (), errors)
    if errors:
        raise InvalidInput(fields=errors)
    values["valid_from"] = london_to_utc(first, time(0)) if first else None
    values["valid_until"] = london_to_utc(last + timedelta(days=1), time(0)) if last else None
    return values


def _courses(slugs_or_ids: Iterable, errors: dict[str, str]) -> list:
    """The chosen courses, by slug (CLI) or id (admin form); none means every course."""
    if isinstance(slugs_or_ids, (str, int)):
        slugs_or_ids = [slugs_or_ids]
    repo = CourseRepository()
    courses = []
    for item in slugs_or_ids:
        text = str(item).strip()
        if not text:
            continue
        course = repo.get(int(text)) if text.isdigit() and len(text) < 10 \
            else repo.get_by_slug(text)
        if course is None:
            errors["courses"] = f"There is no course {text[:60]!r}."
            continue
        courses.append(course)
    return courses


def _apply(code: DiscountCode, values: Mapping) -> None:
    for name in ("kind", "percent", "amount_pence", "valid_from", "valid_until", "max_uses",
                 "max_uses_per_email"):
        setattr(code, name, values[name])
    code.courses = list(values["courses"])


def _audit(actor_id: int | None, verb: str, code: DiscountCode, before: dict | None) -> None:
    after = snapshot(code, AUDITED_FIELDS)
    after["courses"] = [c.slug for c in code.courses]
    record_audit(actor_id, f"discount.{verb}", "discount_code", code.code,
                 before=before, after=after)


def _before(code: DiscountCode) -> dict:
    before = snapshot(code, AUDITED_FIELDS)
    before["courses"] = [c.slug for c in code.courses]
    return before


def create_code(actor_id: int | None, data: Mapping) -> DiscountCode:
    """A new code from staff input; InvalidInput (per field) if anything is wrong,
    including a code already taken."""
    with unit_of_work():
        values = _values(data, code_required=True)
        repo = DiscountRepository()
        if repo.get_by_code(values["code"]) is not None:
            raise InvalidInput(fields={"code": "There is already a code with that name."})
        code = DiscountCode(code=values["code"], is_active=True, created_by_id=actor_id)
        _apply(code, values)
        repo.add(code)
        repo.flush()
        _audit(actor_id, "create", code, None)
    return code


def get_code(code_id: int) -> DiscountCode:
    code = DiscountRepository().get(code_id)
    if code is None:
        raise NotFound("We could not find that discount code.")
    return code


def update_code(actor_id: int | None, code_id: int, data: Mapping) -> DiscountCode:
    """Change a code's value, courses, dates and limits (its text stays: it may be
    printed on leaflets already). Uses already made keep the price they got."""
    with unit_of_work():
        code = get_code(code_id)
        values = _values(data, code_required=False)
        before = _before(code)
        _apply(code, values)
        _audit(actor_id, "update", code, before)
    return code


def set_active(actor_id: int | None, code_id: int, active: bool) -> DiscountCode:
    """Deactivate (it stops working at once; holds already made keep it) or reactivate."""
    with unit_of_work():
        code = get_code(code_id)
        if code.is_active != active:
            before = _before(code)
            code.is_active = active
            _audit(actor_id, "activate" if active else "deactivate", code, before)
    return code


def list_codes(now: datetime | None = None) -> list[CodeWithUses]:
    repo = DiscountRepository()
    uses = repo.uses_by_code(now or utcnow())
    return [CodeWithUses(code, uses.get(code.id, 0)) for code in repo.all_codes()]


def code_uses(code_id: int, now: datetime | None = None) -> tuple[CodeWithUses, list[Booking]]:
    """A code, how many uses it has now, and every booking that carried it."""
    code = get_code(code_id)
    repo = DiscountRepository()
    return CodeWithUses(code, repo.uses(code.id, now or utcnow())), repo.bookings_with(code.id)


def form_values(code: DiscountCode) -> dict:
    """A code as the edit form shows it (UK dates, the last day inclusive)."""
    return {
        "percent": code.percent, "amount_pence": code.amount_pence,
        "max_uses": code.max_uses, "max_uses_per_email": code.max_uses_per_email,
        "valid_from": london(code.valid_from).date() if code.valid_from else None,
        "valid_until": (london(code.valid_until) - timedelta(days=1)).date()
        if code.valid_until else None,
        "courses": [c.id for c in code.courses],
    }
