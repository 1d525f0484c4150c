"""The customer's booking journey: form, hold, payment, confirmation, manage link.

    booking.start           GET/POST /sessions/<id>/book
    booking.validate_field  POST     /sessions/<id>/book/validate      (HTMX fragment)
    booking.pay             GET/POST /bookings/<ref>/pay?token=T
    booking.confirmation    GET      /bookings/<ref>/confirmation?token=T
    booking.manage          GET      /bookings/<ref>?token=T
    booking.rename          POST     /bookings/<ref>/attendees?token=T
    booking.cancel          GET/POST /bookings/<ref>/cancel?token=T    (GET asks "are you sure?")
    booking.certificate     GET      /bookings/<ref>/certificates/<number>.pdf?token=T

Every page about a booking opens it with `booking_from_link`: the signed
token is checked before anything is read, and an unknown reference answers
exactly like a bad token (403), so the pages are no oracle for which
references exist. Routes parse, call one service, render; they never query.
"""
from __future__ import annotations

import math

from flask import (
    Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
    url_for,
)

from app import validation
from app.models import Booking, BookingStatus, utcnow
from app.services.bookings.holds import BookingPolicy, get_booking, hold_seats
from app.services.bookings.manage import Actor, allowed_changes, cancel_booking, rename_attendees
from app.services.bookings.standing import booking_certificate, booking_standing
from app.services.catalogue import listing
from app.services.core.errors import (
    HoldExpired, InvalidInput, InvalidState, SeatsUnavailable, SessionNotBookable, TooManyHolds,
)
from app.validation import FieldError, ValidationFailed, format_uk_phone, parse_booking_request
from app.web.checkout import begin_checkout
from app.web.forms import (
    CancelForm, FakePaymentForm, apply_errors, booking_form, field_name_to_path,
    form_to_booking_data, path_to_field_id, posted_seat_count, rename_form, validation_attrs,
)
from app.web.htmx import is_htmx, keep_private, render
from app.web.links import site_links
from app.web.ratelimits import client_ip
from app.web.signed_links import booking_from_link, signed_path

bp = Blueprint("booking", __name__)



# -- links inside the site (absolute ones, for links that leave it, come from site_links()) --
def manage_url(reference: str) -> str:
    """The signed manage-booking link for `reference`."""
    return signed_path("booking.manage", reference)


def pay_url(reference: str) -> str:
    """The signed payment page link for a held booking."""
    return signed_path("booking.pay", reference)


def confirmation_url(reference: str) -> str:
    return signed_path("booking.confirmation", reference)


def _links(reference: str) -> dict[str, str]:
    return {
        "manage": manage_url(reference),
        "pay": pay_url(reference),
        "confirmation": confirmation_url(reference),
        "cancel": signed_path("booking.cancel", reference),
        "rename": signed_path("booking.rename", reference),
    }


# -- shared helpers ---------------------------------------------------------------------
def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config)


def _max_seats() -> int:
    return current_app.config["MAX_SEATS_PER_BOOKING"]


def _hold_has_lapsed(booking: Booking, now) -> bool:
    return booking.status == BookingStatus.EXPIRED or booking.hold_has_lapsed(now)


def _has_token_in_url() -> bool:
    return "reference" in (request.view_args or {})


# Booking pages carry personal details and CSRF tokens, those about one booking
# its signed token in the URL: never cache them.
keep_private(bp, secret_url=_has_token_in_url)


@bp.context_processor
def _template_helpers():
    return {"validation_attrs": validation_attrs}


# -- the booking form -----------------------------------------------------------------------
def _seat_options(course_session) -> int:
    return max(0, min(_max_seats(), course_session.seats_available))


def _seats_to_show(requested: int | None) -> int:
    """How many attendee blocks to show: what was asked for, within 1..max."""
    return max(1, min(requested or 1, _max_seats()))


def _filled_form(course_session):
    """The booking form as posted, with one attendee block per chosen seat."""
    seats = _seats_to_show(posted_seat_count(request.form))
    return booking_form(request.form, seats=seats, seat_options=_seat_options(course_session))


def _render_form(course_session, form, *, errors=None, problem=None, status=200,
                 fragment=False):
    template = "fragments/_attendee_fields.html" if fragment else "booking/form.html"
    return render(
        template, status,
        course_session=course_session,
        form=form,
        errors=errors or [],
        problem=problem,
        seat_options=_seat_options(course_session),
        max_seats=_max_seats(),
        hold_minutes=_policy().hold_minutes,
        validate_url=url_for("booking.validate_field", session_id=course_session.id),
        is_fragment=fragment,
    )


