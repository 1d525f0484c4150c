"""Forms on pages whose address is a secret still submit over HTTPS.

Those pages keep their address out of Referer headers, yet Flask-WTF checks on
HTTPS posts that the Referer names our own origin. `strict-origin` satisfies
both: browsers send the origin alone, never the path with its token.
"""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Booking, BookingStatus
from app.services.core.tokens import manage_token

from factories import AttendeeFactory, BookingFactory, SessionFactory

HTTPS = {"base_url": "https://booking.example"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _held_booking():
    booking = BookingFactory(session=SessionFactory(), status=BookingStatus.HELD)
    AttendeeFactory(booking=booking, position=0, full_name="Sam O'Neill")
    return booking


def _cancel_page(client, app, reference):
    token = manage_token(reference, secret_key=app.config["SECRET_KEY"])
    url = f"/bookings/{reference}/cancel?token={token}"
    page = client.get(url, **HTTPS)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    return url, page, csrf.group(1)


def test_secret_pages_send_only_the_origin_as_referer(client, app):
    booking = _held_booking()
    _, page, _ = _cancel_page(client, app, booking.reference)
    assert page.headers["Referrer-Policy"] == "strict-origin"


def test_cancel_form_posts_over_https_with_the_referer_a_browser_sends(client, app):
    booking = _held_booking()
    url, _, csrf = _cancel_page(client, app, booking.reference)
    response = client.post(url, data={"csrf_token": csrf}, **HTTPS,
                           headers={"Referer": "https://booking.example/"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED


def test_without_any_referer_the_https_post_is_refused(client, app):
    """The control: what `no-referrer` made every such form do."""
    booking = _held_booking()
    url, _, csrf = _cancel_page(client, app, booking.reference)
    response = client.post(url, data={"csrf_token": csrf}, **HTTPS)
    assert response.status_code == 400
