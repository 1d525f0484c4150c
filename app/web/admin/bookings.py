"""Bookings: the searchable table, the booking page with its timeline, and the
admin's actions on one booking (resend, names, transfer, cancel, refund, mark
paid), plus bookings taken by phone."""
from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, url_for

from app.services.bookings import holds, manage, manage_links, office
from app.services.catalogue import timetable
from app.services.core.errors import DomainError
from app.services.payments import offline, refunds
from app.services.staff import certificates
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import (
    actor_id, flash_error, flash_success, is_confirmed, policy, show_error,
)
from app.web.admin.forms import (
    CancelBookingForm, CsrfForm, ManualBookingForm, MarkPaidForm, RefundForm, TransferForm, options,
)
from app.web.formatting import pounds, uk_date, uk_time
from app.web.forms import AttendeeForm, ContactForm, apply_errors, rename_form
from app.web.htmx import page_or_fragment, see_other


@bp.get("/bookings")
@admin_required
def bookings():
    table = office.search_bookings(request.args)
    return page_or_fragment("admin/bookings.html", "fragments/_admin_bookings_table.html",
                            table=table, statuses=office.STATUS_FILTERS,
                            date_fields=office.DATE_FIELDS,
                            sessions=timetable.upcoming_choices())


def _session_label(course_session) -> str:
    return (f"{course_session.course.title}, {uk_date(course_session.starts_at)} "
            f"{uk_time(course_session.starts_at)}, {course_session.venue.town}")


def _transfer_form(detail, form: TransferForm | None = None) -> TransferForm:
    """The transfer form (a new one, or the one posted), offering the dates `detail` allows."""
    form = TransferForm() if form is None else form
    form.session_id.choices = options([("", "Choose another date")] + [
        (s.id, f"{_session_label(s)} ({detail.target_seats[s.id]} free)")
        for s in detail.transfer_targets])
    return form


def _staff() -> manage.Actor:
    return manage.Actor.staff(actor_id())


def _detail(reference: str) -> office.BookingDetail:
    """The booking with what the signed-in admin may do to it now."""
    return office.booking_detail(reference, actor=_staff(), policy=policy())


def _detail_page(reference: str, *, status: int = 200, **forms):
    detail = _detail(reference)
    booking = detail.booking
    context = {
        "detail": detail, "booking": booking,
        "rename": forms.get("rename") or rename_form(None, booking.attendees),
        "transfer": _transfer_form(detail, forms.get("transfer")),
        "mark_paid": forms.get("mark_paid") or MarkPaidForm(formdata=None),
        "action_form": CsrfForm(formdata=None),
        "problem": forms.get("problem"),
    }
    return render_template("admin/booking_detail.html", **context), status


@bp.get("/bookings/<reference>")
@admin_required
def booking_detail(reference: str):
    return _detail_page(reference)


@bp.post("/bookings/<reference>/resend")
@admin_required
def booking_resend(reference: str):
    if CsrfForm().validate_on_submit():
        try:
            booking = office.resend_confirmation(actor_id(), reference)
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"The confirmation is on its way to {booking.contact_email} again.")
    return see_other(url_for("admin.booking_detail", reference=reference))


@bp.post("/bookings/<reference>/manage-link")
@admin_required
def booking_reissue_link(reference: str):
    """Send the customer a new manage link; the old ones stop working."""
    if CsrfForm().validate_on_submit():
        try:
            booking = manage_links.reissue_manage_link(reference, actor_id=actor_id())
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"A new manage link is on its way to {booking.contact_email}; "
                          "the old link no longer works.")
    return see_other(url_for("admin.booking_detail", reference=reference))


@bp.get("/bookings/<reference>/certificates/<number>.pdf")
@admin_required
def booking_certificate(reference: str, number: str):
    number, document = certificates.certificate_download(number, as_admin=True)
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{number}.pdf"'
    return response


@bp.post("/bookings/<reference>/attendees/<id:attendee_id>/certificate/reissue")
@admin_required
def booking_certificate_reissue(reference: str, attendee_id: int):
    """Correct the name on an issued certificate: a new number, the old one superseded."""
    if CsrfForm().validate_on_submit():
        try:
            attendee = certificates.reissue_certificate(
                attendee_id, actor_id=actor_id(), full_name=request.form.get("name"))
        except DomainError as exc:
            flash_error(exc.fields.get("name") or exc.message)
        else:
            flash_success(f"Certificate reissued to {attendee.full_name} as "
                          f"{attendee.certificate_number} and emailed; the old number now "
                          "shows as replaced.")
    return see_other(url_for("admin.booking_detail", reference=reference))


@bp.post("/bookings/<reference>/attendees/<id:attendee_id>/certificate/resend")
@admin_required
def booking_certificate_resend(reference: str, attendee_id: int):
    if CsrfForm().validate_on_submit():
        try:
            attendee = certificates.resend_certificate(attendee_id, actor_id=actor_id())
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"Certificate {attendee.certificate_number} is on its way again.")
    return see_other(url_for("admin.booking_detail", reference=reference))


@bp.post("/bookings/<reference>/names")
@admin_required
def booking_names(reference: str):
    booking = holds.get_booking(reference)
    form = rename_form(request.form, booking.attendees)
    if form.validate_on_submit():
        names = {entry.position: entry.name.data for entry in form.attendee_forms}
        try:
            manage.rename_attendees(reference, names, actor=_staff(), policy=policy())
        except DomainError as exc:
            apply_errors(form, exc.fields)
            return _detail_page(reference, status=422 if exc.fields else exc.status,
                                rename=form, problem=None if exc.fields else exc.message)
        flash_success("Attendee names saved.")
    return see_other(url_for("admin.booking_detail", reference=reference) + "#attendees")


