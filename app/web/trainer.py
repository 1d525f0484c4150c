"""The trainer portal: my sessions, the roster, attendance, completion, downloads.

    trainer.index            GET      /trainer/
    trainer.roster           GET      /trainer/sessions/<id>
    trainer.mark_attendance  POST     /trainer/sessions/<id>/attendees/<attendee_id>/attendance
                                      (HTMX: the row fragment; plain form post: back to the roster)
    trainer.complete         GET/POST /trainer/sessions/<id>/complete    (GET asks "are you sure?")
    trainer.roster_csv       GET      /trainer/sessions/<id>/roster.csv
    trainer.roster_pdf       GET      /trainer/sessions/<id>/roster.pdf
    trainer.certificate      GET      /trainer/sessions/<id>/certificates/<number>.pdf

Trainers and administrators may come in (`staff_required`); which sessions a
user may see is decided by app.services.staff.roster, which is given the user and
answers 404 for a session that is not theirs, exactly as for one that does
not exist.
"""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.models import utcnow
from app.services.core.errors import InvalidState
from app.services.core.ukformat import london
from app.services.staff import roster as roster_service
from app.services.staff.certificates import certificate_download
from app.web.access import staff_required
from app.web.htmx import is_htmx, keep_private, see_other, vary

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

ATTENDED_VALUES = {"present": True, "absent": False}


class ConfirmForm(FlaskForm):
    """CSRF only: the confirmation buttons."""


def _user():
    # The real User object behind the LocalProxy, for the services.
    return current_user._get_current_object()


# Rosters hold names, phone numbers and access needs: never cache them.
keep_private(bp)


@bp.get("/")
@staff_required
def index():
    sessions = roster_service.trainer_sessions(_user())
    return render_template("trainer/sessions.html", sessions=sessions)


@bp.get("/sessions/<id:session_id>")
@staff_required
def roster(session_id: int):
    return render_template("trainer/roster.html",
                           roster=roster_service.session_roster(_user(), session_id))


def _row_response(roster, entry, *, problem: str | None = None, status: int = 200):
    """The attendee's row, plus the counts above the list (out of band)."""
    html = render_template("fragments/_roster_row.html", roster=roster, entry=entry,
                           problem=problem)
    html += render_template("fragments/_roster_counts.html", roster=roster, oob=True)
    return vary(make_response(html, status))


@bp.post("/sessions/<id:session_id>/attendees/<id:attendee_id>/attendance")
@staff_required
def mark_attendance(session_id: int, attendee_id: int):
    attended = ATTENDED_VALUES.get(request.form.get("attended", ""))
    problem = None
    if attended is None:
        problem, status = "Choose present or absent.", 422
    else:
        try:
            roster_service.mark_attendance(_user(), attendee_id, attended,
                                           session_id=session_id)
            status = 200
        except InvalidState as exc:
            problem, status = exc.message, exc.status
    if is_htmx():
        roster, entry = roster_service.roster_entry(_user(), session_id, attendee_id)
        return _row_response(roster, entry, problem=problem, status=status)
    if problem:
        flash(problem, "error")
    return see_other(url_for("trainer.roster", session_id=session_id,
                             _anchor=f"attendee-{attendee_id}"))


@bp.route("/sessions/<id:session_id>/complete", methods=["GET", "POST"])
@staff_required
def complete(session_id: int):
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = roster_service.complete_session(_user(), session_id,
                                                     london(utcnow()).date())
        except InvalidState as exc:
            flash(exc.message, "error")
            return redirect(url_for("trainer.complete", session_id=session_id), code=303)
        if result.already_completed:
            flash("This session was already completed.", "info")
        else:
            issued = result.certificates_issued
            flash(f"Session completed. {issued} certificate{'' if issued == 1 else 's'} "
                  "issued; each attendee is emailed theirs.", "success")
        return redirect(url_for("trainer.roster", session_id=session_id), code=303)
    roster = roster_service.session_roster(_user(), session_id)
    return render_template("trainer/complete.html", roster=roster, form=form)


def _download(document):
    response = make_response(document.content)
    response.headers["Content-Type"] = document.mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


@bp.get("/sessions/<id:session_id>/roster.csv")
@staff_required
def roster_csv(session_id: int):
    return _download(roster_service.roster_csv_download(_user(), session_id))


@bp.get("/sessions/<id:session_id>/roster.pdf")
@staff_required
def roster_pdf(session_id: int):
    return _download(roster_service.roster_pdf_download(_user(), session_id))


@bp.get("/sessions/<id:session_id>/certificates/<number>.pdf")
@staff_required
def certificate(session_id: int, number: str):
    """An attendee's certificate: a trainer's only from their own sessions (any other
    number is 404, like an unknown one), an administrator's from any."""
    user = _user()
    roster_service.session_roster(user, session_id)  # 404 unless the session is theirs
    number, document = certificate_download(number, trainer_id=user.id,
                                            as_admin=user.is_admin)
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{number}.pdf"'
    return response
