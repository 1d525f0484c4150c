"""Public certificate verification: genuine and valid, expired, unknown; never a 500."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import utcnow
from app.repositories import unit_of_work
from app.services.staff import certificates

from notify_helpers import confirmed_booking


def issued(completed_on: date):
    booking = confirmed_booking(seats=1)
    return certificates.issue_certificate(booking.attendees[0], completed_on)


def test_a_current_certificate_is_genuine_and_valid(client):
    attendee = issued(utcnow().date() - timedelta(days=30))
    response = client.get(f"/verify/{attendee.certificate_number}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Genuine and valid" in page
    assert "Learner A" in page and "Emergency First Aid at Work" in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_an_expired_certificate_is_genuine_but_expired(client):
    attendee = issued(utcnow().date() - timedelta(days=4 * 365))
    page = client.get(f"/verify/{attendee.certificate_number}").get_data(as_text=True)
    assert "Genuine, but expired" in page
    check = certificates.verify_certificate(attendee.certificate_number)
    assert check.status == "expired" and check.is_genuine


def test_a_certificate_is_valid_on_its_expiry_day(app):
    attendee = issued(date(2026, 3, 10))
    check = certificates.verify_certificate(attendee.certificate_number, today=date(2029, 3, 10))
    assert check.status == "valid"
    assert certificates.verify_certificate(attendee.certificate_number,
                                           today=date(2029, 3, 11)).status == "expired"


def test_numbers_are_matched_whatever_the_case_or_spacing(client):
    attendee = issued(utcnow().date())
    response = client.get(f"/verify/ {attendee.certificate_number.lower()} ")
    assert response.status_code == 200 and "Genuine and valid" in response.get_data(as_text=True)


@pytest.mark.parametrize("number", [
    "RFT-2603-AAAAAA", "nonsense", "<script>alert(1)</script>", "RFT-2603-K7M2QX' OR '1'='1",
    "x" * 3000, "%00", "..%2F..%2Fetc%2Fpasswd", "a/b/c", "Ł" * 10,
])
def test_unknown_or_malformed_numbers_are_not_found_never_an_error(client, number):
    response = client.get(f"/verify/{number}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "not found" in page.lower()
    assert "<script>alert(1)</script>" not in page


def test_the_lookup_form_redirects_to_the_certificate_page(client):
    attendee = issued(utcnow().date())
    response = client.get("/verify", query_string={"number": attendee.certificate_number.lower()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/verify/{attendee.certificate_number}")
    assert client.get("/verify").status_code == 200


def test_after_the_retention_period_the_page_confirms_the_certificate_without_the_name(client):
    attendee = issued(date(2015, 6, 1))
    with unit_of_work():
        db.session.get(type(attendee), attendee.id).full_name = certificates.REMOVED_NAME
    page = client.get(f"/verify/{attendee.certificate_number}").get_data(as_text=True)
    assert "Genuine, but expired" in page
    assert "Name removed under our data retention policy" in page
