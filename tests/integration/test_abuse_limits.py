"""Abuse limits: seats one client or one email may hold unpaid, emails nobody paid for,
and the request rate limits on every route an anonymous client can hammer."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.config import RATE_LIMIT_DEFAULTS, ConfigError, load_config
from app.extensions import db
from app.models import Booking, SentEmail, utcnow
from app.services.bookings import holds as svc
from app.services.messaging import emails, notifications
from app.services.messaging import settings as messaging_settings
from app.web.ratelimits import limited_endpoints

from factories import SessionFactory, booking_request
from notify_helpers import deliver_all
from production_settings import PRODUCTION_SECRET_KEY

NO_LIMITS = {"HOLD_LIMIT_PER_CLIENT": 0, "HOLD_SEATS_LIMIT_PER_CLIENT": 0,
             "HOLD_LIMIT_PER_EMAIL": 0, "HOLD_SEATS_LIMIT_PER_EMAIL": 0}


def body(session_id, seats=1, email="priya@example.com"):
    return {
        "session_id": session_id,
        "contact": {"name": "Priya Shah", "email": email, "phone": "07700 900123",
                    "postcode": "ls1 4ap", "company": ""},
        "attendees": [{"name": f"Learner {chr(65 + i)}", "email": ""} for i in range(seats)],
        "accept_terms": True,
    }


def hold(client, session_id, seats=1, *, address="203.0.113.7", email="priya@example.com",
         **headers):
    return client.post("/api/v1/bookings", json=body(session_id, seats, email),
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


# -- seat holds per client address and per email ------------------------------------------
class TestHoldsPerClient:
    @pytest.fixture
    def app_config(self):
        return {**NO_LIMITS, "HOLD_LIMIT_PER_CLIENT": 2, "HOLD_SEATS_LIMIT_PER_CLIENT": 6}

    def test_a_third_open_hold_from_one_address_is_429_until_the_oldest_expires(self, client):
        sessions = [SessionFactory(capacity=12) for _ in range(3)]
        assert hold(client, sessions[0].id).status_code == 201
        assert hold(client, sessions[1].id).status_code == 201
        refused = hold(client, sessions[2].id)
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "too_many_holds"
        assert refused.json["error"]["message"]
        # The oldest hold lasts HOLD_MINUTES (30): that is when to come back.
        assert 29 * 60 <= int(refused.headers["Retry-After"]) <= 30 * 60
        assert db.session.query(Booking).count() == 2

    def test_seats_held_by_one_address_are_capped(self, client):
        course_session = SessionFactory(capacity=12)
        assert hold(client, course_session.id, 4).status_code == 201
        assert hold(client, course_session.id, 3).status_code == 429
        assert hold(client, course_session.id, 2).status_code == 201

    def test_another_address_is_not_held_back_by_the_first(self, client):
        course_session = SessionFactory(capacity=12)
        assert hold(client, course_session.id, 6).status_code == 201
        assert hold(client, course_session.id, 1).status_code == 429
        assert hold(client, course_session.id, 1, address="198.51.100.9",
                    email="sam@example.com").status_code == 201

    def test_paid_cancelled_and_expired_holds_no_longer_count(self, client):
        course_session = SessionFactory(capacity=12)
        first = hold(client, course_session.id).json["reference"]
        second = hold(client, course_session.id).json["reference"]
        assert hold(client, course_session.id).status_code == 429
        svc.confirm_booking(first)
        db.session.query(Booking).filter_by(reference=second).update(
            {"hold_expires_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()
        assert hold(client, course_session.id).status_code == 201

    def test_the_booking_form_shows_the_problem_with_429_and_retry_after(self, client):
        course_session = SessionFactory(capacity=12)
        assert hold(client, course_session.id, 6, address="127.0.0.1").status_code == 201
        response = client.post(f"/sessions/{course_session.id}/book", data={
            "contact-name": "Priya Shah", "contact-email": "priya@example.com",
            "contact-phone": "07700 900123", "contact-postcode": "ls1 4ap", "seats": "1",
            "attendees-0-name": "Learner A", "action": "book", "accept_terms": "y"})
        assert response.status_code == 429
        assert "You already have seats held" in response.text
        assert int(response.headers["Retry-After"]) > 0

    def test_staff_bookings_are_not_limited(self, app):
        course_session = SessionFactory(capacity=20)
        policy = svc.BookingPolicy.from_config(app.config)
        for _ in range(4):  # no client address: a booking taken by staff
            svc.hold_seats(booking_request(course_session.id, 3), policy=policy)
        with pytest.raises(svc.TooManyHolds):
            for _ in range(3):
                svc.hold_seats(booking_request(course_session.id, 1), policy=policy,
                               client_address="203.0.113.7")


class TestHoldsBehindAProxy:
    @pytest.fixture
    def app_config(self):
        return {**NO_LIMITS, "HOLD_LIMIT_PER_CLIENT": 1, "TRUSTED_PROXY_COUNT": 1}

    def test_holds_count_per_forwarded_client_not_per_proxy(self, client):
        course_session = SessionFactory(capacity=12)
        proxy = "10.0.0.2"

        def via_proxy(real, email):
            return hold(client, course_session.id, address=proxy, email=email,
                        **{"X-Forwarded-For": real})

        assert via_proxy("203.0.113.7", "a@example.com").status_code == 201
        assert via_proxy("198.51.100.9", "b@example.com").status_code == 201
        assert via_proxy("203.0.113.7", "c@example.com").status_code == 429


class TestHoldsPerEmail:
    @pytest.fixture
    def app_config(self):
        return {**NO_LIMITS, "HOLD_LIMIT_PER_EMAIL": 1}

    def test_one_email_cannot_hold_twice_from_any_address_in_any_letter_case(self, client):
        course_session = SessionFactory(capacity=12)
        assert hold(client, course_session.id, email="victim@example.com").status_code == 201
        refused = hold(client, course_session.id, address="198.51.100.9",
                       email="Victim@Example.com")
        assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_holds"
        assert hold(client, course_session.id, email="other@example.com").status_code == 201


def test_the_default_limits_never_stop_a_normal_customer():
    config = load_config("/tmp", env={})
    policy = svc.BookingPolicy.from_config(config)
    # A company booker with a full session on each of two tabs.
    assert policy.hold_seats_limit_per_email >= 2 * policy.max_seats
    assert policy.hold_limit_per_email >= 2 and policy.hold_limit_per_client >= 2


# -- emails nobody paid for -----------------------------------------------------------------
def test_a_hold_cancelled_before_payment_sends_no_email(client, outbox):
    course_session = SessionFactory(capacity=12)
    created = hold(client, course_session.id, email="victim@example.com").json
    token = created["manage_url"].split("token=")[1]
    cancelled = client.post(f"/api/v1/bookings/{created['reference']}/cancel?token={token}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    deliver_all()
    assert outbox == []


def test_a_hold_that_expires_without_reaching_payment_sends_no_email(app, outbox):
    course_session = SessionFactory(capacity=12)
    svc.hold_seats(booking_request(course_session.id, 1, email="victim@example.com"),
                   policy=svc.BookingPolicy(), now=utcnow() - timedelta(hours=1))
    assert svc.expire_holds() == 1
    deliver_all()
    assert outbox == []


def test_a_paid_booking_cancelled_still_gets_its_cancellation_email(app, outbox):
    course_session = SessionFactory(capacity=12)
    held = svc.hold_seats(booking_request(course_session.id, 1), policy=svc.BookingPolicy())
    svc.confirm_booking(held.reference)
    from app.services.bookings import manage

    manage.cancel_booking(held.reference, actor=manage.Actor.customer(),
                          policy=svc.BookingPolicy())
    deliver_all()
    assert any(m.subject.startswith("Booking cancelled") for m in outbox)


class TestEmailCap:
    @pytest.fixture
    def app_config(self):
        return {"EMAILS_PER_RECIPIENT_PER_HOUR": 2}

    def email_to(self, address):
        return emails.OutgoingEmail(to=(address,), subject="Your held seats were released",
                                    template="hold_expired", context={})

    def send(self, key, address):
        return emails.send_once(key, build=lambda: self.email_to(address))

    @pytest.fixture(autouse=True)
    def plain_template(self, monkeypatch):
        monkeypatch.setattr(emails, "render", lambda *a, **k: ("text", "<p>html</p>"))

    def test_emails_over_the_cap_are_suppressed_and_never_retried(self, app, outbox):
        assert self.send("one", "victim@example.com")
        assert self.send("two", "VICTIM@example.com")
        assert not self.send("three", "victim@example.com")
        assert not self.send("three", "victim@example.com")  # a redelivery sends nothing
        assert len(outbox) == 2
        row = db.session.query(SentEmail).filter_by(dedupe_key="three").one()
        assert row.status == "suppressed"
        assert self.send("four", "someone-else@example.com")

    def test_a_paid_customer_over_the_cap_still_gets_the_confirmation(self, app, outbox):
        assert messaging_settings.current().emails_per_recipient_per_hour == 2
        self.send("one", "priya@example.com")
        self.send("two", "priya@example.com")
        course_session = SessionFactory(capacity=12)
        held = svc.hold_seats(booking_request(course_session.id, 1), policy=svc.BookingPolicy())
        booking = svc.confirm_booking(held.reference)
        assert notifications.send_booking_confirmation(booking)
        assert outbox[-1].subject.startswith("Booking confirmed")


# -- request rate limits ----------------------------------------------------------------------
ABUSE_PRONE = {
    "api.create_booking", "booking.start", "booking.validate_field", "booking.cancel",
    "booking.rename", "booking.pay", "api.cancel", "auth.login", "auth.forgot_password",
    "webhooks.stripe_webhook", "realtime.availability",
}


def test_every_abuse_prone_endpoint_has_a_limit_with_a_setting_of_its_own():
    table = limited_endpoints()
    assert ABUSE_PRONE <= set(table)
    assert {s for settings in table.values() for s in settings} == set(RATE_LIMIT_DEFAULTS)


def _requests(session_id):
    form = {"contact-email": "x"}
    return {
        "api.create_booking": ("post", "/api/v1/bookings", {"json": {}}),
        "booking.start": ("post", f"/sessions/{session_id}/book", {"data": {"action": "book"}}),
        "booking.validate_field": ("post", f"/sessions/{session_id}/book/validate",
                                   {"data": {"field": "contact-email", **form}}),
        "booking.cancel": ("post", "/bookings/NOPE/cancel?token=x", {}),
        "booking.rename": ("post", "/bookings/NOPE/attendees?token=x", {}),
        "booking.pay": ("post", "/bookings/NOPE/pay?token=x", {}),
        "api.cancel": ("post", "/api/v1/bookings/NOPE/cancel?token=x", {}),
        "auth.login": ("post", "/login", {"data": {"email": "a@example.com", "password": "x"}}),
        "auth.forgot_password": ("post", "/password/forgot", {"data": {"email": "a@example.com"}}),
        "webhooks.stripe_webhook": ("post", "/webhooks/stripe", {"json": {}}),
        # An upgrade request (else routing refuses it), with a version the handshake refuses.
        "realtime.availability": ("get", "/ws/availability", {"headers": {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8"}}),
    }


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                **{name: "2/minute" for name in RATE_LIMIT_DEFAULTS}}

    @pytest.mark.parametrize("endpoint", sorted(ABUSE_PRONE))
    def test_the_third_request_in_a_minute_is_429_with_retry_after(self, client, endpoint):
        method, url, kwargs = _requests(SessionFactory(capacity=12).id)[endpoint]
        for _ in range(2):
            assert getattr(client, method)(url, **kwargs).status_code != 429
        refused = getattr(client, method)(url, **kwargs)
        assert refused.status_code == 429
        assert 0 <= int(refused.headers["Retry-After"]) <= 60
        if url.startswith(("/api/", "/webhooks/")):
            assert refused.json["error"]["code"] == "too_many_requests"
            assert refused.json["error"]["message"]

    def test_changing_the_seat_count_does_not_use_up_the_booking_budget(self, client):
        course_session = SessionFactory(capacity=12)
        url = f"/sessions/{course_session.id}/book"
        for _ in range(2):
            assert client.post(url, data={"action": "resize", "seats": "2"}).status_code == 200
        assert client.post(url, data={"action": "book"}).status_code == 422

    def test_another_client_address_has_its_own_count(self, client):
        for _ in range(3):
            client.post("/api/v1/bookings", json={})
        other = client.post("/api/v1/bookings", json={},
                            environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert other.status_code == 422


# -- production settings ----------------------------------------------------------------------
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": PRODUCTION_SECRET_KEY,
              "PAYMENT_PROVIDER": "stripe", "METRICS_TOKEN": "m" * 32,
              "PUBLIC_BASE_URL": "https://book.example.co.uk",
              "TRUSTED_HOSTS": "book.example.co.uk"}


def test_production_refuses_rate_limits_switched_off():
    assert load_config("/tmp", env=PRODUCTION)["RATELIMIT_ENABLED"] is True
    with pytest.raises(ConfigError, match="RATELIMIT_ENABLED=false is refused"):
        load_config("/tmp", env={**PRODUCTION, "RATELIMIT_ENABLED": "false"})
    assert load_config("/tmp", env={"RATELIMIT_ENABLED": "false"})["RATELIMIT_ENABLED"] is False


def test_production_with_several_processes_refuses_per_process_limit_storage():
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY=2"):
        load_config("/tmp", env={**PRODUCTION, "WEB_CONCURRENCY": "2"})
    shared = load_config("/tmp", env={**PRODUCTION, "WEB_CONCURRENCY": "2",
                                      "REDIS_URL": "redis://cache:6379/0"})
    assert shared["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert load_config("/tmp", env={**PRODUCTION, "WEB_CONCURRENCY": "1"})


def test_a_limit_that_is_not_a_rate_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="BOOKING_RATE_LIMIT"):
        load_config("/tmp", env={"BOOKING_RATE_LIMIT": "lots"})
    assert load_config("/tmp", env={"BOOKING_RATE_LIMIT": "3/minute;20/hour"})[
        "BOOKING_RATE_LIMIT"] == "3/minute;20/hour"

