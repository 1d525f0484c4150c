"""Courses: list, create, edit, (de)activate, soft delete and restore."""
from __future__ import annotations

from flask import request, url_for

from app.services.catalogue import courses as courses_service
from app.services.core.errors import DomainError
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_error, flash_success
from app.web.admin.crud import form_page, post_action, search_page, soft_delete_page
from app.web.admin.forms import CourseForm, CsrfForm, options
from app.web.htmx import see_other


def _course_form(course=None) -> CourseForm:
    form = CourseForm(data=courses_service.form_values(course)) if course else CourseForm()
    form.requalifies_course_id.choices = options(
        [("", "Nothing: this is not a requalification course")]
        + [(c.id, c.title + ("" if c.is_active else " (inactive)"))
           for c in courses_service.full_courses(course)])
    return form


@bp.get("/courses")
@admin_required
def courses():
    return search_page(courses_service.list_courses, "admin/courses.html",
                       "fragments/_admin_courses_table.html", action_form=CsrfForm())


@bp.route("/courses/new", methods=["GET", "POST"])
@admin_required
def course_new():
    return form_page(
        _course_form(), "admin/course_form.html",
        lambda values: courses_service.create_course(actor_id(), values),
        lambda course: (f"Course '{course.title}' created.",
                        url_for("admin.course_edit", course_id=course.id)),
        course=None)


@bp.route("/courses/<id:course_id>", methods=["GET", "POST"])
@admin_required
def course_edit(course_id: int):
    course = courses_service.get_course(course_id)
    return form_page(
        _course_form(course), "admin/course_form.html",
        lambda values: courses_service.update_course(actor_id(), course_id, values),
        lambda _: ("Course saved.", url_for("admin.course_edit", course_id=course_id)),
        course=course, action_form=CsrfForm())


@bp.post("/courses/<id:course_id>/active")
@admin_required
def course_set_active(course_id: int):
    form = CsrfForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            course = courses_service.set_course_active(actor_id(), course_id, active)
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"'{course.title}' is now {'active' if active else 'inactive'}.")
    return see_other(url_for("admin.course_edit", course_id=course_id))


@bp.route("/courses/<id:course_id>/delete", methods=["GET", "POST"])
@admin_required
def course_delete(course_id: int):
    course = courses_service.get_course(course_id)
    return soft_delete_page(
        course.title, "course", lambda: courses_service.delete_course(actor_id(), course_id),
        edit=url_for("admin.course_edit", course_id=course_id), listing=url_for("admin.courses"),
        action=url_for("admin.course_delete", course_id=course_id),
        message="The course disappears from the website and the admin lists. Nothing is "
                "lost: bookings and certificates keep it, and you can restore it later.")


@bp.post("/courses/<id:course_id>/restore")
@admin_required
def course_restore(course_id: int):
    return post_action(lambda: courses_service.restore_course(actor_id(), course_id),
                       lambda course: f"'{course.title}' restored.",
                       url_for("admin.course_edit", course_id=course_id))
