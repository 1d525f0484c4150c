"""Small helpers every admin route module uses: who is acting, service errors
shown next to form fields, and the confirm step. Page-or-fragment answers and
redirects are app.web.htmx's."""
from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, flash, request
from flask_login import current_user

from app.services.bookings.holds import BookingPolicy
from app.services.core.errors import DomainError
from app.validation import format_uk_phone
from app.web.admin.blueprint import bp
from app.web.htmx import keep_private

NAV = (
    ("admin.dashboard", "Dashboard", ("admin.dashboard",)),
    ("admin.analytics", "Analytics", ("admin.analytics",)),
    ("admin.sessions", "Sessions", ("admin.session",)),
    ("admin.bookings", "Bookings", ("admin.booking",)),
    ("admin.invoices", "Invoices", ("admin.invoice", "admin.credit_note")),
    ("admin.courses", "Courses", ("admin.course",)),
    ("admin.venues", "Venues", ("admin.venue",)),
    ("admin.trainers", "Trainers", ("admin.trainer",)),
    ("admin.discounts", "Discounts", ("admin.discount",)),
    ("admin.waiting_lists", "Waiting lists", ("admin.waiting", "admin.waitlist")),
    ("admin.enquiries", "Enquiries", ("admin.enquir",)),
    ("admin.events", "Events", ("admin.event",)),
    ("admin.activity", "Activity", ("admin.activity", "admin.alert")),
    ("admin.monitoring", "Monitoring", ("admin.monitoring",)),
    ("admin.settings", "Settings", ("admin.setting",)),
)


# Admin pages hold personal data and CSRF tokens: never cache or index them.
keep_private(bp)


@bp.app_context_processor
def _admin_nav():
    def current_section() -> str | None:
        endpoint = request.endpoint or ""
        for target, _label, prefixes in NAV:
            if any(endpoint.startswith(p) for p in prefixes):
                return target
        return None
    return {"admin_nav": NAV, "admin_current_section": current_section}


@bp.app_template_filter("admin_phone")
def _admin_phone(e164: str | None) -> str:
    return format_uk_phone(e164)


def actor_id() -> int:
    """The signed-in administrator's id, for the audit record."""
    return int(current_user.get_id())


def policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config)


def is_confirmed() -> bool:
    """The server-side confirm step: destructive actions need confirmed=yes, which
    only the confirmation page's form (or an hx-confirm button) sends."""
    return request.form.get("confirmed") == "yes"


def show_error(form, exc: DomainError) -> str | None:
    """Put a service error's field messages next to the form's fields; return the
    message for the top of the form when no field carries it."""
    unplaced = []
    for name, message in (exc.fields or {}).items():
        field = _field_for(form, name)
        if field is not None:
            field.errors = [*(field.errors or ()), message]
        else:
            unplaced.append(message)
    if unplaced:
        return " ".join(unplaced)
    if exc.fields:
        return None
    return exc.message


def _field_for(form, name: str):
    """A field by the service's name for it ("contact.email" is contact-email)."""
    if form is None:
        return None
    for candidate in (name, name.replace(".", "-"), name.removesuffix("_pence")):
        if candidate in form:
            return form[candidate]
    return None


def form_data(form) -> Mapping:
    """A submitted form's values for a service (strings, as typed)."""
    return {name: field.data for name, field in form._fields.items()}


def flash_success(message: str) -> None:
    flash(message, "success")


def flash_error(message: str) -> None:
    flash(message, "error")