@bp.post("/bookings/<reference>/transfer")
@admin_required
def booking_transfer(reference: str):
    holds.get_booking(reference)  # an unknown booking is a 404, whatever was posted
    form = TransferForm()
    if form.validate_on_submit():
        try:
            booking = manage.transfer_booking(reference, form.session_id.data, actor=_staff())
        except DomainError as exc:
            problem = show_error(form, exc)
            return _detail_page(reference, status=422 if exc.fields else exc.status,
                                transfer=form, problem=problem)
        flash_success(f"Moved to {_session_label(booking.session)}. The customer is being "
                      "emailed a new confirmation.")
        return see_other(url_for("admin.booking_detail", reference=reference))
    return _detail_page(reference, status=422, transfer=form)


@bp.post("/bookings/<reference>/mark-paid")
@admin_required
def booking_mark_paid(reference: str):
    form = MarkPaidForm()
    if form.validate_on_submit():
        try:
            offline.mark_paid_offline(reference, form.method.data, form.note.data,
                                      actor=_staff())
        except DomainError as exc:
            problem = show_error(form, exc)
            return _detail_page(reference, status=422 if exc.fields else exc.status,
                                mark_paid=form, problem=problem)
        flash_success("Payment recorded and the booking confirmed.")
        return see_other(url_for("admin.booking_detail", reference=reference))
    return _detail_page(reference, status=422, mark_paid=form)


@bp.route("/bookings/<reference>/cancel", methods=["GET", "POST"])
@admin_required
def booking_cancel(reference: str):
    detail = _detail(reference)
    form = CancelBookingForm()
    problem = None
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            booking = manage.cancel_booking(reference, actor=_staff(), policy=policy(),
                                            refund=form.refund.data)
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            owed = booking.refund_due_pence
            flash_success("Booking cancelled; its seats are free again."
                          + (f" {pounds(owed)} is being refunded." if owed else ""))
            return see_other(url_for("admin.booking_detail", reference=reference))
    preview = office.refund_preview(detail.booking, policy())
    return render_template("admin/booking_cancel.html", form=form, booking=detail.booking,
                           changes=detail.changes, preview=preview,
                           problem=problem), 422 if problem else 200


@bp.route("/bookings/<reference>/refund", methods=["GET", "POST"])
@admin_required
def booking_refund(reference: str):
    detail = _detail(reference)
    form = RefundForm()
    problem = None
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            amount_pence = refunds.REFUND_AMOUNT_RULE(form.amount.data)  # the form checked it
            refund = refunds.refund_booking(reference, amount_pence, actor=_staff())
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            outcome = {"succeeded": "refunded", "pending": "queued for refund",
                       "failed": "could not be refunded (see the alert)"}[refund.status.value]
            flash_success(f"{pounds(refund.amount_pence)} {outcome}.")
            return see_other(url_for("admin.booking_detail", reference=reference))
    return render_template("admin/booking_refund.html", form=form, detail=detail,
                           booking=detail.booking, problem=problem), \
        422 if problem or form.errors else 200


# -- bookings taken by phone ---------------------------------------------------------------
def _manual_forms(formdata, seats: int):
    form = ManualBookingForm(formdata=formdata, data={
        "session_id": request.args.get("session", ""), "seats": str(seats)})
    max_seats = current_app.config["MAX_SEATS_PER_BOOKING"]
    form.seats.choices = options((n, str(n)) for n in range(1, max_seats + 1))
    form.session_id.choices = options([("", "Choose a session")] + [
        (s.id, _session_label(s)) for s in timetable.upcoming_choices()])
    form.contact = ContactForm(formdata, prefix="contact")
    form.attendee_forms = [AttendeeForm(formdata, prefix=f"attendees-{i}") for i in range(seats)]
    return form


def _seat_count(raw) -> int:
    max_seats = current_app.config["MAX_SEATS_PER_BOOKING"]
    try:
        return min(max(int(raw), 1), max_seats)
    except (TypeError, ValueError):
        return 1


@bp.route("/bookings/new", methods=["GET", "POST"])
@admin_required
def booking_new():
    posted = request.method == "POST"
    seats = _seat_count(request.form.get("seats") if posted else request.args.get("seats"))
    form = _manual_forms(request.form if posted else None, seats)
    problem, status = None, 200
    if posted and request.form.get("action") != "refresh" and form.validate_on_submit():
        try:
            booking = offline.create_manual_booking(request.form, actor=_staff(),
                                                    policy=policy())
        except DomainError as exc:
            placed = {k: v for k, v in exc.fields.items() if k in ("session_id", "method", "note")}
            for name, message in placed.items():
                form[name].errors = [message]
            summary = apply_errors(_AttendeeView(form), {k: v for k, v in exc.fields.items()
                                                         if k not in placed})
            unplaced = [s["message"] for s in summary if not s["href"]]
            problem = " ".join(unplaced) or (None if exc.fields else exc.message)
            status = 422 if exc.fields else exc.status
        else:
            flash_success(f"Booking {booking.reference} confirmed ({booking.seats} "
                          f"seat{'' if booking.seats == 1 else 's'}, {pounds(booking.amount_pence)}"
                          "). The customer is being emailed the confirmation.")
            return redirect(url_for("admin.booking_detail", reference=booking.reference),
                            code=303)
    elif posted and request.form.get("action") != "refresh":
        status = 422
    return render_template("admin/booking_new.html", form=form, problem=problem), status


class _AttendeeView:
    """What app.web.forms.apply_errors expects of a booking form: `contact`,
    `attendee_forms` and `seats`."""

    def __init__(self, form):
        self.contact = form.contact
        self.attendee_forms = form.attendee_forms
        self.seats = form.seats

