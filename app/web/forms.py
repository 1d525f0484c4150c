"""Flask-WTF forms for the booking journey: CSRF and rendering only.

The rules live in one place, app.validation: the booking form is checked by
`parse_booking_request` (through `form_to_booking_data`), one field at a time
by `validate_field`, and attendee renames by the booking service. WTForms
here only names the fields, renders them (escaped) and carries the CSRF
token, so there is no second set of rules to drift out of step.

Field names map to the validation layer's dotted paths:

    contact-email        <->  contact.email
    attendees-0-name     <->  attendees.0.name
    seats                <->  attendees          (the seat count)
    billing-company      <->  billing.company    (paying by invoice)

and each field's id is its name, so an error for a path can be put next to
its input and linked from the error summary.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, EmailField, Form, FormField, RadioField, SelectField, StringField, TelField,
    TextAreaField,
)

CONTACT_KEYS = ("name", "email", "phone", "postcode", "company")
ATTENDEE_KEYS = ("name", "email", "access_needs", "certificate_expires_on")
SEATS_FIELD = "seats"
# Fields named as their validation path.
TOP_LEVEL_FIELDS = ("discount_code", "accept_terms", "payment_method", "purchase_order")
BILLING_KEYS = ("company", "name", "email", "address")
TICKED = ("y", "on", "true", "1")

# A posted seat count above this is not expanded into that many attendees: the
# validation layer refuses anything over the per-booking maximum anyway, and
# this bounds the work a tampered form can cause.
SEAT_COUNT_CEILING = 100

_CONTACT_NAME = re.compile(r"contact-(%s)" % "|".join(CONTACT_KEYS))
_ATTENDEE_NAME = re.compile(r"attendees-(0|[1-9][0-9]{0,2})-(%s)" % "|".join(ATTENDEE_KEYS))
_CONTACT_PATH = re.compile(r"contact\.(%s)" % "|".join(CONTACT_KEYS))
_BILLING_NAME = re.compile(r"billing-(%s)" % "|".join(BILLING_KEYS))
_BILLING_PATH = re.compile(r"billing\.(%s)" % "|".join(BILLING_KEYS))
_ATTENDEE_PATH = re.compile(r"attendees\.(0|[1-9][0-9]{0,2})\.(%s)" % "|".join(ATTENDEE_KEYS))

VALIDATE_TRIGGER = "blur changed, keyup changed delay:600ms"


# -- field names <-> validation paths --------------------------------------------
def field_name_to_path(name: str) -> str | None:
    """The validation path for a form field's name, or None if it is not one of ours."""
    if name == SEATS_FIELD:
        return "attendees"
    if name in TOP_LEVEL_FIELDS:
        return name
    if match := _CONTACT_NAME.fullmatch(name):
        return f"contact.{match.group(1)}"
    if match := _BILLING_NAME.fullmatch(name):
        return f"billing.{match.group(1)}"
    if match := _ATTENDEE_NAME.fullmatch(name):
        return f"attendees.{match.group(1)}.{match.group(2)}"
    return None


def path_to_field_id(path: str) -> str | None:
    """The id of the input for a validation path, or None (e.g. "session_id")."""
    if path == "attendees":
        return SEATS_FIELD
    if path in TOP_LEVEL_FIELDS:
        return path
    if (_CONTACT_PATH.fullmatch(path) or _BILLING_PATH.fullmatch(path)
            or _ATTENDEE_PATH.fullmatch(path)):
        return path.replace(".", "-")
    return None


