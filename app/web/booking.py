"""The customer's booking journey: form, hold, payment, confirmation, manage link.

    booking.start           GET/POST /sessions/<id>/book
    booking.validate_field  POST     /sessions/<id>/book/validate      (HTMX fragment)
    booking.price           POST     /sessions/<id>/book/price         (HTMX fragment)
    booking.pay             GET/POST /bookings/<ref>/pay?token=T
    booking.confirmation    GET      /bookings/<ref>/confirmation?token=T
    booking.manage          GET      /bookings/<ref>?token=T
    booking.rename          POST     /bookings/<ref>/attendees?token=T
    booking.cancel          GET/POST /bookings/<ref>/cancel?token=T    (GET asks "are you sure?")
    booking.certificate     GET      /bookings/<ref>/certificates/<number>.pdf?token=T
    booking.find            GET/POST /bookings/find   (email + reference -> the link by email)

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
from app.services.bookings.manage_links import request_manage_link
from app.services.bookings.standing import booking_standing
from app.services import pricing
from app.services.catalogue import listing
from app.services.staff.certificates import certificate_download
from app.services.payments.invoices import InvoiceSettings, uk_today
from app.services.payments.offline import book_on_invoice
from app.services.core import switches
from app.services.core.errors import (
    HoldExpired, InvalidInput, InvalidState, SeatsUnavailable, SessionNotBookable, TooManyHolds,
)
from app.validation import FieldError, ValidationFailed, format_uk_phone, parse_booking_request
from app.validation.invoice import (
    INVOICE_FIELD_PATHS, parse_payment_choice, validate_invoice_field,
)
from app.web.checkout import begin_checkout, invoice_pay_path
from app.web.forms import (
    CancelForm, FakePaymentForm, FindBookingForm, apply_errors, booking_form, field_name_to_path,
    form_to_booking_data, form_to_payment_choice, path_to_field_id, posted_seat_count,
    rename_form, validation_attrs,
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


def _links(reference: str, booking: Booking | None = None) -> dict[str, str]:
    """The booking's signed page links; with `booking` awaiting payment on its
    invoice, also the invoice's pay-by-card page (`pay_invoice`)."""
    links = {
        "manage": manage_url(reference),
        "pay": pay_url(reference),
        "confirmation": confirmation_url(reference),
        "cancel": signed_path("booking.cancel", reference),
        "rename": signed_path("booking.rename", reference),
    }
    if booking is not None and booking.awaits_payment:
        links["pay_invoice"] = invoice_pay_path(booking.invoice.number)
    return links


# -- shared helpers ---------------------------------------------------------------------
def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config)


def _max_seats() -> int:
    return current_app.config["MAX_SEATS_PER_BOOKING"]


def _hold_has_lapsed(booking: Booking, now) -> bool:
    return booking.status == BookingStatus.EXPIRED or booking.hold_has_lapsed(now)


def _has_token_in_url() -> bool:
    args = request.view_args or {}
    return "reference" in args or "private_token" in args


# Booking pages carry personal details and CSRF tokens, those about one booking
# its signed token in the URL: never cache them.
keep_private(bp, secret_url=_has_token_in_url)


@bp.context_processor
def _template_helpers():
    return {"validation_attrs": validation_attrs, "today_uk": uk_today(utcnow()),
            "invoice_bank": _invoice_settings().bank}


# -- the booking form -----------------------------------------------------------------------
def _seat_options(course_session) -> int:
    return max(0, min(_max_seats(), course_session.seats_available))


def _seats_to_show(requested: int | None) -> int:
    """How many attendee blocks to show: what was asked for, within 1..max."""
    return max(1, min(requested or 1, _max_seats()))


def _filled_form(course_session):
    """The booking form as posted, with one attendee block per chosen seat."""
    seats = _seats_to_show(posted_seat_count(request.form))
    return booking_form(request.form, seats=seats, seat_options=_seat_options(course_session),
                        requalification=course_session.is_requalification)


def _quote(course_session, form) -> pricing.quotes.Quote:
    """The price the form shows for its seats, discount code and email."""
    return pricing.quote(course_session.id, _seats_to_show(posted_seat_count(
                             {"seats": form.seats.data or ""})),
                         code_text=form.discount_code.data, email=form.contact.email.data,
                         group=_policy().group_discount)


def _price_context(course_session, form) -> dict:
    return {
        "quote": _quote(course_session, form),
        "group_discount": _policy().group_discount,
        "price_url": url_for("booking.price", session_id=course_session.id),
        "discounts_on": switches.is_on("DISCOUNTS_ENABLED"),
    }


def _invoice_settings() -> InvoiceSettings:
    return InvoiceSettings.from_config(current_app.config)


def _invoice_offered(form) -> bool:
    """Whether the form offers "Invoice my company": while an administrator allows it
    and for enough seats (book_on_invoice checks the same again), or to show an
    error about the choice."""
    return bool(form.payment_method.errors) or (
        switches.is_on("INVOICE_PAYMENTS_ENABLED")
        and len(form.attendee_forms) >= _invoice_settings().min_seats)


