"""Paying by invoice: the payment choice, the billing details and the purchase order,
as the booking form and the JSON API both validate them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from app.validation.errors import FieldError, ValidationFailed
from app.validation.fields import validate_email, validate_person_name
from app.validation.text import clean_text

PAYMENT_METHODS = ("card", "invoice")


@dataclass(frozen=True)
class BillingInput:
    company: str
    name: str
    email: str
    address: str
    purchase_order: str | None = None


def validate_payment_method(value: object) -> str:
    """"card" (also when absent) or "invoice"."""
    if value is None or value == "":
        return "card"
    if value not in PAYMENT_METHODS:
        raise FieldError('Choose "card" or "invoice".')
    return value


def validate_purchase_order(value: object) -> str | None:
    return clean_text(value, field_label="purchase order number", max_length=64,
                      required=False)


BILLING_RULES = {
    "company": partial(clean_text, field_label="the company to invoice", max_length=120),
    "name": partial(validate_person_name, field_label="the billing contact's name"),
    "email": validate_email,
    "address": partial(clean_text, field_label="the billing address", max_length=500,
                       multiline=True),
}


def parse_billing(billing: object, purchase_order: object) -> BillingInput:
    """Validate the billing details ({company, name, email, address}) and the optional
    purchase order, every error at once (keys "billing.company", ..., "purchase_order")."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    if billing is None:
        billing = {}
    if not isinstance(billing, Mapping):
        errors["billing"] = "Enter the billing details."
    else:
        for key, rule in BILLING_RULES.items():
            try:
                values[key] = rule(billing.get(key))
            except FieldError as exc:
                errors[f"billing.{key}"] = exc.message
    try:
        values["purchase_order"] = validate_purchase_order(purchase_order)
    except FieldError as exc:
        errors["purchase_order"] = exc.message
    if errors:
        raise ValidationFailed(errors)
    return BillingInput(**values)


def parse_payment_choice(method: object, billing: object,
                         purchase_order: object) -> BillingInput | None:
    """The payment choice of a booking, from the API's JSON or the booking form: None
    for card, the billing details for invoice; every error at once ("payment_method",
    "billing.company", ..., "purchase_order")."""
    try:
        chosen = validate_payment_method(method)
    except FieldError as exc:
        raise ValidationFailed({"payment_method": exc.message}) from None
    if chosen != "invoice":
        return None
    return parse_billing(billing, purchase_order)


INVOICE_FIELD_PATHS = ("payment_method", "purchase_order",
                       *(f"billing.{key}" for key in BILLING_RULES))


def validate_invoice_field(path: str, value: object) -> object:
    """One payment or billing field by its path, for as-you-type checks (KeyError for
    a path that is not one of them)."""
    if path == "payment_method":
        return validate_payment_method(value)
    if path == "purchase_order":
        return validate_purchase_order(value)
    if path.startswith("billing.") and path[len("billing."):] in BILLING_RULES:
        return BILLING_RULES[path[len("billing."):]](value)
    raise KeyError(path)
