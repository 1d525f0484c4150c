"""The public waiting list: join from a full session's page, leave through the
signed link, and the offer link that opens the booking form on held seats.

    waitlist.join    POST     /sessions/<id>/waitlist
    waitlist.leave   GET/POST /waitlist/<entry_id>/leave?token=T   (GET asks "are you sure?")
    waitlist.offer   GET/POST /waitlist/<entry_id>/offer?token=T   (the booking form; action
                                                                     book or decline)

While the WAITLIST_ENABLED switch is off the session page shows no form and
joining answers 404 (the API's error code ``waitlist_disabled``). Offer and leave
links keep working, so nobody holding an offer loses it when the switch turns off.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField

from app.services.bookings import waitlist as waitlist_service
from app.services.bookings import waitlist_offers
from app.services.catalogue import listing
from app.services.core.errors import InvalidInput, InvalidState, SeatsAvailable, SessionNotBookable
from app.validation import ValidationFailed, parse_booking_request
from app.web.booking import _policy, pay_url
from app.web.forms import (
    apply_errors, booking_form, form_to_booking_data, validation_attrs,
)
from app.web.htmx import keep_private

bp = Blueprint("waitlist", __name__)
FIELDS = ("name", "email", "seats")

keep_private(bp, secret_url=lambda: "entry_id" in (request.view_args or {}))


class JoinForm(FlaskForm):
    """Name, email and seats wanted; the rules are the waiting-list service's."""

    name = StringField("Full name", render_kw={"autocomplete": "name"})
    email = EmailField("Email address", render_kw={"autocomplete": "email",
                                                   "spellcheck": "false"})
    seats = StringField("Seats wanted", default="1",
                        render_kw={"inputmode": "numeric", "class": "input--short"})


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


def join_form(formdata=None) -> JoinForm:
    return JoinForm(formdata=formdata, prefix="waitlist")


@bp.app_context_processor
def _waitlist_helpers():
    """What the session page needs to show the form: whether the list is open, and a form."""
    return {"waitlist_is_open": waitlist_service.is_open_to_public,
            "waitlist_join_form": join_form}


def _max_seats() -> int:
    return current_app.config["MAX_SEATS_PER_BOOKING"]


@bp.post("/sessions/<id:session_id>/waitlist")
def join(session_id: int):
    """Join the list; errors are shown at the fields on the session page."""
    form = join_form(request.form)
    data = {name: form[name].data for name in FIELDS}
    try:
        joined = waitlist_service.join(session_id, data, max_seats=_max_seats())
    except (InvalidInput, SeatsAvailable) as exc:
        for name, message in exc.fields.items():
            if name in FIELDS:
                form[name].errors = [message]
        return render_template("session.html", course_session=listing.get_session(session_id),
                               join_form=form, join_problem=exc.message,
                               ), 409 if isinstance(exc, SeatsAvailable) else 422
    except SessionNotBookable as exc:
        return render_template("session.html", course_session=listing.get_session(session_id),
                               join_form=form, join_problem=exc.message), 409
    return render_template("waitlist/joined.html", joined=joined,
                           course_session=listing.get_session(session_id),
                           leave_url=waitlist_offers.leave_url(joined.entry)), \
        201 if joined.is_new else 200


@bp.route("/waitlist/<id:entry_id>/leave", methods=["GET", "POST"])
def leave(entry_id: int):
    token = request.args.get("token")
    entry = waitlist_service.entry_from_leave_link(entry_id, token)
    if request.method == "GET":
        return render_template("waitlist/leave.html", entry=entry, form=ConfirmForm(),
                               action=request.full_path)
    entry = waitlist_service.leave(entry_id, token)
    return render_template("waitlist/left.html", entry=entry)


# -- the offer: the booking form on seats held for the customer -------------------------------
def _render_offer(offer, form, *, errors=None, problem=None, status=200):
    course_session = listing.get_session(offer.entry.session_id)
    return render_template(
        "booking/form.html", course_session=course_session, form=form, errors=errors or [],
        problem=problem, seat_options=offer.booking.seats, max_seats=_max_seats(),
        hold_minutes=_policy().hold_minutes, offer=offer,
        form_action=request.full_path,
        validate_url=url_for("booking.validate_field", session_id=course_session.id),
        validation_attrs=validation_attrs, is_fragment=False), status


def _offer_form(offer, formdata=None):
    form = booking_form(formdata, seats=offer.booking.seats, seat_options=offer.booking.seats)
    if formdata is None:
        form.contact["name"].data = offer.entry.name
        form.contact["email"].data = offer.entry.email
    return form


@bp.route("/waitlist/<id:entry_id>/offer", methods=["GET", "POST"])
def offer(entry_id: int):
    """The one-click link in the offer email: the booking form for the held seats.
    Details given, the customer goes on to pay; "No thanks" passes the seats on."""
    token = request.args.get("token")
    found = waitlist_offers.get_offer(entry_id, token)
    if found.booking.status.value == "confirmed" or (found.is_live and found.details_given
                                                     and request.method == "GET"):
        return redirect(pay_url(found.booking.reference), code=303)
    if not found.is_live:
        return render_template("waitlist/offer_ended.html", offer=found), \
            200 if request.method == "GET" else 409
    if request.method == "GET":
        return _render_offer(found, _offer_form(found))

    form = _offer_form(found, request.form)  # CSRF: checked for every form by CSRFProtect
    if request.form.get("action") == "decline":
        waitlist_offers.decline_offer(entry_id, token)
        flash("Thank you: we have offered the seats to the next person waiting.", "success")
        return redirect(url_for("public.session", session_id=found.entry.session_id), code=303)
    data = form_to_booking_data(request.form, session_id=found.entry.session_id)
    try:
        booking_request = parse_booking_request(data, max_seats=_max_seats(),
                                                require_terms=True)
        booking = waitlist_offers.take_offer(entry_id, token, booking_request,
                                             hold_minutes=_policy().hold_minutes)
    except ValidationFailed as exc:
        return _render_offer(found, form, errors=apply_errors(form, exc.errors), status=422)
    except InvalidInput as exc:
        return _render_offer(found, form, errors=apply_errors(form, exc.fields), status=422)
    except InvalidState as exc:
        return render_template("waitlist/offer_ended.html", offer=found,
                               problem=exc.message), 409
    return redirect(pay_url(booking.reference), code=303)
