"""The one validation layer shared by the HTML forms and the JSON API.

Pure Python (no Flask): rules return normalised values or raise FieldError;
parse_booking_request collects every error into ValidationFailed.errors.
"""
from app.validation.booking import (
    AttendeeInput, BookingRequest, ContactInput, parse_booking_request, validate_field,
    validate_session_id,
)
from app.validation.errors import FieldError, ValidationFailed
from app.validation.fields import (
    format_uk_phone, validate_access_needs, validate_company, validate_email, validate_person_name,
    validate_seat_count, validate_uk_phone, validate_uk_postcode,
)
from app.validation.richtext import sanitize_html
from app.validation.text import clean_text

__all__ = [
    "AttendeeInput",
    "BookingRequest",
    "ContactInput",
    "FieldError",
    "ValidationFailed",
    "clean_text",
    "format_uk_phone",
    "parse_booking_request",
    "sanitize_html",
    "validate_access_needs",
    "validate_company",
    "validate_email",
    "validate_field",
    "validate_person_name",
    "validate_seat_count",
    "validate_session_id",
    "validate_uk_phone",
    "validate_uk_postcode",
]
