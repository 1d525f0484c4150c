"""Admin: the course catalogue. Create, edit, deactivate, soft delete, restore.

Every change is audited (who, when, the values before and after) in the same
transaction as the change. Courses are never hard-deleted: a deleted course
keeps its row (bookings and certificates refer to it) and can be restored.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError

from app.models import Course, utcnow
from app.repositories import Page
from app.repositories.admin import AdminCourseRepository
from app.services.catalogue.timetable import check_course_length, refuse_while_upcoming
from app.services.core.errors import InvalidInput
from app.services.core.inputs import DEFAULT_PER_PAGE, parse
from app.services.core.records import AuditedRecords
from app.validation import clean_text, sanitize_html
from app.validation.admin import (
    slugify, validate_pounds, validate_record_id, validate_slug, validate_title,
    validate_whole_number,
)

AUDITED_FIELDS = (
    "slug", "title", "category", "summary", "description_html", "duration_days",
    "duration_hours", "price_pence", "certificate_validity_months", "default_capacity",
    "is_active", "deleted_at", "requalifies_course_id",
)

RECORDS = AuditedRecords(AdminCourseRepository, "course", AUDITED_FIELDS,
                         not_found="We could not find that course.")

# One rule per form field; the admin form's validators call the same ones.
RULES = {
    "title": partial(validate_title, field_label="title", max_length=160),
    "slug": partial(validate_slug, required=False),
    "category": partial(validate_title, field_label="category", max_length=60),
    "summary": lambda v: clean_text(v, field_label="summary", max_length=300, required=False) or "",
    "description": sanitize_html,
    "duration_days": partial(validate_whole_number, field_label="number of days",
                             minimum=1, maximum=10),
    "duration_hours": partial(validate_whole_number, field_label="teaching hours",
                              minimum=1, maximum=100),
    "price": partial(validate_pounds, field_label="price"),
    "certificate_validity_months": partial(validate_whole_number,
                                           field_label="certificate validity in months",
                                           minimum=1, maximum=120),
    "default_capacity": partial(validate_whole_number, field_label="default capacity",
                                minimum=1, maximum=100),
    "requalifies_course_id": partial(validate_record_id, field_label="full course",
                                     required=False),
}


# -- reading -----------------------------------------------------------------------------
def list_courses(*, text: str | None = None, include_deleted: bool = False, page: int = 1,
                 per_page: int = DEFAULT_PER_PAGE) -> Page[Course]:
    return RECORDS.search(text=text, include_deleted=include_deleted, page=page,
                          per_page=per_page)


def all_courses(*, include_inactive: bool = True) -> list[Course]:
    """Every course that is not deleted, for drop-downs."""
    repo = AdminCourseRepository()
    where = () if include_inactive else (Course.is_active.is_(True),)
    return repo.list(*where, order_by=[Course.category, Course.title])


def full_courses(course: Course | None = None) -> list[Course]:
    """The courses `course` may renew (the admin form's "Requalifies" choices): the
    other active full courses, plus the one it renews now if that has since been
    deactivated."""
    where = [Course.is_active.is_(True), Course.requalifies_course_id.is_(None)]
    if course is not None:
        where.append(Course.id != course.id)
    choices = AdminCourseRepository().list(*where, order_by=[Course.category, Course.title])
    current = course.requalifies if course is not None else None
    if current is not None and not current.is_deleted and current not in choices:
        choices.append(current)
    return choices


def get_course(course_id: int, *, include_deleted: bool = True) -> Course:
    return RECORDS.get(course_id, include_deleted=include_deleted)


def form_values(course: Course) -> dict[str, str]:
    """A course's values as the edit form shows them (price back in pounds)."""
    return {
        "title": course.title, "slug": course.slug, "category": course.category,
        "summary": course.summary, "description": course.description_html,
        "duration_days": str(course.duration_days), "duration_hours": str(course.duration_hours),
        "price": f"{course.price_pence // 100}.{course.price_pence % 100:02d}",
        "certificate_validity_months": str(course.certificate_validity_months),
        "default_capacity": str(course.default_capacity),
        "requalifies_course_id": str(course.requalifies_course_id or ""),
    }


# -- writing -----------------------------------------------------------------------------
def _values(data: Mapping) -> dict:
    values = parse(data, RULES)
    slug = values["slug"] or slugify(values["title"])
    if len(slug) < 2:
        message = "Enter a web address, like first-aid-at-work."
        raise InvalidInput(message, fields={"slug": message})
    return {
        "title": values["title"], "slug": slug, "category": values["category"],
        "summary": values["summary"], "description_html": values["description"],
        "duration_days": values["duration_days"], "duration_hours": values["duration_hours"],
        "price_pence": values["price"],
        "certificate_validity_months": values["certificate_validity_months"],
        "default_capacity": values["default_capacity"],
        "requalifies_course_id": values["requalifies_course_id"],
    }


def _check_requalifies(full_course_id: int | None, course_id: int | None = None) -> None:
    """A requalification course renews one existing full course: not itself, not
    another requalification course, and not while other courses renew it (a chain
    would leave those pointing at a requalification)."""
    if full_course_id is None:
        return
    repo = AdminCourseRepository()
    target = repo.get(full_course_id)
    if target is None:
        message = "Choose a full course from the list."
    elif target.id == course_id:
        message = "A course cannot requalify itself: choose the full course it renews."
    elif target.is_requalification:
        message = (f"{target.title} is itself a requalification course: choose the full "
                   "course it renews.")
    elif course_id is not None and repo.list(Course.requalifies_course_id == course_id):
        message = ("Other courses renew this course's certificate, so it cannot be a "
                   "requalification course itself.")
    else:
        return
    raise InvalidInput(message, fields={"requalifies_course_id": message})


def _slug_taken(slug: str) -> InvalidInput:
    message = f"Another course already uses the web address '{slug}'."
    return InvalidInput(message, fields={"slug": message})


def create_course(actor_id: int, data: Mapping) -> Course:
    """Add a course from form values (price in pounds, description as rich HTML,
    which is sanitised). Active unless data["is_active"] is false."""
    values = _values(data)
    if AdminCourseRepository().slug_taken(values["slug"]):
        raise _slug_taken(values["slug"])
    _check_requalifies(values["requalifies_course_id"])
    try:
        return RECORDS.create(actor_id,
                              Course(**values, is_active=bool(data.get("is_active", True))))
    except IntegrityError:  # a concurrent create took the slug first
        raise _slug_taken(values["slug"]) from None


def update_course(actor_id: int, course_id: int, data: Mapping, *,
                  now: datetime | None = None) -> Course:
    """Edit a course. Its length (days, hours) may change only as far as every
    upcoming scheduled session still gives it, since certificates state it."""
    now = now or utcnow()
    values = _values(data)
    if AdminCourseRepository().slug_taken(values["slug"], excluding=course_id):
        raise _slug_taken(values["slug"])
    _check_requalifies(values["requalifies_course_id"], course_id)
    try:
        return RECORDS.update(actor_id, course_id, values,
                              check=lambda course: check_course_length(course, values, now))
    except IntegrityError:
        raise _slug_taken(values["slug"]) from None


def set_course_active(actor_id: int, course_id: int, is_active: bool) -> Course:
    """Deactivate (hide from the catalogue; existing sessions and bookings stay) or
    reactivate a course."""
    return RECORDS.change(actor_id, course_id, "activate" if is_active else "deactivate",
                          lambda course: setattr(course, "is_active", is_active),
                          unless=lambda course: course.is_active == is_active)


def delete_course(actor_id: int, course_id: int, *, now: datetime | None = None) -> Course:
    """Soft delete: hidden everywhere but the admin pages, restorable. Refused while
    the course has upcoming scheduled sessions (cancel or move them first)."""
    now = now or utcnow()

    def not_in_use(course: Course) -> None:
        refuse_while_upcoming(now, lambda n: (
            f"{course.title} has {n} upcoming {'session' if n == 1 else 'sessions'}. "
            "Cancel them (or deactivate the course) before deleting it."), course_id=course.id)
    return RECORDS.soft_delete(actor_id, course_id, check=not_in_use)


def restore_course(actor_id: int, course_id: int) -> Course:
    return RECORDS.restore(actor_id, course_id)