@bp.route("/sessions/<id:session_id>/book", methods=["GET", "POST"])
def start(session_id: int):
    """The booking form. POST action=resize re-renders it with another number of
    attendee blocks (HTMX gets only the blocks); action=book holds the seats."""
    course_session = listing.get_session(session_id)
    if request.method == "GET":
        seats = min(_seats_to_show(posted_seat_count(request.args)),
                    max(1, _seat_options(course_session)))
        form = booking_form(None, seats=seats, seat_options=_seat_options(course_session))
        return _render_form(course_session, form, fragment=is_htmx())

    if request.form.get("action") == "resize":
        return _render_form(course_session, _filled_form(course_session),
                            fragment=is_htmx())

    data = form_to_booking_data(request.form, session_id=session_id)
    try:
        booking_request = parse_booking_request(data, max_seats=_max_seats())
    except ValidationFailed as exc:
        form = _filled_form(course_session)
        return _render_form(course_session, form, errors=apply_errors(form, exc.errors),
                            status=422)
    try:
        booking = hold_seats(booking_request, policy=_policy(), client_address=client_ip())
    except TooManyHolds as exc:
        response = _render_form(course_session, _filled_form(course_session),
                                problem=exc.message, status=exc.status)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except (SeatsUnavailable, SessionNotBookable) as exc:
        course_session = listing.get_session(session_id)  # the seat count has changed
        form = _filled_form(course_session)
        if isinstance(exc, SeatsUnavailable):
            form.seats.errors = [exc.message]
        return _render_form(course_session, form, problem=exc.message, status=exc.status)
    return redirect(pay_url(booking.reference), code=303)


@bp.post("/sessions/<id:session_id>/book/validate", endpoint="validate_field")
def validate_field_fragment(session_id: int):
    """As-you-type check of one field: the request names the field (`field`, or
    htmx's HX-Trigger-Name header) and carries its value under that name. The
    answer is the field's error element, empty when the value is fine."""
    name = request.form.get("field") or request.headers.get("HX-Trigger-Name") or ""
    path = field_name_to_path(name)
    if path is None:
        abort(400, description="Unknown field.")
    message = ""
    try:
        validation.validate_field(path, request.form.get(name), max_seats=_max_seats())
    except FieldError as exc:
        message = exc.message
    except KeyError:
        abort(400, description="Unknown field.")
    response = make_response(render_template(
        "fragments/_field_error.html", field_id=path_to_field_id(path), message=message))
    response.headers["X-Field-Valid"] = "false" if message else "true"
    return response


# -- payment ----------------------------------------------------------------------------------
def _render_pay(booking: Booking, *, status=200):
    now = utcnow()
    seconds_left = max(0, (booking.hold_expires_at - now).total_seconds())
    return render_template(
        "booking/pay.html",
        booking=booking,
        links=_links(booking.reference),
        form=FakePaymentForm(),
        minutes_left=math.ceil(seconds_left / 60),
        is_fake_checkout=current_app.config.get("PAYMENT_PROVIDER") == "fake",
    ), status


def _render_expired(booking: Booking, status=200):
    return render_template("booking/expired.html", booking=booking,
                           hold_minutes=_policy().hold_minutes), status


@bp.route("/bookings/<reference>/pay", methods=["GET", "POST"])
def pay(reference: str):
    """The hold with its countdown; "Pay" goes on to the provider's checkout page
    (Stripe Checkout, or the fake provider's page with pay, decline and abandon).
    Only the provider's verified webhook confirms the booking."""
    booking = booking_from_link(reference)
    if booking.status == BookingStatus.CONFIRMED:
        return redirect(confirmation_url(reference), code=303)
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.REFUNDED):
        return redirect(manage_url(reference), code=303)
    if _hold_has_lapsed(booking, utcnow()):
        return _render_expired(booking, status=200 if request.method == "GET" else 409)
    if request.method == "GET":
        return _render_pay(booking)

    if request.form.get("action", "pay") != "pay":
        abort(400, description="Choose pay.")
    try:
        return begin_checkout(reference)
    except HoldExpired:  # the hold ran out while the customer clicked
        return _render_expired(get_booking(reference), status=409)
    except InvalidState:  # paid or cancelled meanwhile
        return redirect(manage_url(reference), code=303)


