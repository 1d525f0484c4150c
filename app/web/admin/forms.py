"""Flask-WTF forms for the admin pages: CSRF, field names and rendering.

There is one set of rules. Each validator here is `Rule(...)` around the very
function the service applies (the services' RULES tables, app.validation), so
a form shows the service's own message next to the field before anything is
written, and the service checks again (it is the authority: a clash with
another trainer or a taken web address only it can know) with errors the
routes put next to the same fields. Numbers, money and dates are plain text
fields for the same reason: WTForms' own IntegerField/DecimalField/DateField
would be a second, different set of rules.
"""
from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField,
    TelField, TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from app.services.bookings import manage, office, waitlist
from app.services.catalogue import courses, timetable, venues
from app.services.messaging import session_messages
from app.services.payments import offline, refunds
from app.services.staff.auth import password_problem
from app.validation import FieldError, validate_email, validate_person_name


class Rule:
    """A WTForms validator that applies one app.validation rule (or a service's)."""

    def __init__(self, rule: Callable[[object], object], *, skip_blank: bool = False):
        self.rule = rule
        self.skip_blank = skip_blank

    def __call__(self, form, field) -> None:
        if self.skip_blank and not str(field.data or "").strip():
            return
        try:
            self.rule(field.data)
        except FieldError as exc:
            raise ValidationError(exc.message) from None


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _password_rule(value: object) -> None:
    problem = password_problem(value if isinstance(value, str) else None)
    if problem:
        raise FieldError(problem)


NUMBER = {"inputmode": "numeric", "class": "input--short", "autocomplete": "off"}
MONEY = {"inputmode": "decimal", "class": "input--short", "autocomplete": "off"}


class ConfirmForm(FlaskForm):
    """The confirmation step of a destructive action: CSRF and confirmed=yes."""

    confirmed = HiddenField(default="yes")


# -- courses and venues --------------------------------------------------------------------
class CourseForm(FlaskForm):
    R = courses.RULES
    title = StringField("Title", [Rule(R["title"])])
    slug = StringField("Web address", [Rule(R["slug"])],
                       description="Lower-case words joined by hyphens. Left blank, it is made "
                                   "from the title.",
                       render_kw={"spellcheck": "false", "autocomplete": "off"})
    category = StringField("Category", [Rule(R["category"])])
    summary = TextAreaField("Summary", [Rule(R["summary"])],
                            description="One or two sentences for the course list.",
                            render_kw={"rows": "2"})
    description = TextAreaField(
        "Description", [Rule(R["description"])],
        description="HTML: paragraphs, headings (h3, h4), bold, italics, lists, quotes and links. "
                    "Anything else is removed.",
        render_kw={"rows": "10", "spellcheck": "true"})
    duration_days = StringField("Days", [Rule(R["duration_days"])], render_kw=NUMBER)
    duration_hours = StringField("Teaching hours", [Rule(R["duration_hours"])], render_kw=NUMBER)
    price = StringField("Price per person (£)", [Rule(R["price"])], render_kw=MONEY)
    certificate_validity_months = StringField("Certificate valid for (months)",
                                              [Rule(R["certificate_validity_months"])],
                                              render_kw=NUMBER)
    default_capacity = StringField("Default seats per session", [Rule(R["default_capacity"])],
                                   render_kw=NUMBER)
    requalifies_course_id = SelectField(
        "Requalifies", [Rule(R["requalifies_course_id"])], validate_choice=False,
        description="The full course whose certificate this course renews. Booking it then "
                    "asks for each attendee's current certificate expiry date.")
    is_active = BooleanField("Show in the catalogue (active)", default=True)
    del R


class VenueForm(FlaskForm):
    R = venues.RULES
    name = StringField("Name", [Rule(R["name"])])
    address_line1 = StringField("Address", [Rule(R["address_line1"])],
                                render_kw={"autocomplete": "address-line1"})
    address_line2 = StringField("Address line 2 (optional)", [Rule(R["address_line2"])],
                                render_kw={"autocomplete": "address-line2"})
    town = StringField("Town", [Rule(R["town"])], render_kw={"autocomplete": "address-level2"})
    postcode = StringField("Postcode", [Rule(R["postcode"])],
                           render_kw={"autocomplete": "postal-code", "class": "input--short",
                                      "autocapitalize": "characters"})
    accessibility_notes = TextAreaField("Accessibility notes", [Rule(R["accessibility_notes"])],
                                        description="Step-free access, parking, hearing loop...",
                                        render_kw={"rows": "4"})
    del R


# -- sessions --------------------------------------------------------------------------------
_S = timetable.RULES
END_TIME_HINT = ("Each day ends at this time; a course of several days ends on its last "
                 "day. Every day must give its share of the course's hours.")


class SessionForm(FlaskForm):
    """A new session, or a series. Choices are set by the route."""

    course_id = SelectField("Course", [Rule(_S["course_id"])], validate_choice=False)
    venue_id = SelectField("Venue", [Rule(_S["venue_id"])], validate_choice=False)
    trainer_id = SelectField("Trainer", [Rule(_S["trainer_id"])], validate_choice=False)
    date = StringField("Date (first day)", [Rule(_S["date"])], render_kw={"type": "date"})
    start_time = StringField("Starts (UK time)", [Rule(_S["start_time"])],
                             render_kw={"type": "time", "class": "input--short"})
    end_time = StringField("Ends (UK time)", [Rule(_S["end_time"])],
                           description=END_TIME_HINT,
                           render_kw={"type": "time", "class": "input--short"})
    capacity = StringField("Seats", [Rule(_S["capacity"])],
                           description="Leave blank for the course's default.", render_kw=NUMBER)
    price = StringField("Price per person (£, optional)", [Rule(_S["price"])],
                        description="Leave blank for the course's price.", render_kw=MONEY)
    repeat = SelectField("Repeat", [Rule(_S["repeat"])], default="none",
                         choices=options(timetable.REPEATS.items()), validate_choice=False)
    occurrences = StringField("Number of sessions", [Rule(_S["occurrences"])], default="1",
                              description=f"For a series: up to {timetable.MAX_OCCURRENCES}.",
                              render_kw=NUMBER)


