"""Signed links to one booking's pages: the relative ones pages and redirects
use, and the booking such a link opens (the manage and payment pages, the
payment status fragment and the API's booking resources all load it here)."""
from __future__ import annotations

from flask import current_app, request, url_for

from app.models import Booking
from app.services.bookings.holds import (
    DEFAULT_MANAGE_LINK_DAYS_AFTER_COURSE,
    get_booking_by_link,
)
from app.web.links import site_links


def signed_path(endpoint: str, reference: str, **values) -> str:
    """A relative link to a page about booking `reference`, with the token that
    opens it (absolute links that leave the site come from `site_links()`)."""
    return url_for(endpoint, reference=reference, token=site_links().token(reference), **values)


def booking_from_link(reference: str) -> Booking:
    """The booking `reference` names, if the request carries its signed token
    (`?token=`) for its current link version and the link has not expired. A
    wrong, tampered, missing, replaced or expired token and, indistinguishably, an
    unknown reference raise InvalidToken (403), so the links are no oracle for
    which references exist."""
    config = current_app.config
    return get_booking_by_link(reference, request.args.get("token"),
                               secret_key=config["SECRET_KEY"],
                               days_after_course=config.get(
                                   "MANAGE_LINK_DAYS_AFTER_COURSE",
                                   DEFAULT_MANAGE_LINK_DAYS_AFTER_COURSE))
