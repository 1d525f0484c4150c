"""Every page that answers htmx differently says so (`Vary: HX-Request`), a history
restore gets the whole page, and the private pages are never cached."""
from __future__ import annotations

import pytest

from app.models import BookingStatus
from app.services.core.tokens import manage_token

from factories import BookingFactory, SessionFactory

HTMX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def signed(app, path: str, reference: str) -> str:
    return f"{path}?token={manage_token(reference, secret_key=app.config['SECRET_KEY'])}"


def held_booking():
    return BookingFactory(session=SessionFactory(), status=BookingStatus.HELD)


# Each: the client fixture, and the URL given the app.
FRAGMENT_OR_PAGE = {
    "calendar": ("client", lambda app: "/sessions"),
    "booking form": ("client", lambda app: f"/sessions/{SessionFactory().id}/book"),
    "payment status": ("client", lambda app: signed(
        app, f"/bookings/{(b := held_booking()).reference}/payment-status", b.reference)),
    "error page": ("client", lambda app: "/no-such-page"),
    "sign-in needed": ("client", lambda app: "/admin/bookings"),
    "admin bookings": ("admin_client", lambda app: "/admin/bookings"),
    "admin sessions": ("admin_client", lambda app: "/admin/sessions"),
    "admin courses": ("admin_client", lambda app: "/admin/courses"),
    "admin venues": ("admin_client", lambda app: "/admin/venues"),
    "admin waiting lists": ("admin_client", lambda app: "/admin/waiting-lists"),
    "admin activity": ("admin_client", lambda app: "/admin/activity"),
}


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", FRAGMENT_OR_PAGE)
def test_every_page_that_answers_htmx_differently_varies_on_hx_request(
        request, app, name, headers):
    client_fixture, url = FRAGMENT_OR_PAGE[name]
    response = request.getfixturevalue(client_fixture).get(url(app), headers=headers)
    assert response.status_code < 500
    assert "HX-Request" in response.headers.get("Vary", ""), name


@pytest.mark.parametrize("name", ["calendar", "booking form", "error page", "admin bookings"])
def test_a_history_restore_gets_the_whole_page(request, app, name):
    client_fixture, url = FRAGMENT_OR_PAGE[name]
    response = request.getfixturevalue(client_fixture).get(url(app), headers=RESTORE)
    assert "<html" in response.get_data(as_text=True), name


def test_an_htmx_error_is_a_fragment_and_a_restored_one_the_error_page(client):
    fragment = client.get("/no-such-page", headers=HTMX)
    restored = client.get("/no-such-page", headers=RESTORE)
    assert fragment.status_code == restored.status_code == 404
    assert 'data-error-code="not_found"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Page not found" in restored.get_data(as_text=True)


def test_sign_in_is_an_hx_redirect_for_htmx_and_a_redirect_for_a_history_restore(client):
    fragment = client.get("/admin/bookings", headers=HTMX)
    restored = client.get("/admin/bookings", headers=RESTORE)
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")
    assert restored.status_code == 302 and "/login" in restored.headers["Location"]
    assert "HX-Redirect" not in restored.headers


# Each: the client fixture, the URL given the app, and whether its address is a secret.
PRIVATE = {
    "admin dashboard": ("admin_client", lambda app: "/admin/", False),
    "trainer portal": ("trainer_client", lambda app: "/trainer/", False),
    "certificate check": ("client", lambda app: "/verify/RFT-NO-SUCH", False),
    "sign in": ("client", lambda app: "/login", True),
    "booking form": ("client", lambda app: f"/sessions/{SessionFactory().id}/book", False),
    "hold page": ("client", lambda app: signed(
        app, f"/bookings/{(b := held_booking()).reference}/pay", b.reference), True),
    "manage page": ("client", lambda app: signed(
        app, f"/bookings/{(b := held_booking()).reference}", b.reference), True),
    "payment status": ("client", lambda app: signed(
        app, f"/bookings/{(b := held_booking()).reference}/payment-status", b.reference), True),
}


@pytest.mark.parametrize("name", PRIVATE)
def test_private_pages_are_never_cached_and_secret_addresses_never_sent_on(request, app, name):
    client_fixture, url, secret_url = PRIVATE[name]
    response = request.getfixturevalue(client_fixture).get(url(app))
    assert response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store", name
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow", name
    assert (response.headers.get("Referrer-Policy") == "strict-origin") is secret_url, name
