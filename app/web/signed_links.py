"""Signed links to one booking's pages: the relative ones pages and redirects
use, and the booking such a link opens (the manage and payment pages, the
payment status fragment and the API's booking resources all load it here)."""
from __future__ import annotations

from flask import current_app, request, url_for

from app.models import Booking
from app.services.bookings.holds import get_booking_by_link
from app.web.links import site_links


def signed_path(endpoint: str, reference: str, **values) -> str:
    """A relative link to a page about booking `reference`, with the token that
    opens it (absolute links that leave the site come from `site_links()`)."""
    return url_for(endpoint, reference=reference, token=site_links().token(reference), **values)


def booking_from_link(reference: str) -> Booking:
    """The booking `reference` names, if the request carries its signed token
    (`?token=`). The token is checked before anything is read; a wrong, tampered
    or missing token and, indistinguishably, an unknown reference raise
    InvalidToken (403), so the links are no oracle for which references exist."""
    return get_booking_by_link(reference, request.args.get("token"),
                               secret_key=current_app.config["SECRET_KEY"])
