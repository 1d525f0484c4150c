"""Public pages: home, courses, the session calendar, session pages, and how to
reach a booking (its personal link is in every booking email)."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from app.services.catalogue import listing
from app.services.core import brand, provider
from app.web.htmx import page_or_fragment

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    return render_template("home.html", overview=listing.home_overview())


@bp.get("/brand.css")
def brand_css():
    """The brand colours as CSS custom properties: one definition for the site,
    the emails and the PDFs (app.services.core.brand)."""
    response = Response(brand.stylesheet(), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


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
    return page_or_fragment("sessions.html", "fragments/_session_list.html", calendar=calendar)


@bp.get("/sessions/<id:session_id>")
def session(session_id: int):
    return render_template("session.html", course_session=listing.get_session(session_id))


@bp.get("/manage-booking")
def manage_booking():
    """Where the header's "Manage booking" leads: customers have no accounts, so this
    explains the personal link in their booking emails and how to get it again."""
    return render_template("manage_booking.html", provider=provider.current())
