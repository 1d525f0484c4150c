"""On-site training enquiries from the public: the form, and the page that
thanks them.

    enquiries.new      GET/POST /enquiries/new
    enquiries.thanks   GET      /enquiries/thanks

The fields are checked by the enquiry service's own RULES (through `Rule`),
so a message next to a field is the service's; the service checks again when
it stores the enquiry. A hidden "website" field catches form-filling robots:
a post that fills it is thanked like any other and stored nowhere. Posts are
rate limited per client address (ENQUIRY_RATE_LIMIT, app.web.ratelimits).
"""
from __future__ import annotations

import logging

from flask import Blueprint, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TelField, TextAreaField

from app.services.core.errors import InvalidInput
from app.services.enquiries import intake
from app.web.admin.forms import Rule
from app.web.htmx import keep_private, see_other

log = logging.getLogger(__name__)

bp = Blueprint("enquiries", __name__)

# The form carries a CSRF token and what people typed: never cache it.
keep_private(bp)

HONEYPOT = "website"
_R = intake.RULES


class EnquiryForm(FlaskForm):
    course = SelectField("Course", [Rule(_R["course"])], validate_choice=False)
    learners = StringField("Number of learners", [Rule(_R["learners"])],
                           description=f"Up to {intake.MAX_LEARNERS}.",
                           render_kw={"inputmode": "numeric", "class": "input--short",
                                      "autocomplete": "off"})
    preferred_dates = TextAreaField(
        "Preferred dates", [Rule(_R["preferred_dates"])],
        description="For example, \"any Tuesday in March\" or \"w/c 12 May\".",
        render_kw={"rows": "3"})
    postcode = StringField("Postcode of the training site", [Rule(_R["postcode"])],
                           description="For example, LS1 4AP.",
                           render_kw={"autocomplete": "postal-code", "spellcheck": "false",
                                      "autocapitalize": "characters", "class": "input--short"})
    name = StringField("Your full name", [Rule(_R["name"])],
                       render_kw={"autocomplete": "name", "spellcheck": "false"})
    email = EmailField("Email address", [Rule(_R["email"])],
                       description="We'll send a confirmation and our reply here.",
                       render_kw={"autocomplete": "email", "spellcheck": "false",
                                  "inputmode": "email"})
    phone = TelField("UK phone number", [Rule(_R["phone"])],
                     description="For example, 07700 900123.",
                     render_kw={"autocomplete": "tel", "inputmode": "tel"})
    company = StringField("Company or organisation", [Rule(_R["company"])],
                          render_kw={"autocomplete": "organization"})
    message = TextAreaField("Anything else we should know (optional)", [Rule(_R["message"])],
                            description="For example, the room you have, or access needs.",
                            render_kw={"rows": "4"})
    website = StringField("Leave this empty", render_kw={"autocomplete": "off",
                                                         "tabindex": "-1"})


def _form(formdata=None) -> EnquiryForm:
    form = EnquiryForm(formdata=formdata, data={"course": request.args.get("course", "")})
    form.course.choices = [("", "Choose a course")] + [
        (c.slug, c.title) for c in intake.course_choices()]
    return form


def _values(form: EnquiryForm) -> dict:
    return {name: form[name].data for name in intake.FIELDS}


@bp.route("/enquiries/new", methods=["GET", "POST"])
def new():
    form = _form(request.form if request.method == "POST" else None)
    problem = None
    if request.method == "POST":
        if (request.form.get(HONEYPOT) or "").strip():
            log.info("enquiry form: honeypot filled; nothing stored")
            return see_other(url_for("enquiries.thanks"))
        if form.validate():
            try:
                intake.submit_enquiry(_values(form))
            except InvalidInput as exc:
                for name, message in exc.fields.items():
                    if name in form:
                        form[name].errors = [*(form[name].errors or ()), message]
                    else:
                        problem = message
            else:
                return see_other(url_for("enquiries.thanks"))
    return render_template("enquiries/new.html", form=form, problem=problem), \
        422 if request.method == "POST" else 200


@bp.get("/enquiries/thanks")
def thanks():
    return render_template("enquiries/thanks.html")
