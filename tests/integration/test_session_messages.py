"""Emailing everyone booked on a session: the preview is the email one recipient
gets (session details in UK time, their manage link, the admin's text escaped),
sending goes through the outbox once per confirmed booking, a double submit
sends once, and a worker that dies mid-way leaves nobody emailed twice."""
from __future__ import annotations

import email
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog, DeliveryStatus, OutboxDelivery, SessionMessage, SessionMessageRecipient, utcnow,
)
from app.services.background import dispatcher
from app.services.bookings import manage
from app.services.core import events
from app.services.core.tokens import manage_token
from app.services.core.ukformat import uk_date, uk_time
from app.services.messaging import session_messages

from admin_helpers import POLICY as POLICY_BOOKING
from admin_helpers import assert_admin_only, held_booking, paid_booking
from factories import SessionFactory
from notify_helpers import BASE_URL, POLICY, deliver_all, summer_session
from racing import race
from worker_process import LEASE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "email.session_message"
CONFIRMED = ("ana@example.com", "ben@example.com", "cat@example.com")


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


@pytest.fixture
def booked(app, outbox):
    """A summer session with three confirmed bookings, one live hold and one
    cancelled booking; their own emails already delivered and cleared."""
    course_session = summer_session()
    confirmed = [paid_booking(course_session.id, 1, email=e) for e in CONFIRMED]
    held_booking(course_session.id, 1, email="held@example.com")
    gone = paid_booking(course_session.id, 1, email="gone@example.com")
    manage.cancel_booking(gone.reference, actor=manage.Actor.customer(), policy=POLICY_BOOKING)
    deliver_all(now=utcnow() + timedelta(hours=1))
    outbox.clear()
    return course_session, confirmed


def manage_url(reference: str) -> str:
    return f"{BASE_URL}/bookings/{reference}?token={manage_token(reference, secret_key='test-secret')}"


def send_key_in(html: str) -> str:
    return re.search(r'name="send_key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def preview(admin_client, session_id: int, subject: str, text: str):
    return admin_client.post(f"/admin/sessions/{session_id}/message",
                             data={"subject": subject, "text": text})


def send(admin_client, session_id: int, subject: str, text: str, key: str):
    return admin_client.post(f"/admin/sessions/{session_id}/message/send",
                             data={"subject": subject, "text": text, "send_key": key})


def recipients_of(outbox) -> Counter:
    return Counter(address for message in outbox for address in message.to)


def message_deliveries() -> list[OutboxDelivery]:
    return list(db.session.scalars(select(OutboxDelivery).where(OutboxDelivery.handler == HANDLER)
                                   .order_by(OutboxDelivery.id)))


def queue_message(session_id: int, admin_id: int | None = None) -> SessionMessage:
    return session_messages.send_message(admin_id, session_id, {
        "subject": "New room", "text": "We have moved to Room 2.",
        "send_key": uuid.uuid4().hex}).message


# -- preview --------------------------------------------------------------------------------
def test_preview_shows_session_details_in_uk_time_the_manage_link_and_escapes_the_text(
        booked, admin_client):
    course_session, confirmed = booked
    response = preview(admin_client, course_session.id, "Room <b>change</b>",
                       "Now in <script>alert(1)</script> Room 2.\n\nPark at the back.")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    first = confirmed[0]
    for expected in ("Emergency First Aid at Work", uk_date(course_session.starts_at),
                     f"{uk_time(course_session.starts_at)} to {uk_time(course_session.ends_at)}",
                     "Leeds Training Centre", "1 Park Row", manage_url(first.reference),
                     first.contact_email, "Send to 3 bookings"):
        assert expected in html, expected
    assert "9:30am to 4:30pm" in html  # 08:30 UTC in July is 9:30am in London
    assert "<script>alert(1)</script>" not in html and "<b>change</b>" not in html
    assert "Now in &lt;script&gt;alert(1)&lt;/script&gt; Room 2." in html  # the text part
    assert "held@example.com" not in html and "gone@example.com" not in html

    shown = session_messages.preview_message(course_session.id, {
        "subject": "Room <b>change</b>", "text": "Now in <script>alert(1)</script> Room 2."})
    assert "<script>" not in shown.email_html and "&lt;script&gt;alert(1)" in shown.email_html
    assert "<b>change</b>" not in shown.email_html
    assert manage_url(first.reference) in shown.email_html


def test_the_preview_is_exactly_the_email_the_first_recipient_receives(booked, outbox):
    course_session, confirmed = booked
    data = {"subject": "Parking", "text": "Use the rear car park.\nIt is free."}
    shown = session_messages.preview_message(course_session.id, data)
    session_messages.send_message(None, course_session.id, {**data, "send_key": shown.send_key})
    deliver_all()
    (received,) = [m for m in outbox if m.to == [confirmed[0].contact_email]]
    assert received.subject == "Parking"
    assert received.body == shown.email_text
    assert received.alternatives[0][0] == shown.email_html
    assert "Use the rear car park.<br>It is free." in shown.email_html


# -- sending ---------------------------------------------------------------------------------
def test_send_emails_each_confirmed_booker_once_with_their_own_manage_link(
        booked, admin_client, outbox):
    course_session, confirmed = booked
    page = preview(admin_client, course_session.id, "New room", "Room 2 this time.")
    key = send_key_in(page.get_data(as_text=True))
    response = send(admin_client, course_session.id, "New room", "Room 2 this time.", key)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/sessions/{course_session.id}")
    assert outbox == []  # sent by the outbox worker, not in the request

    result = deliver_all()
    assert result.delivered == 3 and len(message_deliveries()) == 3
    assert recipients_of(outbox) == Counter(CONFIRMED)
    for booking in confirmed:
        (email,) = [m for m in outbox if m.to == [booking.contact_email]]
        assert manage_url(booking.reference) in email.body and booking.reference in email.body
    deliver_all(now=utcnow() + timedelta(days=1))
    assert recipients_of(outbox) == Counter(CONFIRMED)
    message = db.session.scalars(select(SessionMessage)).one()
    assert message.sent_count == 3
    follow = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Message sent to 3 bookings" in follow


def test_a_double_submitted_send_records_and_emails_once(booked, admin_client, outbox):
    course_session, _ = booked
    key = send_key_in(preview(admin_client, course_session.id, "New room", "Room 2.")
                      .get_data(as_text=True))
    first = send(admin_client, course_session.id, "New room", "Room 2.", key)
    second = send(admin_client, course_session.id, "New room", "Room 2.", key)
    assert first.status_code == second.status_code == 303
    assert "nobody was emailed twice" in admin_client.get(second.headers["Location"]) \
        .get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SessionMessage)) == 1
    assert len(message_deliveries()) == 3
    deliver_all()
    assert recipients_of(outbox) == Counter(CONFIRMED)


