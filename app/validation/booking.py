"""The booking request, as both the HTML form and the JSON API must validate it."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial

from app.validation.errors import FieldError, ValidationFailed
from app.validation.fields import (
    validate_access_needs, validate_company, validate_email, validate_person_name,
    validate_seat_count, validate_uk_phone, validate_uk_postcode,
)

_MAX_DB_INT = 2**31 - 1
_SESSION_DIGITS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class AttendeeInput:
    name: str
    email: str | None
    access_needs: str | None
    # On a requalification course: when their current certificate expires (the
    # hold service decides whether that is soon enough; other courses ignore it).
    certificate_expires_on: date | None = None


@dataclass(frozen=True)
class ContactInput:
    name: str
    email: str
    phone: str
    postcode: str
    company: str | None


@dataclass(frozen=True)
class BookingRequest:
    session_id: int
    contact: ContactInput
    attendees: tuple[AttendeeInput, ...]
    # As typed, in capitals; whether it may be used is the pricing service's call.
    discount_code: str | None = None
    # The customer ticked "I agree to the terms of booking" (staff bookings: False).
    terms_accepted: bool = False


def validate_session_id(value: object) -> int:
    """A positive int id (a digit string is accepted for HTML forms); not bool or float."""
    if value is None or value == "":
        raise FieldError("Choose a course date.")
    if isinstance(value, int) and not isinstance(value, bool):
        session_id = value
    elif isinstance(value, str) and _SESSION_DIGITS.fullmatch(value.strip()):
        session_id = int(value.strip())
    else:
        raise FieldError("Choose a course date from the list.")
    if not 1 <= session_id <= _MAX_DB_INT:
        raise FieldError("Choose a course date from the list.")
    return session_id


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def validate_certificate_expiry(value: object) -> date | None:
    """A certificate's expiry date, YYYY-MM-DD (what a date input and the API send),
    or None when none was given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise FieldError("Enter the certificate's expiry date as a date, like 2026-03-31.")
    try:
        expires_on = date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("Enter a real date, like 2026-03-31.") from None
    return expires_on


# One table of rules per object, used by both the whole-request parser and the
# single-field validator, so the two cannot drift apart.
Rule = Callable[[object], object]
CONTACT_RULES: dict[str, Rule] = {
    "name": partial(validate_person_name, field_label="your name"),
    "email": validate_email,
    "phone": validate_uk_phone,
    "postcode": validate_uk_postcode,
    "company": validate_company,
}
ATTENDEE_RULES: dict[str, Rule] = {
    "name": validate_person_name,
    "email": partial(validate_email, required=False),
    "access_needs": validate_access_needs,
    "certificate_expires_on": validate_certificate_expiry,
}
_ATTENDEE_PATH = re.compile(r"attendees\.(0|[1-9][0-9]{0,5})\.([a-z_]+)")


def _apply(rules: Mapping[str, Rule], data: Mapping, prefix: str,
           errors: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, rule in rules.items():
        try:
            values[key] = rule(data.get(key))
        except FieldError as exc:
            errors[f"{prefix}.{key}"] = exc.message
    return values


_DISCOUNT_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")
TERMS_MESSAGE = "Tick the box to agree to the terms of booking and the cancellation policy."


def validate_discount_code(value: object) -> str | None:
    """A discount code's shape (letters, digits, - and _; 3 to 32): in capitals, or
    None when none was given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError("Enter the discount code as text.")
    code = value.strip().upper()
    if not code:
        return None
    if not _DISCOUNT_CODE.fullmatch(code):
        raise FieldError("We don't recognise that discount code. Check it and try again.")
    return code


def validate_accept_terms(value: object) -> bool:
    """The customer's agreement: JSON true (the form sends it as true too)."""
    if value is not True:
        raise FieldError(TERMS_MESSAGE)
    return True


def parse_booking_request(data: Mapping, *, max_seats: int,
                          require_terms: bool = False) -> BookingRequest:
    """Validate a booking body, collecting every error before raising.

    Shape: {"session_id": 7, "contact": {name, email, phone, postcode, company},
    "attendees": [{name, email, access_needs}, ...]}; unknown keys are ignored.
    The number of attendees is the seat count (1..max_seats). Optional
    "discount_code"; with `require_terms` (a customer booking) "accept_terms" must be
    true. Raises ValidationFailed whose .errors keys are dotted paths ("attendees.0.name").
    """
    if isinstance(max_seats, bool) or not isinstance(max_seats, int) or max_seats < 1:
        raise ValueError(f"max_seats must be a positive int, not {max_seats!r}")
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": "Send the booking details as a JSON object."})
    errors: dict[str, str] = {}

    session_id = None
    try:
        session_id = validate_session_id(data.get("session_id"))
    except FieldError as exc:
        errors["session_id"] = exc.message

    contact = data.get("contact")
    contact_values: dict[str, object] = {}
    if contact is None:
        contact = {}  # report each missing field, as the form would
    if isinstance(contact, Mapping):
        contact_values = _apply(CONTACT_RULES, contact, "contact", errors)
    else:
        errors["contact"] = "Enter your contact details."

    attendees = data.get("attendees")
    attendee_values: list[dict[str, object]] = []
    if attendees is None:
        attendees = []
    if not isinstance(attendees, (list, tuple)):
        errors["attendees"] = "Send the attendees as a list."
    else:
        try:
            validate_seat_count(len(attendees), max_seats=max_seats)
        except FieldError as exc:
            # Too many: say so and stop; which ones to drop is the booker's call,
            # and this bounds the work a huge list can cause.
            errors["attendees"] = exc.message
        else:
            for index, attendee in enumerate(attendees):
                if isinstance(attendee, Mapping):
                    attendee_values.append(
                        _apply(ATTENDEE_RULES, attendee, f"attendees.{index}", errors))
                else:
                    errors[f"attendees.{index}"] = "Enter the attendee's details."

    discount_code = None
    try:
        discount_code = validate_discount_code(data.get("discount_code"))
    except FieldError as exc:
        errors["discount_code"] = exc.message
    terms_accepted = False
    if require_terms:
        try:
            terms_accepted = validate_accept_terms(data.get("accept_terms"))
        except FieldError as exc:
            errors["accept_terms"] = exc.message

    if errors:
        raise ValidationFailed(errors)
    return BookingRequest(
        session_id=session_id,
        contact=ContactInput(**contact_values),
        attendees=tuple(AttendeeInput(**values) for values in attendee_values),
        discount_code=discount_code,
        terms_accepted=terms_accepted,
    )


def validate_field(path: str, value: object, *, max_seats: int) -> str | int | None:
    """Validate one field by its dotted path, for as-you-type checks.

    "attendees" takes the seat count. Raises FieldError if invalid and KeyError
    for a path parse_booking_request does not know.
    """
    if path == "session_id":
        return validate_session_id(value)
    if path == "attendees":
        return validate_seat_count(value, max_seats=max_seats)
    if path == "discount_code":
        return validate_discount_code(value)
    if path == "accept_terms":
        return validate_accept_terms(value)
    if path.startswith("contact.") and path[len("contact."):] in CONTACT_RULES:
        return CONTACT_RULES[path[len("contact."):]](value)
    match = _ATTENDEE_PATH.fullmatch(path)
    if match and match.group(2) in ATTENDEE_RULES:
        return ATTENDEE_RULES[match.group(2)](value)
    raise KeyError(path)
