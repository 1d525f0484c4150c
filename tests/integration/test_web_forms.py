"""Every form shows its errors the same accessible way (templates/_forms.html): a
summary titled for screen readers that links to each field in error, and at each
field its label, an error message the input is described by, and aria-invalid."""
from __future__ import annotations

import re

from app.models import BookingStatus, utcnow
from app.services.core.tokens import manage_token

from factories import AttendeeFactory, BookingFactory, SessionFactory


def summary_links(html: str) -> list[str]:
    """The ids the error summary links to, after checking the summary is announced
    and titled."""
    match = re.search(r'<div class="error-summary"([^>]*)>(.*?)</div>', html, re.S)
    assert match, "no error summary"
    attrs, body = match.groups()
    assert 'role="alert"' in attrs and 'aria-labelledby="error-summary-title"' in attrs
    assert 'id="error-summary-title"' in body
    return re.findall(r'<a href="#([\w-]+)">', body)


def control(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert match, f"no input {field_id}"
    return match.group(0)


def assert_errors_are_accessible(html: str, expected: set[str]) -> None:
    linked = summary_links(html)
    assert set(linked) == expected
    invalid = set(re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([\w-]+)"[^>]*'
                             r'aria-invalid="true"', html))
    invalid |= set(re.findall(r'<(?:input|select|textarea)\b[^>]*aria-invalid="true"[^>]*'
                              r'\bid="([\w-]+)"', html))
    assert invalid == expected
    for field_id in linked:
        tag = control(html, field_id)
        described = re.search(r'aria-describedby="([^"]*)"', tag).group(1).split()
        assert f"{field_id}-error" in described
        for other in described:
            assert f'id="{other}"' in html
        error = re.search(rf'<p id="{field_id}-error"([^>]*)>(.*?)</p>', html, re.S)
        assert error and " hidden" not in error.group(1)
        assert "Error: </span>" in error.group(2) and len(error.group(2)) > 40
        assert f'<label for="{field_id}"' in html


def test_the_booking_form(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book", data={
        "contact-name": "Priya Shah", "contact-email": "nope", "contact-phone": "07700 900123",
        "contact-postcode": "LS1 4AP", "seats": "2", "action": "book", "accept_terms": "y",
        "attendees-0-name": "Learner A", "attendees-1-name": ""})
    assert response.status_code == 422
    assert_errors_are_accessible(response.get_data(as_text=True),
                                 {"contact-email", "attendees-1-name"})


def test_the_manage_page_rename_form(client, app):
    booking = BookingFactory(session=SessionFactory(), status=BookingStatus.CONFIRMED,
                             hold_expires_at=None, confirmed_at=utcnow())
    AttendeeFactory(booking=booking, position=0, full_name="Sam O'Neill")
    token = manage_token(booking.reference, secret_key=app.config["SECRET_KEY"])
    response = client.post(f"/bookings/{booking.reference}/attendees?token={token}",
                           data={"attendees-0-name": "12"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_errors_are_accessible(html, {"attendees-0-name"})
    assert '<label for="attendees-0-name">Attendee 1: full name</label>' in html


def test_staff_sign_in(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert_errors_are_accessible(response.get_data(as_text=True), {"email", "password"})


def test_an_admin_form(admin_client):
    response = admin_client.post("/admin/venues/new", data={
        "name": "Hall", "address_line1": "1 High Street", "town": "York", "postcode": "nowhere"})
    assert response.status_code == 422
    assert_errors_are_accessible(response.get_data(as_text=True), {"postcode"})


def test_the_admin_manual_booking_lists_every_field_in_page_order(admin_client):
    session = SessionFactory()
    response = admin_client.post("/admin/bookings/new", data={
        "session_id": session.id, "seats": "2", "contact-name": "Priya Shah",
        "contact-email": "nope", "contact-phone": "07700 900123", "contact-postcode": "LS1 4AP",
        "attendees-0-name": "Anne Other", "attendees-1-name": "12",
        "method": "bank_transfer", "note": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_errors_are_accessible(html, {"contact-email", "attendees-1-name"})
    assert summary_links(html) == ["contact-email", "attendees-1-name"]