def test_two_sends_of_one_preview_at_once_record_one_message(app, booked, outbox):
    session_id = booked[0].id
    data = {"subject": "New room", "text": "Room 2.", "send_key": uuid.uuid4().hex}
    results = race(app, 2, lambda i: session_messages.send_message(None, session_id,
                                                                   data).created)
    assert sorted(map(repr, results)) == ["False", "True"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SessionMessage)) == 1
    deliver_all()
    assert recipients_of(outbox) == Counter(CONFIRMED)


# -- a worker that dies mid-way ----------------------------------------------------------------
def _die_after_first_email_then_restart(session_id: int) -> str:
    """A worker leases every delivery, emails the first recipient and dies before
    recording anything; once the leases run out another worker delivers them all.
    Returns the first recipient's address."""
    queue_message(session_id)
    now = utcnow()
    leased, _seen = dispatcher.claim("doomed-worker", POLICY, now)
    assert len(leased) == 3
    delivery = db.session.get(OutboxDelivery, leased[0])
    events.registry.get(delivery.handler).func(delivery.event)
    first = db.session.get(SessionMessageRecipient, delivery.event.payload["recipient_id"]).email
    db.session.expire_all()
    assert all(d.status == DeliveryStatus.PENDING for d in message_deliveries())
    result = deliver_all(now=now + timedelta(seconds=POLICY.lease_seconds + 1))
    assert result.delivered == 3
    return first


def test_a_worker_killed_after_emailing_one_recipient_still_emails_everyone_exactly_once(
        booked, outbox):
    course_session, _ = booked
    first = _die_after_first_email_then_restart(course_session.id)
    assert recipients_of(outbox) == Counter(CONFIRMED)
    assert first in CONFIRMED
    assert all(d.status == DeliveryStatus.DELIVERED for d in message_deliveries())


def test_control_without_the_per_recipient_guard_the_restart_emails_someone_twice(
        booked, outbox, monkeypatch):
    """The same crash with the dedupe key made unique per attempt: proves the
    previous test passes because of the guard, not because nothing was re-run."""
    monkeypatch.setattr(session_messages, "dedupe_key",
                        lambda message_id, reference: f"unguarded:{uuid.uuid4().hex}")
    course_session, _ = booked
    first = _die_after_first_email_then_restart(course_session.id)
    assert recipients_of(outbox) == Counter({**Counter(CONFIRMED), first: 2})


def test_a_delivery_that_fails_after_its_email_went_out_is_retried_without_a_second_email(
        booked, outbox, monkeypatch):
    course_session, _ = booked
    queue_message(course_session.id)
    real = session_messages.mark_sent
    failures = []

    def fail_once(recipient_id):
        if not failures:
            failures.append(recipient_id)
            raise RuntimeError("database went away after the email was sent")
        real(recipient_id)

    monkeypatch.setattr(session_messages, "mark_sent", fail_once)
    first = deliver_all()
    assert (first.delivered, first.retried) == (2, 1)
    assert recipients_of(outbox) == Counter(CONFIRMED)
    again = deliver_all(now=utcnow() + timedelta(hours=1))
    assert again.delivered == 1
    assert recipients_of(outbox) == Counter(CONFIRMED)
    assert db.session.scalars(select(SessionMessage)).one().sent_count == 3


