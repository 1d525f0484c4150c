"""On-site training enquiries: the list (open, answered, closed), one enquiry,
answering it by email, closing it, and arranging a private session for it."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from app.services.catalogue import timetable
from app.services.core.errors import DomainError
from app.services.enquiries import office
from app.validation.filters import page_number
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_error, flash_success, form_data, show_error
from app.web.admin.crud import confirm_page
from app.web.admin.forms import END_TIME_HINT, MONEY, NUMBER, Rule
from app.web.admin.sessions import _trainer_choices, _venue_choices
from app.web.htmx import page_or_fragment, see_other

_S = timetable.RULES


class AnswerForm(FlaskForm):
    subject = StringField("Subject", [Rule(office.REPLY_RULES["subject"])])
    body = TextAreaField("Message", [Rule(office.REPLY_RULES["body"])],
                         description="Sent by email to the enquirer and kept on the enquiry. "
                                     "Once a private session is arranged, the email adds its "
                                     "booking link.",
                         render_kw={"rows": "8"})


class PrivateSessionForm(FlaskForm):
    venue_id = SelectField("Venue", [Rule(_S["venue_id"])], validate_choice=False,
                           description="The employer's site: add it as a venue first if it "
                                       "is not in the list.")
    trainer_id = SelectField("Trainer", [Rule(_S["trainer_id"])], validate_choice=False)
    date = StringField("Date (first day)", [Rule(_S["date"])], render_kw={"type": "date"})
    start_time = StringField("Starts (UK time)", [Rule(_S["start_time"])],
                             render_kw={"type": "time", "class": "input--short"})
    end_time = StringField("Ends (UK time)", [Rule(_S["end_time"])], description=END_TIME_HINT,
                           render_kw={"type": "time", "class": "input--short"})
    capacity = StringField("Seats", [Rule(_S["capacity"])], render_kw=NUMBER)
    price = StringField("Price per person (£, optional)", [Rule(_S["price"])],
                        description="Leave blank for the course's price.", render_kw=MONEY)


@bp.get("/enquiries")
@admin_required
def enquiries():
    listing = office.list_enquiries(request.args.get("status"),
                                    page=page_number(request.args.get("page")))
    return page_or_fragment("admin/enquiries.html", "fragments/_admin_enquiries_table.html",
                            listing=listing, statuses=office.STATUS_FILTERS)


def _detail_page(enquiry_id: int, *, answer_form=None, problem=None, status: int = 200):
    detail = office.enquiry_detail(enquiry_id)
    return render_template(
        "admin/enquiry_detail.html", detail=detail, enquiry=detail.enquiry,
        answer_form=answer_form or AnswerForm(formdata=None,
                                              data=office.reply_defaults(detail.enquiry)),
        problem=problem), status


@bp.get("/enquiries/<id:enquiry_id>")
@admin_required
def enquiry(enquiry_id: int):
    return _detail_page(enquiry_id)


@bp.post("/enquiries/<id:enquiry_id>/answer")
@admin_required
def enquiry_answer(enquiry_id: int):
    office.get_enquiry(enquiry_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            office.answer_enquiry(actor_id(), enquiry_id, form_data(form))
        except DomainError as exc:
            return _detail_page(enquiry_id, answer_form=form, problem=show_error(form, exc),
                                status=422 if exc.fields else exc.status)
        flash_success("Answer sent. It is kept on the enquiry.")
        return see_other(url_for("admin.enquiry", enquiry_id=enquiry_id))
    return _detail_page(enquiry_id, answer_form=form, status=422)


@bp.route("/enquiries/<id:enquiry_id>/close", methods=["GET", "POST"])
@admin_required
def enquiry_close(enquiry_id: int):
    office.get_enquiry(enquiry_id)
    back = url_for("admin.enquiry", enquiry_id=enquiry_id)
    return confirm_page(
        lambda: office.close_enquiry(actor_id(), enquiry_id),
        done=back, refused=back, success="Enquiry closed.",
        title="Close this enquiry?", message="It moves to the closed enquiries; nothing is "
                                             "emailed.",
        action=url_for("admin.enquiry_close", enquiry_id=enquiry_id), button="Yes, close it",
        back=back)


@bp.route("/enquiries/<id:enquiry_id>/private-session", methods=["GET", "POST"])
@admin_required
def enquiry_private_session(enquiry_id: int):
    enquiry = office.get_enquiry(enquiry_id)
    form = PrivateSessionForm(data=office.private_session_defaults(enquiry))
    form.venue_id.choices = _venue_choices()
    form.trainer_id.choices = _trainer_choices()
    problem = None
    if form.validate_on_submit():
        try:
            created = office.create_private_session(actor_id(), enquiry_id, form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
            if not exc.fields and exc.status == 409:
                flash_error(exc.message)
                return see_other(url_for("admin.enquiry", enquiry_id=enquiry_id))
        else:
            flash_success("Private session created. Answer the enquiry to email its booking "
                          "link.")
            return see_other(url_for("admin.session_detail", session_id=created.id))
    return render_template("admin/enquiry_private_session.html", form=form, enquiry=enquiry,
                           required_hours=timetable.required_hours_text(enquiry.course),
                           problem=problem), 422 if request.method == "POST" else 200