class MoveSessionForm(FlaskForm):
    venue_id = SelectField("Venue", [Rule(_S["venue_id"])], validate_choice=False)
    date = StringField("Date (first day)", [Rule(_S["date"])], render_kw={"type": "date"})
    start_time = StringField("Starts (UK time)", [Rule(_S["start_time"])],
                             render_kw={"type": "time", "class": "input--short"})
    end_time = StringField("Ends (UK time)", [Rule(_S["end_time"])],
                           description=END_TIME_HINT,
                           render_kw={"type": "time", "class": "input--short"})


class CapacityForm(FlaskForm):
    capacity = StringField("Seats", [Rule(timetable.CAPACITY_RULE)], render_kw=NUMBER)


class TrainerAssignForm(FlaskForm):
    trainer_id = SelectField("Trainer", [Rule(_S["trainer_id"])], validate_choice=False)


class CancelSessionForm(ConfirmForm):
    reason = TextAreaField("Reason (told to customers, optional)",
                           [Rule(timetable.REASON_RULE)], render_kw={"rows": "3"})


# -- bookings --------------------------------------------------------------------------------
class CancelBookingForm(ConfirmForm):
    refund = RadioField("Refund", default="policy", validate_choice=False,
                        choices=options(office.REFUND_CHOICES.items()))


class RefundForm(ConfirmForm):
    amount = StringField("Amount to refund (£)", [Rule(refunds.REFUND_AMOUNT_RULE)],
                         description="Leave blank to refund everything still refundable.",
                         render_kw=MONEY)


class TransferForm(FlaskForm):
    session_id = SelectField("Move to", [Rule(manage.SESSION_RULE)],
                             validate_choice=False)


class PaymentMethodMixin:
    method = RadioField("Paid by", [Rule(offline.METHOD_RULE)], default="invoice",
                        choices=options([("invoice", "Invoice the contact (payment due)"),
                                         ("bank_transfer", "Bank transfer (paid)")]),
                        validate_choice=False)
    note = StringField("Payment note (optional)", [Rule(offline.NOTE_RULE)],
                       description="A purchase order number, a transfer reference.")


class MarkPaidForm(PaymentMethodMixin, FlaskForm):
    pass


class ManualBookingForm(PaymentMethodMixin, FlaskForm):
    """Session, payment method and note; the contact and attendee fields are the
    public booking form's (app.web.forms), validated by the booking rules."""

    session_id = SelectField("Session", [Rule(manage.SESSION_RULE)],
                             validate_choice=False)
    seats = SelectField("Number of seats", validate_choice=False)


# -- trainers and waiting lists ----------------------------------------------------------------
class TrainerForm(FlaskForm):
    full_name = StringField("Full name", [Rule(validate_person_name)],
                            render_kw={"autocomplete": "off"})
    email = EmailField("Email address", [Rule(validate_email)],
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    password = PasswordField("Password", [Rule(_password_rule)],
                             description="At least 12 characters and not a common password. "
                                         "Tell the trainer in person; they can change it with "
                                         "'Forgotten your password?'.",
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField("Password again", render_kw={"autocomplete": "new-password"})


class WaitlistEntryForm(FlaskForm):
    W = waitlist.RULES
    name = StringField("Name", [Rule(W["name"])])
    email = EmailField("Email address", [Rule(W["email"])],
                       render_kw={"spellcheck": "false"})
    phone = TelField("Phone (optional)", [Rule(W["phone"])])
    seats = StringField("Seats", [Rule(W["seats"])], default="1", render_kw=NUMBER)
    del W


class OfferForm(FlaskForm):
    hours = StringField("Offer open for (hours)", [Rule(waitlist.HOURS_RULE)],
                        default=str(waitlist.DEFAULT_OFFER_HOURS), render_kw=NUMBER)


# -- messages to a session's attendees -----------------------------------------------------
class SessionMessageForm(FlaskForm):
    subject = StringField("Subject", [Rule(session_messages.RULES["subject"])],
                          render_kw={"autocomplete": "off"})
    text = TextAreaField(
        "Message", [Rule(session_messages.RULES["text"])],
        description="Plain text; a blank line starts a new paragraph. The session's details "
                    "and each customer's manage-booking link are added below it.",
        render_kw={"rows": "10"})


class SendSessionMessageForm(SessionMessageForm):
    """The preview's Send button: the same text and the key that makes a second
    click send nothing more."""

    send_key = HiddenField(validators=[Rule(session_messages.SEND_RULES["send_key"])])


class CsrfForm(FlaskForm):
    """CSRF only: one-button actions (acknowledge, replay, resend, restore)."""


class SwitchForm(FlaskForm):
    """Turn one feature on or off (the button says which)."""

    name = HiddenField()
    enabled = HiddenField()
