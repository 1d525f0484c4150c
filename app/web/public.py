"""Public pages: home, courses, the session calendar, session pages, and how to
reach a booking (its personal link is in every booking email)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request

from app.services.bookings.holds import BookingPolicy
from app.services.bookings.terms import cancellation_policy
from app.services.catalogue import listing
from app.services.core import brand, provider
from app.web.htmx import no_store, page_or_fragment

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


@bp.get("/sessions/private/<private_token>")
def private_session(private_token: str):
    """A private session's page: only its private link opens it (never indexed)."""
    return no_store(make_response(render_template(
        "session.html", course_session=listing.get_private_session(private_token))),
        secret_url=True)


# -- terms, cancellation policy, privacy: linked in every page's footer ------------------
def _policy_words():
    return cancellation_policy(BookingPolicy.from_config(current_app.config))


@bp.get("/terms")
def terms():
    return render_template("legal/terms.html", provider=provider.current(),
                           policy=_policy_words())


@bp.get("/cancellation-policy", endpoint="cancellation_policy")
def cancellation_policy_page():
    return render_template("legal/cancellation_policy.html", provider=provider.current(),
                           policy=_policy_words())


@bp.get("/privacy")
def privacy():
    return render_template("legal/privacy.html", provider=provider.current())


@bp.get("/manage-booking")
def manage_booking():
    """Where the header's "Manage booking" leads: customers have no accounts, so this
    explains the personal link in their booking emails and how to get it again."""
    return render_template("manage_booking.html", provider=provider.current())
