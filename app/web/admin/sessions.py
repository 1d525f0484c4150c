"""The timetable: list, create (single or series), detail, inline capacity and
trainer edits, move, cancel."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from app.services.catalogue import courses, timetable, venues
from app.services.core.errors import DomainError
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import (
    actor_id, flash_error, flash_success, form_data, is_confirmed, show_error,
)
from app.web.admin.forms import (
    CancelSessionForm, CapacityForm, MoveSessionForm, SessionForm, TrainerAssignForm, options,
)
from app.web.formatting import pounds
from app.web.htmx import is_htmx, page_or_fragment, render, see_other
from app.web.links import site_links


def _course_label(course) -> str:
    return f"{course.title} ({course.length_text})" + ("" if course.is_active else " (inactive)")


def _course_choices():
    return options([("", "Choose a course")] + [
        (c.id, _course_label(c)) for c in courses.all_courses()])


def _venue_choices():
    return options([("", "Choose a venue")] + [(v.id, f"{v.name}, {v.town}")
                                               for v in venues.all_venues()])


def _trainer_choices(empty: str = "No trainer yet"):
    return options([("", empty)] + [(t.id, t.full_name) for t in timetable.trainers()])


@bp.get("/sessions")
@admin_required
def sessions():
    table = timetable.list_sessions(request.args)
    return page_or_fragment(
        "admin/sessions.html", "fragments/_admin_sessions_table.html", table=table,
        courses=courses.all_courses(), venues=venues.all_venues(),
        trainers=timetable.trainers(), statuses=timetable.STATUS_FILTERS)


@bp.route("/sessions/new", methods=["GET", "POST"])
@admin_required
def session_new():
    form = SessionForm(data={"course_id": request.args.get("course", "")})
    form.course_id.choices = _course_choices()
    form.venue_id.choices = _venue_choices()
    form.trainer_id.choices = _trainer_choices()
    problem = None
    if form.validate_on_submit():
        try:
            created = timetable.create_sessions(actor_id(), form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            first = created[0]
            if len(created) == 1:
                flash_success("Session created.")
                return redirect(url_for("admin.session_detail", session_id=first.id), code=303)
            flash_success(f"{len(created)} sessions created.")
            day = first.starts_at.astimezone(timetable.LONDON).date().isoformat()
            return redirect(url_for("admin.sessions", course=first.course_id, **{"from": day}),
                            code=303)
    return render_template("admin/session_form.html", form=form, problem=problem), \
        422 if request.method == "POST" else 200


def _inline_forms(row):
    capacity = CapacityForm(formdata=None, data={"capacity": str(row.session.capacity)})
    trainer = TrainerAssignForm(formdata=None,
                                data={"trainer_id": str(row.session.trainer_id or "")})
    trainer.trainer_id.choices = _trainer_choices("No trainer")
    return capacity, trainer


@bp.get("/sessions/<id:session_id>")
@admin_required
def session_detail(session_id: int):
    detail = timetable.session_detail(session_id)
    capacity_form, trainer_form = _inline_forms(detail.row)
    session = detail.row.session
    return render_template("admin/session_detail.html", detail=detail, row=detail.row,
                           capacity_form=capacity_form, trainer_form=trainer_form,
                           private_link=site_links().course_session_link(session)
                           if session.is_private else None)


def _inline_response(template: str, session_id: int, form, problem, saved: bool):
    """HTMX: the edited cell again (with the error, or fresh values); plain form
    posts go back to the session's page."""
    if is_htmx():
        row = timetable.session_row(session_id)
        capacity_form, trainer_form = _inline_forms(row)
        if not saved:
            if template.endswith("_capacity.html"):
                capacity_form = form
            else:
                form.trainer_id.choices = trainer_form.trainer_id.choices
                trainer_form = form
        return render(template, 200 if saved else 422, row=row,
                      capacity_form=capacity_form, trainer_form=trainer_form,
                      problem=problem, saved=saved)
    if saved:
        flash_success("Saved.")
    else:
        flash_error(problem or "; ".join(e for errs in form.errors.values() for e in errs))
    return see_other(url_for("admin.session_detail", session_id=session_id))


@bp.post("/sessions/<id:session_id>/capacity")
@admin_required
def session_capacity(session_id: int):
    form = CapacityForm()
    problem, saved = None, False
    if form.validate_on_submit():
        try:
            timetable.change_capacity(actor_id(), session_id, form.capacity.data)
            saved = True
        except DomainError as exc:
            problem = show_error(form, exc)
    return _inline_response("fragments/_admin_capacity.html", session_id, form, problem, saved)


@bp.post("/sessions/<id:session_id>/trainer")
@admin_required
def session_trainer(session_id: int):
    form = TrainerAssignForm()
    form.trainer_id.choices = _trainer_choices("No trainer")
    problem, saved = None, False
    if form.validate_on_submit():
        try:
            timetable.assign_trainer(actor_id(), session_id, form.trainer_id.data)
            saved = True
        except DomainError as exc:
            problem = show_error(form, exc)
    return _inline_response("fragments/_admin_trainer.html", session_id, form, problem, saved)


@bp.route("/sessions/<id:session_id>/move", methods=["GET", "POST"])
@admin_required
def session_move(session_id: int):
    course_session = timetable.get_session(session_id)
    form = MoveSessionForm(data=timetable.form_values(course_session))
    form.venue_id.choices = _venue_choices()
    problem = None
    if form.validate_on_submit():
        try:
            timetable.move_session(actor_id(), session_id, form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success("Session moved. Customers with confirmed bookings are being emailed "
                          "the new details.")
            return redirect(url_for("admin.session_detail", session_id=session_id), code=303)
    return render_template("admin/session_move.html", form=form, course_session=course_session,
                           required_hours=timetable.required_hours_text(course_session.course),
                           problem=problem), 422 if request.method == "POST" else 200


@bp.route("/sessions/<id:session_id>/cancel", methods=["GET", "POST"])
@admin_required
def session_cancel(session_id: int):
    course_session = timetable.get_session(session_id)
    form = CancelSessionForm()
    problem = None
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            result = timetable.cancel_session(actor_id(), session_id,
                                                   reason=form.reason.data)
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            if result.was_already_cancelled and not result.cancelled_references:
                flash_error("This session was already cancelled.")
            elif not result.cancelled_references:
                flash_success("Session cancelled. It had no bookings.")
            else:
                count = len(result.cancelled_references)
                flash_success(
                    f"Session cancelled. {count} booking{'' if count == 1 else 's'} cancelled; "
                    f"{pounds(result.refunds_due_pence)} is being refunded and every customer "
                    "is being emailed.")
            return see_other(url_for("admin.session_detail", session_id=session_id))
    return render_template("admin/session_cancel.html", form=form, course_session=course_session,
                           preview=timetable.cancellation_preview(session_id),
                           problem=problem), 422 if problem else 200
