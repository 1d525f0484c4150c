"""PDFs and calendar files: the right names, dates, amounts and a QR code that works."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest
import segno
from pypdf import PdfReader

from app.services.core import links
from app.services.core.provider import Provider
from app.services.documents import booking_ics, booking_receipt_pdf
from app.services.documents.certificate import REGULATIONS
from app.services.staff import certificates, roster_documents

from factories import AttendeeFactory, BookingFactory, SessionFactory
from notify_helpers import BASE_URL, confirmed_booking


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL}


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def provider(app, **overrides) -> Provider:
    return Provider.from_config({**app.config, **overrides})


# -- roster ------------------------------------------------------------------------------
def make_roster_session():
    course_session = SessionFactory(course__title="First Aid at Work")
    first = BookingFactory(session=course_session, contact_phone="+447700900123",
                           company="Acme Ltd", confirmed_at=course_session.starts_at)
    AttendeeFactory(booking=first, position=0, full_name="Siobhán Ní Bhriain")
    AttendeeFactory(booking=first, position=1, full_name="Łukasz Żółkiewski",
                    access_needs="Uses a wheelchair")
    second = BookingFactory(session=course_session, contact_phone="+447911123456",
                            confirmed_at=course_session.starts_at)
    AttendeeFactory(booking=second, position=0, full_name="=HYPERLINK(\"http://x\")")
    cancelled = BookingFactory(session=course_session, status="cancelled")
    AttendeeFactory(booking=cancelled, position=0, full_name="Not Coming")
    return course_session


def test_roster_pdf_lists_confirmed_attendees_as_on_the_certificate_with_phones(app):
    course_session = make_roster_session()
    text = pdf_text(roster_documents.session_roster_pdf(course_session.id))
    assert "Roster: First Aid at Work" in text
    assert "Siobhán Ní Bhriain" in text and "Łukasz Żółkiewski" in text
    assert "07700 900123" in text and "07911 123456" in text
    assert "Signature" in text and "Uses a wheelchair" in text
    assert "Not Coming" not in text
    assert "Attendees: 3 of 12" in text


def test_roster_pdf_keeps_every_booking_reference_on_one_line(app):
    """W and M are the widest letters a reference can have; a reference broken over
    two lines comes back from the PDF as two pieces."""
    course_session = SessionFactory()
    for reference in ("WWWWWWWWWW", "MWMWMWMWMW", "TEST00000001"):
        booking = BookingFactory(session=course_session, reference=reference,
                                 confirmed_at=course_session.starts_at)
        AttendeeFactory(booking=booking, position=0, full_name="Alex Example")
    lines = pdf_text(roster_documents.session_roster_pdf(course_session.id)).splitlines()
    for reference in ("WWWWWWWWWW", "MWMWMWMWMW", "TEST00000001"):
        assert any(reference in line for line in lines), reference


def test_roster_csv_has_the_same_people_and_cannot_run_formulas(app):
    course_session = make_roster_session()
    rows = list(csv.DictReader(io.StringIO(roster_documents.session_roster_csv(course_session.id))))
    assert [r["name_on_certificate"] for r in rows] == [
        "Siobhán Ní Bhriain", "Łukasz Żółkiewski", "'=HYPERLINK(\"http://x\")"]
    assert rows[0]["contact_phone"] == "07700 900123" and rows[0]["company"] == "Acme Ltd"
    assert [r["number"] for r in rows] == ["1", "2", "3"]


# -- certificate -------------------------------------------------------------------------
def qr_in_pdf_encodes(data: bytes, url: str) -> bool:
    """Compare the QR image in the PDF with the modules of a QR code for `url`."""
    (image,) = PdfReader(io.BytesIO(data)).pages[0].images
    picture = image.image.convert("L")
    matrix = segno.make(url, error="m").matrix
    modules = len(matrix) + 4  # border of 2 on each side
    scale = picture.width / modules
    for row, bits in enumerate(matrix):
        for col, bit in enumerate(bits):
            x, y = int((col + 2.5) * scale), int((row + 2.5) * scale)
            if (picture.getpixel((x, y)) < 128) != bool(bit):
                return False
    return True


def test_certificate_pdf_has_learner_course_dates_regulations_number_and_working_qr(app):
    booking = confirmed_booking(seats=1)
    attendee = booking.attendees[0]
    attendee = certificates.issue_certificate(attendee, date(2026, 3, 10))
    number = attendee.certificate_number
    data = certificates.certificate_document(attendee)
    text = pdf_text(data)
    assert "Certificate of Attendance" in text
    assert "Learner A" in text
    assert "Emergency First Aid at Work" in text
    assert "React Fast Training" in text
    assert "Completed on 10 March 2026" in text
    assert "Valid until 10 March 2029" in text  # three years on
    assert REGULATIONS == "Health and Safety (First-Aid) Regulations 1981"
    assert "Health and Safety (First-Aid) Regulations" in text and "1981" in text
    assert f"Certificate number {number}" in text
    verify_url = f"{BASE_URL}/verify/{number}"
    assert verify_url in text and links.current().verify_link(number) == verify_url
    assert qr_in_pdf_encodes(data, verify_url)
    assert not qr_in_pdf_encodes(data, f"{BASE_URL}/verify/RFT-0000-AAAAAA")


def test_issuing_twice_keeps_the_first_certificate_and_numbers_are_unique(app):
    booking = confirmed_booking(seats=3)
    numbers = set()
    for attendee in booking.attendees:
        first = certificates.issue_certificate(attendee, date(2026, 3, 10)).certificate_number
        again = certificates.issue_certificate(attendee, date(2027, 1, 1))
        assert again.certificate_number == first
        assert again.certificate_expires_on == date(2029, 3, 10)
        assert again.attended is True
        numbers.add(first)
    assert len(numbers) == 3


def test_certificate_validity_follows_the_course(app):
    booking = confirmed_booking(seats=1, course__certificate_validity_months=12)
    attendee = certificates.issue_certificate(booking.attendees[0], date(2026, 1, 31))
    assert attendee.certificate_expires_on == date(2027, 1, 31)


# -- receipt -----------------------------------------------------------------------------
def test_receipt_without_a_vat_number_is_a_plain_receipt(app):
    booking = confirmed_booking(seats=1)
    text = pdf_text(booking_receipt_pdf(booking, provider(app, PROVIDER_VAT_NUMBER=""),
                                        manage_url="https://x/manage"))
    assert "Booking confirmation and receipt" in text
    assert "VAT at" not in text and "£120.00" in text


def test_receipt_shows_an_invoice_payment_note(app):
    booking = confirmed_booking(seats=1)
    booking.payment_note = "Paid by bank transfer on 3 March"
    text = pdf_text(booking_receipt_pdf(booking, provider(app), manage_url="https://x/m"))
    assert "Paid by bank transfer on 3 March" in text


# -- calendar file -----------------------------------------------------------------------
def test_winter_sessions_are_written_in_gmt_and_summer_in_bst(app):
    winter = datetime(2030, 12, 3, 9, 30, tzinfo=timezone.utc)
    booking = confirmed_booking(seats=1, starts_at=winter)
    ics = booking_ics(booking, manage_url="https://x/m", provider_name="React Fast Training",
                      provider_email="bookings@reactfasttraining.co.uk")
    assert b"DTSTART;TZID=Europe/London:20301203T093000" in ics
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == winter
    assert event.decoded("DTEND") == winter + timedelta(hours=7)
    assert event["ORGANIZER"] == "mailto:bookings@reactfasttraining.co.uk"
