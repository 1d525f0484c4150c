"""Email over a real SMTP conversation with an aiosmtpd server on loopback."""
from __future__ import annotations

import email
import email.policy
import io
import socket
from datetime import timedelta

import icalendar
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryStatus, OutboxDelivery, SentEmail, utcnow

from notify_helpers import BASE_URL, confirmed_booking, deliver_all


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def smtp_server(smtp_port):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(smtp_port):
    return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port,
            "MAIL_TIMEOUT": 5, "PUBLIC_BASE_URL": BASE_URL,
            "MAIL_DEFAULT_SENDER": "bookings@reactfasttraining.co.uk"}


def test_confirmation_goes_over_smtp_with_parseable_attachments(app, smtp_server):
    booking = confirmed_booking(seats=2)
    assert deliver_all().delivered >= 1

    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "bookings@reactfasttraining.co.uk"
    assert envelope.rcpt_tos == [booking.contact_email]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"].startswith("Booking confirmed: Emergency First Aid at Work")
    assert message["Message-ID"].endswith("@reactfasttraining.co.uk>")
    text = message.get_body(("plain",)).get_content()
    assert text.count(f"/bookings/{booking.reference}?token=") == 1
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    calendar = icalendar.Calendar.from_ical(attachments[f"{booking.reference}.ics"])
    assert calendar.walk("VEVENT")[0]["DTSTART"].params["TZID"] == "Europe/London"
    receipt = PdfReader(io.BytesIO(attachments[f"receipt-{booking.reference}.pdf"]))
    assert booking.reference in receipt.pages[0].extract_text()


def test_an_unreachable_smtp_server_means_a_retry_not_a_lost_email(app, smtp_port):
    confirmed_booking(seats=1)
    result = deliver_all()  # nothing listens on the port yet
    assert result.retried == 1  # the email; the confirmation's other handlers need no mail
    db.session.expire_all()
    delivery = db.session.scalars(select(OutboxDelivery).where(
        OutboxDelivery.handler == "email.booking_confirmed")).one()
    assert delivery.status == DeliveryStatus.PENDING and "Connection" in delivery.last_error
    assert db.session.scalars(select(SentEmail)).one().status == "failed"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert deliver_all(now=utcnow() + timedelta(minutes=5)).delivered == 1
        assert deliver_all(now=utcnow() + timedelta(hours=1)).claimed == 0
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1
    db.session.expire_all()
    assert db.session.scalars(select(SentEmail)).one().status == "sent"
