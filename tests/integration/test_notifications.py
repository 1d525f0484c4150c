"""Emails from events: content, attachments, the manage link, and exactly one
email per event however often it is delivered."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import icalendar
import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    DeliveryStatus, OutboxDelivery, Payment, PaymentStatus, Role, SentEmail, Severity, utcnow,
)
from app.repositories import unit_of_work
from app.services.background import dispatcher
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core import alerts, events
from app.services.core.tokens import manage_token
from app.services.messaging import notifications
from app.services.staff import certificates

from factories import UserFactory, booking_request
from notify_helpers import (
    BASE_URL, confirmed_booking, deliver_all, parse, parts, summer_session, summer_start,
)


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL, "PROVIDER_VAT_NUMBER": "GB 123 4567 89"}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def manage_url(reference: str) -> str:
    token = manage_token(reference, secret_key="test-secret")
    return f"{BASE_URL}/bookings/{reference}?token={token}"


def expected_date() -> str:
    start = summer_start()
    return f"{start:%A} {start.day} July {start.year}"


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- booking confirmation -----------------------------------------------------------------
def test_confirmation_email_has_subject_london_times_amounts_and_the_manage_link(app, outbox):
    booking = confirmed_booking(seats=2)
    assert deliver_all().delivered >= 1

    assert len(outbox) == 1
    message = outbox[0]
    assert message.to == [booking.contact_email]
    assert message.subject == (f"Booking confirmed: Emergency First Aid at Work on "
                               f"{expected_date()} (ref {booking.reference})")
    body = parts(parse(message))
    for content in (body["text"], body["html"]):
        assert "9:30am to 4:30pm" in content  # 08:30 UTC is 9:30am BST
        assert expected_date() in content
        assert "£240.00" in content
        assert "Learner A" in content and "Learner B" in content
        assert "Leeds Training Centre" in content and "LS1 5HD" in content
        assert manage_url(booking.reference).replace("&", "&amp;" if content is body["html"]
                                                      else "&") in content
    assert "Step-free access from Park Row." in body["text"]
    assert sorted(body["attachments"]) == [f"{booking.reference}.ics",
                                           f"receipt-{booking.reference}.pdf"]


def test_confirmation_calendar_file_is_in_london_time_with_its_vtimezone(app, outbox):
    booking = confirmed_booking()
    deliver_all()
    ics = parts(parse(outbox[0]))["attachments"][f"{booking.reference}.ics"]
    calendar = icalendar.Calendar.from_ical(ics)

    (tz,) = calendar.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/London"
    assert {c.name for c in tz.subcomponents} == {"STANDARD", "DAYLIGHT"}
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert b"DTSTART;TZID=Europe/London:" + f"{summer_start().year}0714T093000".encode() in ics
    assert event.decoded("DTSTART") == summer_start()
    assert event.decoded("DTEND") == summer_start() + timedelta(hours=7)
    assert "Emergency First Aid at Work" in str(event["SUMMARY"])
    assert "1 Park Row" in str(event["LOCATION"])
    assert booking.reference in str(event["UID"])
    assert manage_url(booking.reference) in str(event["DESCRIPTION"])
    # The VTIMEZONE itself says BST in July and GMT in December.
    zone = tz.to_tz()
    assert zone.utcoffset(datetime(2030, 7, 1, 12)) == timedelta(hours=1)
    assert zone.utcoffset(datetime(2030, 12, 1, 12)) == timedelta(0)


def test_confirmation_receipt_pdf_shows_provider_vat_number_and_net_vat_gross(app, outbox):
    booking = confirmed_booking(seats=2)
    deliver_all()
    text = pdf_text(parts(parse(outbox[0]))["attachments"][f"receipt-{booking.reference}.pdf"])
    assert "VAT receipt" in text and "React Fast Training" in text
    assert "GB 123 4567 89" in text
    assert booking.reference in text and "Priya Shah" in text and "Acme Ltd" in text
    # £240.00 including VAT at 20%: £200.00 net + £40.00 VAT.
    assert "£200.00" in text and "£40.00" in text and "£240.00" in text
    assert "VAT at 20%" in text
    assert "£120.00" in text  # per seat
    assert expected_date() in text


# -- exactly once -------------------------------------------------------------------------
def test_the_same_event_delivered_twice_sends_one_email(app, outbox):
    booking = confirmed_booking()
    deliver_all()
    # The delivery is replayed (as after a crash or an admin's replay) ...
    with unit_of_work():
        db.session.execute(update(OutboxDelivery).values(status=DeliveryStatus.PENDING))
    assert deliver_all().delivered >= 1
    # ... and the handler is even called directly once more.
    event = db.session.get(OutboxDelivery, 1).event
    notifications.email_booking_confirmed(event)

    assert len(outbox) == 1
    sent = db.session.scalars(select(SentEmail)).one()
    assert (sent.dedupe_key, sent.status) == (f"booking-confirmed:{booking.reference}", "sent")


def test_a_crash_after_the_send_but_before_the_delivery_is_recorded_sends_once(
        app, outbox, monkeypatch):
    booking = confirmed_booking()
    real = dispatcher._record_outcome

    def crash(*args, **kwargs):
        raise SystemExit("worker killed after the handler committed")

    monkeypatch.setattr(dispatcher, "_record_outcome", crash)
    with pytest.raises(SystemExit):
        deliver_all()
    db.session.rollback()
    assert len(outbox) == 1  # the email went, but the delivery still looks unfinished
    monkeypatch.setattr(dispatcher, "_record_outcome", real)

    assert deliver_all().claimed == 0  # leased by the dead worker
    later = utcnow() + timedelta(seconds=61)
    assert deliver_all(now=later).delivered >= 1
    assert len(outbox) == 1
    assert outbox[0].subject.endswith(f"(ref {booking.reference})")


def test_a_transport_failure_is_retried_with_backoff_and_then_sent_once(app, outbox, monkeypatch):
    from flask_mailman.backends.locmem import EmailBackend

    confirmed_booking()
    real_send = EmailBackend.send_messages
    monkeypatch.setattr(EmailBackend, "send_messages",
                        lambda self, messages: (_ for _ in ()).throw(ConnectionError("SMTP down")))
    result = deliver_all()
    assert result.retried == 1 and outbox == []
    sent = db.session.scalars(select(SentEmail)).one()
    assert sent.status == "failed" and "SMTP down" in sent.error

    monkeypatch.setattr(EmailBackend, "send_messages", real_send)
    assert deliver_all(now=utcnow() + timedelta(seconds=11)).delivered == 1
    assert len(outbox) == 1
    assert db.session.scalars(select(SentEmail)).one().status == "sent"


def test_a_booking_cancelled_before_its_confirmation_is_delivered_gets_only_the_cancellation(
        app, outbox):
    booking = confirmed_booking()
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    deliver_all()
    assert [m.subject.split(":")[0] for m in outbox] == ["Booking cancelled"]


# -- the other customer emails ------------------------------------------------------------
def test_hold_expired_email_links_to_the_session_and_the_manage_page(app, outbox):
    course_session = summer_session()
    past = utcnow() - timedelta(hours=1)
    held = svc.hold_seats(booking_request(course_session.id, 1), policy=svc.BookingPolicy(),
                          now=past)
    with unit_of_work():  # the customer went as far as the checkout, then left
        db.session.add(Payment(booking_id=held.id, provider="fake", amount_pence=held.amount_pence,
                               status=PaymentStatus.EXPIRED))
    assert svc.expire_holds() == 1
    deliver_all()
    (message,) = outbox
    assert message.subject.startswith("Your held seats were released: Emergency First Aid")
    text = parts(parse(message))["text"]
    assert "You have not been charged" in text
    assert f"{BASE_URL}/sessions/{course_session.id}" in text
    assert manage_url(held.reference) in text


def test_cancellation_email_states_the_refund_amount(app, outbox):
    booking = confirmed_booking(seats=2)
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    deliver_all()
    cancellation = [m for m in outbox if m.subject.startswith("Booking cancelled")][0]
    body = parts(parse(cancellation))
    assert "Refund: £240.00" in body["text"]
    ics = icalendar.Calendar.from_ical(body["attachments"][f"{booking.reference}.ics"])
    assert str(ics["METHOD"]) == "CANCEL"
    assert str(ics.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_payment_refund_and_late_payment_emails(app, outbox):
    course_session = summer_session()
    held = svc.hold_seats(booking_request(course_session.id, 1), policy=svc.BookingPolicy())
    paid = confirmed_booking()
    with unit_of_work():
        events.record_event(events.PAYMENT_FAILED, held.reference, {
            "reference": held.reference, "amount_pence": 12000,
            "reason": "Your bank did not complete the payment."})
        events.record_event(events.REFUND_ISSUED, paid.reference, {
            "reference": paid.reference, "refund_id": 5, "amount_pence": 6000})
        events.record_event(events.LATE_PAYMENT_REFUNDED, held.reference, {
            "reference": held.reference, "refund_id": 6, "amount_pence": 12000})
    deliver_all()
    by_subject = {m.subject: parts(parse(m))["text"] for m in outbox}

    failed = by_subject[f"Payment not completed for booking {held.reference}"]
    assert "Your bank did not complete the payment." in failed
    assert f"{BASE_URL}/bookings/{held.reference}/pay?token=" in failed
    assert f"Refund of £60.00 for booking {paid.reference}" in by_subject
    late = [s for s in by_subject if "filled up" in s][0]
    assert "£120.00 refunded" in late and manage_url(held.reference) in by_subject[late]


def test_session_changed_and_cancelled_emails_reach_every_confirmed_booking(app, outbox):
    first = confirmed_booking(seats=1)
    course_session = first.session
    second = svc.confirm_booking(svc.hold_seats(booking_request(course_session.id, 1),
                                                policy=svc.BookingPolicy()).reference)
    with unit_of_work():
        events.record_event(events.SESSION_CHANGED, course_session.id, {
            "session_id": course_session.id, "summary": "the start time is now 10:00am"})
        events.record_event(events.SESSION_CANCELLED, course_session.id, {
            "session_id": course_session.id, "reason": "the trainer is ill"})
    deliver_all()
    changed = [m for m in outbox if m.subject.startswith("Change to your course")]
    cancelled = [m for m in outbox if m.subject.startswith("Cancelled:")]
    assert sorted(m.to[0] for m in changed) == sorted([first.contact_email, second.contact_email])
    assert len(cancelled) == 2
    text = parts(parse(cancelled[0]))["text"]
    assert "the trainer is ill" in text and "Refund: £120.00" in text


def test_waitlist_offer_and_payment_link_emails(app, outbox):
    course_session = summer_session()
    held = svc.hold_seats(booking_request(course_session.id, 1), policy=svc.BookingPolicy())
    offer_url = f"{BASE_URL}/waitlist/offer/abc"
    with unit_of_work():
        events.record_event(events.WAITLIST_OFFER_MADE, "entry-9", {
            "entry_id": 9, "email": "waiting@example.com", "name": "Jo",
            "session_id": course_session.id, "offer_url": offer_url,
            "expires_at": (summer_start() - timedelta(days=3)).isoformat()})
        events.record_event(events.PAYMENT_LINK_READY, held.reference,
                            {"reference": held.reference})
    deliver_all()
    offer = [m for m in outbox if m.to == ["waiting@example.com"]][0]
    assert offer.subject.startswith("A seat is free: Emergency First Aid at Work")
    assert offer_url in parts(parse(offer))["text"]
    link = [m for m in outbox if "payment link" in m.subject][0]
    assert f"/bookings/{held.reference}/pay?token=" in parts(parse(link))["text"]


def test_every_customer_email_carries_the_manage_link(app, outbox):
    booking = confirmed_booking()
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    with unit_of_work():
        events.record_event(events.REFUND_ISSUED, booking.reference,
                            {"reference": booking.reference, "amount_pence": 100})
    deliver_all()
    notifications.send_course_reminder(booking)
    assert len(outbox) == 3
    for message in outbox:
        body = parts(parse(message))
        assert manage_url(booking.reference) in body["text"], message.subject
        assert manage_url(booking.reference).replace("&", "&amp;") in body["html"] \
            or manage_url(booking.reference) in body["html"]


def test_course_reminder_has_the_venue_address_and_what_to_bring(app, outbox):
    booking = confirmed_booking()
    assert notifications.send_course_reminder(booking) is True
    assert notifications.send_course_reminder(booking) is False  # once
    (message,) = outbox
    assert message.subject == (f"Reminder: Emergency First Aid at Work on {expected_date()} "
                               f"at 9:30am, Leeds")
    text = parts(parse(message))["text"]
    assert "1 Park Row\nLeeds\nLS1 5HD" in text
    assert "Photo ID" in text and "Comfortable clothes" in text
    assert "Step-free access from Park Row." in text


# -- certificates and alerts --------------------------------------------------------------
def test_issuing_a_certificate_emails_its_pdf_greeting_the_booker_and_naming_the_attendee(
        app, outbox):
    booking = confirmed_booking(seats=1)
    attendee = booking.attendees[0]
    certificates.issue_certificate(attendee, summer_start().date())
    deliver_all()
    (message,) = [m for m in outbox if m.subject.startswith("Certificate for Learner A")]
    assert message.to == [booking.contact_email]
    number = db.session.get(type(attendee), attendee.id).certificate_number
    body = parts(parse(message))
    assert f"Hello {booking.contact_name}," in body["text"]
    assert "Name on certificate: Learner A" in body["text"]
    assert f"{BASE_URL}/verify/{number}" in body["text"]
    text = pdf_text(body["attachments"][f"certificate-{number}.pdf"])
    assert "Learner A" in text and number in text


def test_critical_alerts_are_emailed_to_active_admins_and_others_are_not(app, outbox):
    UserFactory(email="boss@reactfasttraining.co.uk", role=Role.ADMIN)
    UserFactory(email="former@reactfasttraining.co.uk", role=Role.ADMIN, is_active=False)
    UserFactory(email="trainer@reactfasttraining.co.uk", role=Role.TRAINER)
    alerts.raise_alert("late_refund", "Refund for ABC failed", severity=Severity.CRITICAL)
    alerts.raise_alert("low_seats", "Only 2 left", severity=Severity.WARNING)
    deliver_all()
    (message,) = outbox
    assert message.to == ["boss@reactfasttraining.co.uk"]
    assert message.subject == "[Critical] Late refund: Refund for ABC failed"


@pytest.mark.parametrize("app_config", [
    {"ADMIN_ALERT_EMAILS": "ops@example.com, boss@example.com"}])
def test_alert_addresses_can_be_configured(app, outbox):
    alerts.raise_alert("breaker", "Payments paused", severity=Severity.CRITICAL)
    deliver_all()
    assert outbox[0].to == ["ops@example.com", "boss@example.com"]


def test_an_event_for_an_unknown_booking_sends_nothing_and_is_delivered(app, outbox):
    """Every handler of the event (the email and any other) takes it as done: nothing
    retried, nothing dead, nothing sent."""
    with unit_of_work():
        events.record_event(events.BOOKING_CONFIRMED, "NOSUCHREF", {"reference": "NOSUCHREF"})
    handlers = events.registry.handlers_for(events.BOOKING_CONFIRMED)
    assert "email.booking_confirmed" in {handler.name for handler in handlers}
    result = deliver_all()
    assert result.delivered == result.claimed == len(handlers) and outbox == []
    assert (result.retried, result.dead) == (0, 0)