def posted_seat_count(form: Mapping) -> int | None:
    """The seat count as posted, if it is a plain whole number."""
    raw = (form.get(SEATS_FIELD) or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 6:
        return int(raw)
    return None


def form_to_booking_data(form: Mapping, *, session_id: int | None = None) -> dict:
    """The booking form's fields in the shape parse_booking_request validates.

    One attendee per seat: the seat count decides how many attendee blocks are
    read, so a block left over from a larger count is ignored. A missing or
    garbled count gives no attendees, which the validation layer reports.
    """
    count = posted_seat_count(form)
    attendees = min(count, SEAT_COUNT_CEILING + 1) if count is not None else 0
    return {
        "session_id": session_id,
        "contact": {key: form.get(f"contact-{key}") for key in CONTACT_KEYS},
        "attendees": [{key: form.get(f"attendees-{index}-{key}") for key in ATTENDEE_KEYS}
                      for index in range(attendees)],
        "discount_code": form.get("discount_code"),
        "accept_terms": (form.get("accept_terms") or "").strip().lower() in TICKED,
    }


def form_to_payment_choice(form: Mapping) -> tuple[object, dict, object]:
    """The payment choice as posted: (payment_method, billing details, purchase
    order), for app.validation.invoice.parse_payment_choice (the API's rule too)."""
    return (form.get("payment_method"),
            {key: form.get(f"billing-{key}") for key in BILLING_KEYS},
            form.get("purchase_order"))


# -- rendering helpers ----------------------------------------------------------------
def validation_attrs(field, validate_url: str) -> dict:
    """As-you-type validation for an input (the `field` macro in templates/_forms.html
    gives the label, hint, error element and ARIA): it posts itself to
    `validate_url` on blur or a pause in typing and swaps the reply into its
    error element."""
    return {
        "hx-post": validate_url,
        "hx-trigger": VALIDATE_TRIGGER,
        "hx-target": f"#{field.id}-error",
        "hx-swap": "outerHTML",
        "hx-vals": json.dumps({"field": field.name}),
        "hx-params": f"field,{field.name}",
        "hx-sync": "this:replace",
        "data-validate": "true",
    }


# -- forms ----------------------------------------------------------------------------
class ContactForm(Form):
    """Rendered inside BookingForm as contact-name, contact-email, ..."""

    name = StringField("Your full name", render_kw={"autocomplete": "name", "spellcheck": "false"})
    email = EmailField(
        "Email address",
        description="We'll send your confirmation and your link to manage the booking here.",
        render_kw={"autocomplete": "email", "spellcheck": "false", "inputmode": "email"})
    phone = TelField("UK phone number", description="For example, 07700 900123.",
                     render_kw={"autocomplete": "tel", "inputmode": "tel"})
    postcode = StringField("Postcode", description="For example, LS1 4AP.",
                           render_kw={"autocomplete": "postal-code", "spellcheck": "false",
                                      "autocapitalize": "characters", "class": "input--short"})
    company = StringField("Company or organisation (optional)",
                          render_kw={"autocomplete": "organization"})


class BillingForm(Form):
    """Who the invoice goes to; rendered inside BookingForm as billing-company, ..."""

    company = StringField("Company to invoice", render_kw={"autocomplete": "organization"})
    name = StringField("Billing contact's full name",
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    email = EmailField("Billing contact's email address",
                       description="We'll email the invoice here.",
                       render_kw={"autocomplete": "off", "spellcheck": "false",
                                  "inputmode": "email"})
    address = TextAreaField("Billing address", render_kw={"rows": "4",
                                                          "autocomplete": "street-address"})


class AttendeeForm(Form):
    """One attendee block; built with prefix "attendees-N" (see booking_form)."""

    name = StringField(
        "Full name, as it should appear on the certificate",
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    email = EmailField("Email address (optional)",
                       description="If they'd like their certificate sent to them directly.",
                       render_kw={"autocomplete": "off", "spellcheck": "false",
                                  "inputmode": "email"})
    access_needs = TextAreaField(
        "Access needs (optional)",
        description=("For example, step-free access or a hearing loop. "
                     "We don't need any medical information."),
        render_kw={"rows": "3"})
    # Only on a requalification course (booking_form removes it elsewhere).
    certificate_expires_on = StringField(
        "Expiry date of their current certificate",
        description=("As printed on the certificate. Requalification is for certificates "
                     "that are still valid or expired in the last few weeks."),
        render_kw={"type": "date", "autocomplete": "off"})


class AttendeeNameForm(Form):
    """A name correction on the manage page; prefix "attendees-N"."""

    name = StringField("Full name, as it should appear on the certificate",
                       render_kw={"autocomplete": "off", "spellcheck": "false"})


class BookingForm(FlaskForm):
    """The booking form. `attendee_forms` (one AttendeeForm per seat) is set by booking_form()."""

    contact = FormField(ContactForm)
    seats = SelectField("Number of seats", choices=[], validate_choice=False)
    discount_code = StringField(
        "Discount code (optional)",
        render_kw={"autocomplete": "off", "spellcheck": "false",
                   "autocapitalize": "characters", "class": "input--short"})
    accept_terms = BooleanField("I agree to the terms of booking and the cancellation policy")
    # Shown only while paying by invoice is offered (see booking._render_form).
    payment_method = RadioField(
        "How would you like to pay?", default="card", validate_choice=False,
        choices=[("card", "Pay by card now"), ("invoice", "Invoice my company")])
    billing = FormField(BillingForm)
    purchase_order = StringField(
        "Purchase order number (optional)",
        description="If your company needs one on the invoice.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "class": "input--short"})

    attendee_forms: list[AttendeeForm]


class RenameForm(FlaskForm):
    """Attendee name corrections; `attendee_forms` is set by rename_form()."""

    attendee_forms: list[AttendeeNameForm]


class FindBookingForm(FlaskForm):
    """"Find my booking": the booking's email address and reference. Checked by
    app.services.bookings.manage_links.parse_find_request (errors set at the fields)."""

    email = EmailField("Email address",
                       description="The address the booking was made with.",
                       render_kw={"autocomplete": "email", "spellcheck": "false",
                                  "inputmode": "email"})
    reference = StringField("Booking reference",
                            description="10 letters and numbers, for example K7M2QXH4PD. "
                                        "It is in every email about the booking.",
                            render_kw={"autocomplete": "off", "spellcheck": "false",
                                       "autocapitalize": "characters"})


class CancelForm(FlaskForm):
    """Only the CSRF token: the cancellation is confirmed on its own page."""


class FakePaymentForm(FlaskForm):
    """Only the CSRF token; the buttons post action=pay|decline|abandon."""


def booking_form(formdata: Mapping | None, *, seats: int, seat_options: int,
                 requalification: bool = False) -> BookingForm:
    """The booking form filled from `formdata` (None for a blank form), showing
    `seats` attendee blocks and a seat choice of 1..seat_options; each attendee is
    asked for their current certificate's expiry date on a `requalification` course."""
    form = BookingForm(formdata=formdata)
    form.seats.choices = [(str(n), str(n)) for n in range(1, max(seat_options, seats) + 1)]
    form.seats.data = str(seats)
    form.attendee_forms = [AttendeeForm(formdata, prefix=f"attendees-{index}")
                           for index in range(seats)]
    if not requalification:
        for entry in form.attendee_forms:
            del entry["certificate_expires_on"]
    return form


def rename_form(formdata: Mapping | None, attendees: Iterable) -> RenameForm:
    """Name fields for `attendees` (objects with .position and .full_name),
    filled from `formdata` or, when it is None, with the names on the booking."""
    form = RenameForm(formdata=formdata)
    form.attendee_forms = []
    for attendee in attendees:
        entry = AttendeeNameForm(formdata, prefix=f"attendees-{attendee.position}",
                                 data=None if formdata else {"name": attendee.full_name})
        entry.position = attendee.position
        form.attendee_forms.append(entry)
    return form


def field_for_path(form, path: str):
    """The WTForms field a validation path belongs to on a booking or rename form."""
    if path == "attendees":
        return getattr(form, "seats", None)
    if path in TOP_LEVEL_FIELDS:
        return getattr(form, path, None)
    if match := _CONTACT_PATH.fullmatch(path):
        return form.contact[match.group(1)] if hasattr(form, "contact") else None
    if match := _BILLING_PATH.fullmatch(path):
        return form.billing[match.group(1)] if hasattr(form, "billing") else None
    if match := _ATTENDEE_PATH.fullmatch(path):
        field_id = path.replace(".", "-")
        for entry in form.attendee_forms:
            key = match.group(2)
            if key in entry and entry[key].id == field_id:
                return entry[key]
    return None


def apply_errors(form, errors: Mapping[str, str]) -> list[dict[str, str]]:
    """Put each message next to its field; return the error summary (in form
    order) as [{"href": "#field-id", "message": ...}]."""
    summary = []
    for path, message in errors.items():
        field = field_for_path(form, path)
        if field is not None:
            field.errors = [message]
            summary.append({"href": f"#{field.id}", "message": message})
        else:
            summary.append({"href": "", "message": message})
    return summary
