"""Discount codes: list with uses, create, edit, deactivate and reactivate, and the
bookings that used a code. The rules and the audit entries are the pricing
service's (app.services.pricing.discounts)."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField

from app.repositories import CourseRepository
from app.services.core import switches
from app.services.pricing import discounts as discounts_service
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_success
from app.web.admin.crud import form_page
from app.web.admin.forms import CsrfForm, options
from app.web.htmx import see_other


class DiscountForm(FlaskForm):
    """Strings as typed: the service checks every field (no second set of rules)."""

    code = StringField("Code", description="What customers type, like SPRING10: letters, "
                                           "numbers, - and _.",
                       render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    kind = RadioField("Discount", choices=options([("percent", "A percentage off"),
                                                   ("amount", "An amount off the whole booking")]),
                      default="percent", validate_choice=False)
    percent = StringField("Percentage off", description="1 to 100.",
                          render_kw={"inputmode": "numeric", "class": "input--short"})
    amount = StringField("Amount off, in pounds", description="For example 25 or 25.50.",
                         render_kw={"inputmode": "decimal", "class": "input--short"})
    courses = SelectMultipleField("Courses", choices=[], validate_choice=False,
                                  description="Choose none for every course.")
    valid_from = StringField("First day (optional)", description="For example 2027-03-31.",
                             render_kw={"type": "date"})
    valid_until = StringField("Last day (optional)", description="It works until the end "
                                                                 "of this day (UK time).",
                              render_kw={"type": "date"})
    max_uses = StringField("Uses in total (optional)", description="Empty: no limit.",
                           render_kw={"inputmode": "numeric", "class": "input--short"})
    max_uses_per_email = StringField("Uses per email address (optional)",
                                     description="Empty: no limit.",
                                     render_kw={"inputmode": "numeric",
                                                "class": "input--short"})


def _form(data: dict | None = None) -> DiscountForm:
    form = DiscountForm(data=data)
    form.courses.choices = options((c.id, c.title) for c in CourseRepository().list_active())
    return form


@bp.get("/discounts")
@admin_required
def discounts():
    return render_template("admin/discounts.html", codes=discounts_service.list_codes(),
                           discounts_on=switches.is_on("DISCOUNTS_ENABLED"))


@bp.route("/discounts/new", methods=["GET", "POST"])
@admin_required
def discount_new():
    return form_page(
        _form(), "admin/discount_form.html",
        lambda values: discounts_service.create_code(actor_id(), values),
        lambda code: (f"Discount code {code.code} created.",
                      url_for("admin.discount", code_id=code.id)),
        code=None)


@bp.get("/discounts/<id:code_id>")
@admin_required
def discount(code_id: int):
    code, bookings = discounts_service.code_uses(code_id)
    return render_template("admin/discount.html", item=code, bookings=bookings,
                           action_form=CsrfForm())


@bp.route("/discounts/<id:code_id>/edit", methods=["GET", "POST"])
@admin_required
def discount_edit(code_id: int):
    code = discounts_service.get_code(code_id)
    values = discounts_service.form_values(code)
    data = {**values, "kind": code.kind.value,
            "amount": f"{code.amount_pence / 100:.2f}" if code.amount_pence else "",
            "courses": [str(i) for i in values["courses"]]}
    return form_page(
        _form(data), "admin/discount_form.html",
        lambda posted: discounts_service.update_code(actor_id(), code_id, posted),
        lambda _: (f"Discount code {code.code} saved.",
                   url_for("admin.discount", code_id=code_id)),
        code=code)


@bp.post("/discounts/<id:code_id>/active")
@admin_required
def discount_active(code_id: int):
    """Deactivate or reactivate: `active=yes|no`."""
    form = CsrfForm()
    if not form.validate_on_submit() or request.form.get("active") not in ("yes", "no"):
        abort(400)
    code = discounts_service.set_active(actor_id(), code_id, request.form["active"] == "yes")
    flash_success(f"Discount code {code.code} is now "
                  f"{'active' if code.is_active else 'deactivated'}.")
    return see_other(url_for("admin.discount", code_id=code_id))
