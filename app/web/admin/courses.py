"""Courses: list, create, edit, (de)activate, soft delete and restore."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from app.services.catalogue import courses as courses_service
from app.validation.filters import page_number
from app.services.core.errors import DomainError
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import (
    actor_id, flash_error, flash_success, form_data, is_confirmed, show_error,
)
from app.web.admin.forms import ConfirmForm, CourseForm, CsrfForm
from app.web.htmx import page_or_fragment, see_other


@bp.get("/courses")
@admin_required
def courses():
    show_deleted = request.args.get("deleted") == "1"
    text = (request.args.get("q") or "")[:100]
    results = courses_service.list_courses(text=text, include_deleted=show_deleted,
                                         page=page_number(request.args.get("page")))
    params = {"q": text or None, "deleted": "1" if show_deleted else None}
    return page_or_fragment("admin/courses.html", "fragments/_admin_courses_table.html",
                            results=results, params={k: v for k, v in params.items() if v},
                            action_form=CsrfForm())


@bp.route("/courses/new", methods=["GET", "POST"])
@admin_required
def course_new():
    form = CourseForm()
    problem = None
    if form.validate_on_submit():
        try:
            course = courses_service.create_course(actor_id(), form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success(f"Course '{course.title}' created.")
            return redirect(url_for("admin.course_edit", course_id=course.id), code=303)
    return render_template("admin/course_form.html", form=form, course=None, problem=problem), \
        422 if request.method == "POST" else 200


@bp.route("/courses/<int:course_id>", methods=["GET", "POST"])
@admin_required
def course_edit(course_id: int):
    course = courses_service.get_course(course_id)
    form = CourseForm(data=courses_service.form_values(course))
    problem = None
    if form.validate_on_submit():
        try:
            courses_service.update_course(actor_id(), course_id, form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success("Course saved.")
            return redirect(url_for("admin.course_edit", course_id=course_id), code=303)
    return render_template("admin/course_form.html", form=form, course=course, problem=problem,
                           action_form=CsrfForm()), 422 if request.method == "POST" else 200


@bp.post("/courses/<int:course_id>/active")
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


@bp.route("/courses/<int:course_id>/delete", methods=["GET", "POST"])
@admin_required
def course_delete(course_id: int):
    course = courses_service.get_course(course_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            courses_service.delete_course(actor_id(), course_id)
        except DomainError as exc:
            flash_error(exc.message)
            return see_other(url_for("admin.course_edit", course_id=course_id))
        flash_success(f"'{course.title}' deleted. You can restore it from the course list.")
        return see_other(url_for("admin.courses"))
    return render_template(
        "admin/confirm.html", form=form, title=f"Delete {course.title}?",
        message="The course disappears from the website and the admin lists. Nothing is "
                "lost: bookings and certificates keep it, and you can restore it later.",
        action=url_for("admin.course_delete", course_id=course_id), button="Yes, delete it",
        back=url_for("admin.course_edit", course_id=course_id))


@bp.post("/courses/<int:course_id>/restore")
@admin_required
def course_restore(course_id: int):
    form = CsrfForm()
    if form.validate_on_submit():
        course = courses_service.restore_course(actor_id(), course_id)
        flash_success(f"'{course.title}' restored.")
    return see_other(url_for("admin.course_edit", course_id=course_id))
