"""A new enquiry from the public form: every field checked by the project's own
rules (app.validation), stored with an EnquiryReceived event in one transaction.
The event's handlers email the enquirer a confirmation and the office a notice.

The public form's WTForms validators wrap these same RULES, so a message shown
next to a field is the one this service would give."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from app.models import Course, Enquiry, EnquiryStatus, utcnow
from app.repositories import CourseRepository, unit_of_work
from app.repositories.enquiries import EnquiryRepository
from app.services.core import events
from app.services.core.inputs import parse
from app.validation import (
    FieldError, clean_text, validate_email, validate_person_name, validate_uk_phone,
    validate_uk_postcode,
)
from app.validation.admin import validate_whole_number
from app.validation.filters import is_plain

MAX_LEARNERS = 200
FIELDS = ("course", "learners", "preferred_dates", "postcode", "name", "email", "phone",
          "company", "message")


def validate_course_slug(value: object) -> str:
    """The slug of an active course (the form's drop-down sends slugs)."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError("Choose a course.")
    course = CourseRepository().get_by_slug(value.strip()) if is_plain(value.strip(), 80) \
        else None
    if course is None or not course.is_active or course.deleted_at is not None:
        raise FieldError("Choose a course from the list.")
    return course.slug


def validate_company_name(value: object) -> str:
    return clean_text(value, field_label="your company or organisation", max_length=120)


def validate_preferred_dates(value: object) -> str:
    return clean_text(value, field_label="your preferred dates", max_length=500, multiline=True)


def validate_message(value: object) -> str | None:
    return clean_text(value, field_label="message", max_length=2000, required=False,
                      multiline=True)


RULES = {
    "course": validate_course_slug,
    "learners": partial(validate_whole_number, field_label="number of learners", minimum=1,
                        maximum=MAX_LEARNERS),
    "preferred_dates": validate_preferred_dates,
    "postcode": validate_uk_postcode,
    "name": validate_person_name,
    "email": validate_email,
    "phone": validate_uk_phone,
    "company": validate_company_name,
    "message": validate_message,
}


@dataclass(frozen=True)
class CourseChoice:
    slug: str
    title: str


def course_choices() -> list[CourseChoice]:
    """The courses an enquiry can be about: every active one."""
    return [CourseChoice(c.slug, c.title) for c in CourseRepository().list_active()]


def submit_enquiry(data: Mapping, *, now: datetime | None = None) -> Enquiry:
    """Store a new enquiry. InvalidInput names every bad field at once."""
    values = parse(data, RULES)
    with unit_of_work():
        course: Course = CourseRepository().get_by_slug(values["course"])
        enquiry = EnquiryRepository().add(Enquiry(
            course_id=course.id, learners=values["learners"],
            preferred_dates=values["preferred_dates"], site_postcode=values["postcode"],
            contact_name=values["name"], contact_email=values["email"],
            contact_phone=values["phone"], company=values["company"],
            message=values["message"], status=EnquiryStatus.OPEN,
            created_at=now or utcnow()))
        EnquiryRepository().flush()
        events.record_event(events.ENQUIRY_RECEIVED, enquiry.id, {"enquiry_id": enquiry.id})
    return enquiry