# -- after payment ----------------------------------------------------------------------------
@bp.get("/bookings/<reference>/confirmation")
def confirmation(reference: str):
    booking = booking_from_link(reference)
    if booking.status == BookingStatus.HELD and not _hold_has_lapsed(booking, utcnow()):
        return redirect(pay_url(reference), code=303)
    if booking.status != BookingStatus.CONFIRMED:
        return redirect(manage_url(reference), code=303)
    return render_template("booking/confirmation.html", booking=booking,
                           links=_links(reference),
                           manage_link=site_links().manage_link(reference),
                           policy=_policy())


def _render_manage(booking: Booking, *, form=None, errors=None, problem=None, status=200):
    now = utcnow()
    policy = _policy()
    standing = booking_standing(booking, now)
    changes = allowed_changes(booking, actor=Actor.customer(), policy=policy, now=now)
    can_rename = standing.is_live and changes.can_rename
    if can_rename and form is None:
        form = rename_form(None, booking.attendees)
    return render_template(
        "booking/manage.html",
        booking=booking,
        standing=standing,
        links=_links(booking.reference),
        certificate_urls={
            c.number: signed_path("booking.certificate", booking.reference, number=c.number)
            for c in standing.certificates if c.is_issued},
        policy=policy,
        is_live=standing.is_live,
        can_rename=can_rename,
        can_cancel=standing.is_live and changes.can_cancel,
        form=form if can_rename else None,
        errors=errors or [],
        problem=problem,
        contact_phone=format_uk_phone(booking.contact_phone),
    ), status


@bp.get("/bookings/<reference>")
def manage(reference: str):
    """The booking as the customer sees it: where it stands (payment, refunds, the
    course, certificates), with name corrections and cancellation while it is live."""
    return _render_manage(booking_from_link(reference))


@bp.get("/bookings/<reference>/certificates/<number>.pdf")
def certificate(reference: str, number: str):
    """An attendee's certificate PDF, through the booking's signed link."""
    document = booking_certificate(booking_from_link(reference), number)
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{number}.pdf"'
    return response


@bp.post("/bookings/<reference>/attendees")
def rename(reference: str):
    """Correct attendee names (only those changed are sent to the service)."""
    booking = booking_from_link(reference)
    changed = {}
    for attendee in booking.attendees:
        posted = request.form.get(f"attendees-{attendee.position}-name")
        if posted is not None and posted.strip() != attendee.full_name:
            changed[attendee.position] = posted
    if not changed:
        flash("No names were changed.", "info")
        return redirect(manage_url(reference), code=303)
    try:
        rename_attendees(reference, changed, actor=Actor.customer(), policy=_policy())
    except InvalidInput as exc:
        form = rename_form(request.form, booking.attendees)
        return _render_manage(booking, form=form, errors=apply_errors(form, exc.fields),
                              status=422)
    except InvalidState as exc:
        return _render_manage(booking, problem=exc.message, status=409)
    flash("Attendee names updated. Certificates will show the new names.", "success")
    return redirect(manage_url(reference), code=303)


@bp.route("/bookings/<reference>/cancel", methods=["GET", "POST"])
def cancel(reference: str):
    """GET asks "are you sure?" with the refund the policy gives; POST cancels."""
    booking = booking_from_link(reference)
    now = utcnow()
    if _hold_has_lapsed(booking, now):
        return _render_manage(booking, problem="This booking is not active, so it cannot be "
                                               "cancelled.", status=409)
    changes = allowed_changes(booking, actor=Actor.customer(), policy=_policy(), now=now)
    if not changes.can_cancel:
        return _render_manage(booking, problem=changes.why_not_cancel, status=409)
    if request.method == "GET":
        is_paid = booking.status == BookingStatus.CONFIRMED
        refund_pence = (_policy().refund_due_pence(booking.amount_pence,
                                                   booking.session.starts_at, now)
                        if is_paid else 0)
        return render_template("booking/cancel_confirm.html", booking=booking,
                               links=_links(reference), form=CancelForm(), is_paid=is_paid,
                               refund_pence=refund_pence, policy=_policy())
    try:
        cancel_booking(reference, actor=Actor.customer(), policy=_policy())
    except InvalidState as exc:
        return _render_manage(get_booking(reference), problem=exc.message, status=409)
    flash("Your booking has been cancelled.", "success")
    return redirect(manage_url(reference), code=303)