@pytest.mark.slow
def test_a_real_worker_process_killed_mid_way_is_made_good_exactly_once(
        booked, database_url, tmp_path):
    """SIGKILL as the second delivery's outcome is about to be recorded (its email
    has gone out), with the third still leased; a restarted worker finishes."""
    course_session, _ = booked
    queue_message(course_session.id)
    maildir = tmp_path / "mail"
    crashed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "session_message_worker.py"), database_url,
         str(maildir), "2"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert len(list(maildir.glob("*.eml"))) == 2
    db.session.expire_all()
    assert [d.status for d in message_deliveries()] == [
        DeliveryStatus.DELIVERED, DeliveryStatus.PENDING, DeliveryStatus.PENDING]

    time.sleep(LEASE_SECONDS + 1)  # the dead worker's leases (tests/worker_process.py) run out
    restarted = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "worker_process.py"), "drain", database_url,
         str(maildir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    to = Counter(email.message_from_bytes(p.read_bytes())["To"] for p in maildir.glob("*.eml"))
    assert to == Counter(CONFIRMED)
    db.session.expire_all()
    deliveries = message_deliveries()
    assert all(d.status == DeliveryStatus.DELIVERED for d in deliveries)
    assert deliveries[1].attempts == 2  # the killed delivery really ran again


# -- audit log and timeline ----------------------------------------------------------------------
def test_the_audit_log_and_each_bookings_timeline_show_the_message(
        booked, admin_client, admin_user):
    course_session, confirmed = booked
    key = send_key_in(preview(admin_client, course_session.id, "New room", "Room 2.")
                      .get_data(as_text=True))
    send(admin_client, course_session.id, "New room", "Room 2.", key)
    deliver_all()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "session.message")).one()
    assert entry.actor_id == admin_user.id and entry.entity_id == str(course_session.id)
    assert entry.after["sent_to"] == [b.reference for b in confirmed]

    activity = admin_client.get("/admin/activity").get_data(as_text=True)
    assert "Emailed everyone booked on a session" in activity
    for booking in confirmed:
        page = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
        assert "Message to everyone on the session" in page and "Subject: New room" in page
        assert "Email sent" in page
    session_page = admin_client.get(f"/admin/sessions/{course_session.id}").get_data(as_text=True)
    assert f"/admin/sessions/{course_session.id}/message" in session_page
    assert "Emailed everyone booked on a session" in session_page


# -- access and validation -----------------------------------------------------------------------
def test_only_admins_may_write_preview_or_send(booked, admin_client, trainer_client, client,
                                              outbox):
    course_session, _ = booked
    url = f"/admin/sessions/{course_session.id}/message"
    assert_admin_only(admin_client, trainer_client, client, url)
    data = {"subject": "Hi", "text": "Hello", "send_key": uuid.uuid4().hex}
    for post_url in (url, url + "/send"):
        assert trainer_client.post(post_url, data=data).status_code == 403
        anonymous = client.post(post_url, data=data)
        assert anonymous.status_code in (302, 401)
    assert db.session.scalar(select(func.count()).select_from(SessionMessage)) == 0
    deliver_all()
    assert outbox == []


def test_a_blank_or_too_long_message_is_a_422_with_field_messages(booked, admin_client):
    course_session, _ = booked
    blank = preview(admin_client, course_session.id, "  ", "")
    assert blank.status_code == 422
    html = blank.get_data(as_text=True)
    assert "Enter the subject." in html and "Enter the message." in html

    long = preview(admin_client, course_session.id, "x" * 151, "y" * 5001)
    assert long.status_code == 422
    html = long.get_data(as_text=True)
    assert "The subject must be 150 characters or fewer." in html
    assert "The message must be 5000 characters or fewer." in html


def test_sending_without_a_preview_key_is_a_422_and_records_nothing(booked, admin_client,
                                                                    outbox):
    course_session, _ = booked
    for key in ("", "not-a-key"):
        response = send(admin_client, course_session.id, "New room", "Room 2.", key)
        assert response.status_code == 422
        assert "Preview it again" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SessionMessage)) == 0


def test_a_session_with_no_confirmed_bookings_has_nobody_to_email(app, admin_client):
    empty = SessionFactory()
    held_booking(empty.id, 1)
    assert "nobody to email" in admin_client.get(f"/admin/sessions/{empty.id}/message") \
        .get_data(as_text=True)
    response = preview(admin_client, empty.id, "Hello", "Text")
    assert response.status_code == 409 and "nobody to email" in response.get_data(as_text=True)
    sent = send(admin_client, empty.id, "Hello", "Text", uuid.uuid4().hex)
    assert sent.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(SessionMessage)) == 0


def test_an_unknown_session_is_a_404(app, admin_client):
    assert admin_client.get("/admin/sessions/99999/message").status_code == 404
    assert preview(admin_client, 99999, "Hello", "Text").status_code == 404
    assert send(admin_client, 99999, "Hello", "Text", uuid.uuid4().hex).status_code == 404
