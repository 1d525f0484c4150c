"""Find my booking: an email address and a reference get the booking's manage link
emailed to the booking's own address. The answer (status and page) and the work
done are the same whether or not they match, so the form is no oracle for which
references and addresses go together."""
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxEvent, utcnow
from app.services.core.tokens import manage_token
from factories import AttendeeFactory, BookingFactory
from notify_helpers import deliver_all

REFERENCE = "K7M2QXH4PD"
EMAIL = "priya.shah@example.com"
CSRF = re.compile(r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"[^>]*name="csrf_token"')


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


@pytest.fixture
def booking(app):
    booking = BookingFactory(reference=REFERENCE, contact_email=EMAIL, hold_expires_at=None,
                             confirmed_at=utcnow(), contact_name="Priya Shah")
    AttendeeFactory(booking=booking, full_name="Sam Patel")
    return booking


def events_written() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEvent))


def find(client, email, reference, **extra):
    return client.post("/bookings/find", data={"email": email, "reference": reference, **extra})


class TestTheSameAnswer:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def ask(self, client, email, reference):
        page = client.get("/bookings/find").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                          r'value="([^"]+)"[^>]*name="csrf_token"', page)
        token = token.group(1) or token.group(2)
        return find(client, email, reference, csrf_token=token)

    def test_a_match_and_a_mismatch_get_the_same_status_and_page_and_only_the_match_an_email(
            self, app, client, booking, outbox):
        before = events_written()
        answers = [self.ask(client, EMAIL, REFERENCE),
                   self.ask(client, "someone.else@example.com", REFERENCE),
                   self.ask(client, EMAIL, "ZZZZZZZZZZ")]
        assert {answer.status_code for answer in answers} == {200}
        bodies = {CSRF.sub("", answer.get_data(as_text=True)) for answer in answers}
        assert len(bodies) == 1 and "Check your email" in bodies.pop()
        # The same work for each: one event, no booking read until the worker runs.
        assert events_written() - before == 3

        deliver_all()
        assert [message.to for message in outbox] == [[EMAIL]]
        link = re.search(r"https?://\S+/bookings/" + REFERENCE + r"\?token=[\w.\-]+",
                         outbox[0].body).group(0)
        parts = urlsplit(link)
        assert client.get(f"{parts.path}?{parts.query}").status_code == 200


def test_the_email_carries_the_current_link_and_earlier_links_keep_working(
        app, client, booking, outbox):
    old = f"/bookings/{REFERENCE}?token=" + manage_token(REFERENCE,
                                                          secret_key=app.config["SECRET_KEY"])
    assert find(client, EMAIL, REFERENCE).status_code == 200
    deliver_all()
    assert old.split("?token=")[1] in outbox[0].body
    assert "no longer work" not in outbox[0].body
    assert client.get(old).status_code == 200


def test_the_email_and_reference_match_however_they_are_typed(client, booking, outbox):
    assert find(client, "  Priya.Shah@EXAMPLE.com ", "k7m2 qxh4-pd").status_code == 200
    deliver_all()
    assert [message.to for message in outbox] == [[EMAIL]]


def test_malformed_input_gets_messages_at_the_fields_and_writes_nothing(client, booking, outbox):
    before = events_written()
    response = find(client, "not an email", "ABC")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="email-error"[^>]*>.*correct format', page, re.S)
    assert re.search(r'id="reference-error"[^>]*>.*10 letters and numbers', page, re.S)
    assert 'aria-invalid="true"' in page
    empty = find(client, "", "")
    assert empty.status_code == 422 and "Enter your booking reference." in empty.text
    assert events_written() == before


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "FIND_BOOKING_RATE_LIMIT_PER_EMAIL": "2/hour",
                "FIND_BOOKING_RATE_LIMIT_PER_IP": "3/hour"}

    def test_requests_are_limited_per_email_address_asked_with(self, client, booking):
        for address in ("203.0.113.1", "203.0.113.2"):
            assert client.post("/bookings/find", data={"email": EMAIL, "reference": REFERENCE},
                               environ_base={"REMOTE_ADDR": address}).status_code == 200
        refused = client.post("/bookings/find", data={"email": EMAIL, "reference": REFERENCE},
                              environ_base={"REMOTE_ADDR": "203.0.113.3"})
        assert refused.status_code == 429 and "Retry-After" in refused.headers

    def test_requests_are_limited_per_client_address(self, client, booking):
        for n in range(3):
            assert find(client, f"person{n}@example.com", REFERENCE).status_code == 200
        assert find(client, "person9@example.com", REFERENCE).status_code == 429
