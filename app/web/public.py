"""Public catalogue pages: home, courses, the session calendar and session pages."""
from __future__ import annotations

from flask import Blueprint, make_response, render_template, request

from app.services.catalogue import listing

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    return render_template("home.html", overview=listing.home_overview())


@bp.get("/courses")
def courses():
    return render_template("courses.html", courses=listing.list_courses())


@bp.get("/courses/<slug>")
def course(slug: str):
    return render_template("course.html", detail=listing.course_detail(slug))


@bp.get("/sessions")
def sessions():
    """The calendar; an HTMX request (not a history restore) gets only the results fragment."""
    calendar = listing.session_calendar(request.args)
    wants_fragment = (request.headers.get("HX-Request") == "true"
                      and request.headers.get("HX-History-Restore-Request") != "true")
    template = "fragments/_session_list.html" if wants_fragment else "sessions.html"
    response = make_response(render_template(template, calendar=calendar))
    response.vary.add("HX-Request")
    return response


@bp.get("/sessions/<int:session_id>")
def session(session_id: int):
    return render_template("session.html", course_session=listing.get_session(session_id))