def _render_form(course_session, form, *, errors=None, problem=None, status=200,
                 fragment=False):
    template = "fragments/_attendee_fields.html" if fragment else "booking/form.html"
    return render(
        template, status,
        **_price_context(course_session, form),
        invoice_offered=_invoice_offered(form),
        course_session=course_session,
        form=form,
        errors=errors or [],
        problem=problem,
        seat_options=_seat_options(course_session),
        max_seats=_max_seats(),
        hold_minutes=_policy().hold_minutes,
        validate_url=url_for("booking.validate_field", session_id=course_session.id),
        book_url=book_url(course_session),
        is_fragment=fragment,
    )


def book_url(course_session) -> str:
    """Where the booking form of `course_session` posts: a private session's own
    link for a private one."""
    if course_session.is_private:
        return url_for("booking.private_start", private_token=course_session.private_token)
    return url_for("booking.start", session_id=course_session.id)


@bp.route("/sessions/<id:session_id>/book", methods=["GET", "POST"])
def start(session_id: int):
    """The booking form. POST action=resize re-renders it with another number of
    attendee blocks (HTMX gets only the blocks); action=book holds the seats."""
    return _booking_form(listing.get_session(session_id))


@bp.route("/sessions/private/<private_token>/book", methods=["GET", "POST"])
def private_start(private_token: str):
    """The booking form of a private session, reached only through its private link."""
    return _booking_form(listing.get_private_session(private_token))


def _session_again(course_session):
    """The session re-read (its seat count has changed), the way it was opened."""
    if course_session.is_private:
        return listing.get_private_session(course_session.private_token)
    return listing.get_session(course_session.id)


def _booking_form(course_session):
    session_id = course_session.id
    if request.method == "GET":
        seats = min(_seats_to_show(posted_seat_count(request.args)),
                    max(1, _seat_options(course_session)))
        form = booking_form(None, seats=seats, seat_options=_seat_options(course_session),
                            requalification=course_session.is_requalification)
        return _render_form(course_session, form, fragment=is_htmx())

    if request.form.get("action") == "resize":
        return _render_form(course_session, _filled_form(course_session),
                            fragment=is_htmx())

    data = form_to_booking_data(request.form, session_id=session_id)
    errors: dict[str, str] = {}
    booking_request = billing = None
    try:
        booking_request = parse_booking_request(data, max_seats=_max_seats(),
                                                require_terms=True)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        billing = parse_payment_choice(*form_to_payment_choice(request.form))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        form = _filled_form(course_session)
        return _render_form(course_session, form, errors=apply_errors(form, errors),
                            status=422)
    try:
        if billing is not None:  # "Invoice my company": confirmed at once, payment due
            booking = book_on_invoice(booking_request, billing, policy=_policy(),
                                      settings=_invoice_settings(), actor=Actor.customer(),
                                      client_address=client_ip(),
                                      private_token=course_session.private_token)
            return redirect(confirmation_url(booking.reference), code=303)
        booking = hold_seats(booking_request, policy=_policy(), client_address=client_ip(),
                             private_token=course_session.private_token)
    except TooManyHolds as exc:
        response = _render_form(course_session, _filled_form(course_session),
                                problem=exc.message, status=exc.status)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except InvalidInput as exc:  # e.g. a discount code that cannot be used, or no invoicing
        form = _filled_form(course_session)
        return _render_form(course_session, form, errors=apply_errors(form, exc.fields),
                            problem=None if exc.fields else exc.message, status=422)
    except (SeatsUnavailable, SessionNotBookable) as exc:
        course_session = _session_again(course_session)  # the seat count has changed
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
        if path in INVOICE_FIELD_PATHS:
            validate_invoice_field(path, request.form.get(name))
        else:
            validation.validate_field(path, request.form.get(name), max_seats=_max_seats())
    except FieldError as exc:
        message = exc.message
    except KeyError:
        abort(400, description="Unknown field.")
    response = make_response(render_template(
        "fragments/_field_error.html", field_id=path_to_field_id(path), message=message))
    response.headers["X-Field-Valid"] = "false" if message else "true"
    return response


# -- find my booking --------------------------------------------------------------------------
@bp.route("/bookings/find", methods=["GET", "POST"])
def find():
    """Email and reference -> the booking's manage link, sent to the booking's own
    address. Every well-formed request gets the same page, whether or not a booking
    matches (the service does the same work for both); malformed input gets its
    messages at the fields (422)."""
    form = FindBookingForm()
    if request.method == "GET":
        return render_template("booking/find.html", form=form)
    if not form.validate_on_submit():  # only the CSRF token: the service checks the fields
        return render_template("booking/find.html", form=form), 400
    try:
        request_manage_link(form.email.data, form.reference.data)
    except InvalidInput as exc:
        for name, message in exc.fields.items():
            form[name].errors = [message]
        return render_template("booking/find.html", form=form), 422
    return render_template("booking/find_sent.html")


@bp.post("/sessions/<id:session_id>/book/price", endpoint="price")
def price_fragment(session_id: int):
    """The price as the form stands (seats, discount code, email), worked out on the
    server: the fragment the form swaps in when any of them changes."""
    course_session = listing.get_session(session_id)
    form = _filled_form(course_session)
    return render_template("fragments/_price_summary.html", course_session=course_session,
                           **_price_context(course_session, form))


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
                           links=_links(reference, booking),
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
        links=_links(booking.reference, booking),
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
    number, document = certificate_download(number, booking=booking_from_link(reference))
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
