"""POST/GET /api/v1/bookings and cancel, against the contract in DESIGN.md."""
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from app.models import BookingStatus, SessionStatus, utcnow
from app.services.core.tokens import manage_token

from factories import BookingFactory, SessionFactory


def body(session_id, seats=1, **contact):
    return {
        "session_id": session_id,
        "contact": {"name": "Priya Shah", "email": "priya@example.com", "phone": "07700 900123",
                    "postcode": "ls1 4ap", "company": "Acme Ltd", **contact},
        "attendees": [{"name": f"Learner {chr(65 + i)}", "email": ""} for i in range(seats)],
        "accept_terms": True,
    }


def token_of(url):
    return parse_qs(urlparse(url).query)["token"][0]


def test_hold_returns_201_with_the_contract_fields(client):
    session = SessionFactory(capacity=5)
    response = client.post("/api/v1/bookings", json=body(session.id, 2))
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) >= {"reference", "status", "seats", "amount_pence", "hold_expires_at",
                         "manage_url", "payment_url"}
    assert data["status"] == "held" and data["seats"] == 2
    assert data["amount_pence"] == 2 * session.price_pence
    assert data["manage_url"].startswith("http") and "token=" in data["manage_url"]


def test_input_is_normalised_before_it_is_stored(client):
    session = SessionFactory()
    created = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    shown = client.get(f"/api/v1/bookings/{created['reference']}",
                       query_string={"token": token_of(created["manage_url"])}).get_json()
    assert shown["contact"]["postcode"] == "LS1 4AP"
    assert shown["contact"]["phone"] == "+447700900123"


def test_bad_input_is_422_with_a_message_per_field(client):
    session = SessionFactory()
    bad = body(session.id, email="not-an-email", phone="12", postcode="nowhere")
    bad["attendees"][0]["name"] = "<script>alert(1)</script>"
    response = client.post("/api/v1/bookings", json=bad)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) >= {"contact.email", "contact.phone", "contact.postcode",
                                    "attendees.0.name"}


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"null", b'"text"', b"{"])
def test_malformed_bodies_are_422_never_500(client, raw):
    response = client.post("/api/v1/bookings", data=raw, content_type="application/json")
    assert response.status_code == 422
    assert "error" in response.get_json()


def test_sold_out_is_409_sold_out(client):
    session = SessionFactory(capacity=1)
    assert client.post("/api/v1/bookings", json=body(session.id)).status_code == 201
    response = client.post("/api/v1/bookings", json=body(session.id))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "sold_out"


def test_not_enough_seats_is_409_insufficient_seats(client):
    session = SessionFactory(capacity=2)
    response = client.post("/api/v1/bookings", json=body(session.id, 3))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "insufficient_seats"


def test_unknown_session_is_an_error_object_not_a_500(client):
    response = client.post("/api/v1/bookings", json=body(987654))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_same_idempotency_key_and_body_returns_the_first_answer_and_holds_nothing_more(client):
    session = SessionFactory(capacity=3)
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/api/v1/bookings", json=body(session.id), headers=headers)
    second = client.post("/api/v1/bookings", json=body(session.id), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/api/v1/bookings", json=body(session.id, 2))
    assert other.status_code == 201  # only one seat was taken by the two keyed requests


def test_same_idempotency_key_with_another_body_is_refused(client):
    session = SessionFactory(capacity=3)
    headers = {"Idempotency-Key": "order-43"}
    client.post("/api/v1/bookings", json=body(session.id), headers=headers)
    response = client.post("/api/v1/bookings", json=body(session.id, 2), headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"


def test_failed_request_does_not_burn_its_idempotency_key(client):
    session = SessionFactory(capacity=1)
    headers = {"Idempotency-Key": "retry-me"}
    blocker = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    assert client.post("/api/v1/bookings", json=body(session.id),
                       headers=headers).status_code == 409
    client.post(f"/api/v1/bookings/{blocker['reference']}/cancel",
                query_string={"token": token_of(blocker["manage_url"])})
    assert client.post("/api/v1/bookings", json=body(session.id),
                       headers=headers).status_code == 201


def test_get_booking_with_its_token_shows_it(client):
    session = SessionFactory()
    created = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    response = client.get(f"/api/v1/bookings/{created['reference']}",
                          query_string={"token": token_of(created["manage_url"])})
    assert response.status_code == 200
    data = response.get_json()
    assert data["reference"] == created["reference"]
    assert data["session"]["id"] == session.id
    assert data["attendees"][0]["name"] == "Learner A"


@pytest.mark.parametrize("token", [None, "", "forged", "A" * 300])
def test_wrong_token_shows_nothing_of_the_booking(client, token):
    session = SessionFactory()
    created = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    query = {} if token is None else {"token": token}
    response = client.get(f"/api/v1/bookings/{created['reference']}", query_string=query)
    assert response.status_code == 403
    assert b"Priya" not in response.data and b"Learner" not in response.data


def test_token_of_one_booking_does_not_open_another(client):
    session = SessionFactory(capacity=4)
    first = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    second = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    response = client.get(f"/api/v1/bookings/{second['reference']}",
                          query_string={"token": token_of(first["manage_url"])})
    assert response.status_code == 403


def test_unknown_reference_looks_like_a_bad_token(client):
    assert client.get("/api/v1/bookings/NOSUCHREF1", query_string={"token": "x"}).status_code == 403


def test_cancel_frees_the_seat_and_reports_refund_owed(client):
    session = SessionFactory(capacity=1, starts_at=utcnow() + timedelta(days=30))
    created = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    response = client.post(f"/api/v1/bookings/{created['reference']}/cancel",
                           query_string={"token": token_of(created["manage_url"])})
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert client.post("/api/v1/bookings", json=body(session.id)).status_code == 201


def test_cancelling_twice_is_harmless(client):
    session = SessionFactory()
    created = client.post("/api/v1/bookings", json=body(session.id)).get_json()
    url = f"/api/v1/bookings/{created['reference']}/cancel"
    query = {"token": token_of(created["manage_url"])}
    assert client.post(url, query_string=query).status_code == 200
    assert client.post(url, query_string=query).status_code == 200


def cancel_by_api(client, app, booking):
    token = manage_token(booking.reference, secret_key=app.config["SECRET_KEY"])
    return client.post(f"/api/v1/bookings/{booking.reference}/cancel",
                       query_string={"token": token})


def test_cancel_by_api_owes_what_the_policy_allows(client, app):
    session = SessionFactory(starts_at=utcnow() + timedelta(days=5), course__price_pence=10000)
    booking = BookingFactory(session=session, status=BookingStatus.CONFIRMED, seats=1,
                             hold_expires_at=None)
    response = cancel_by_api(client, app, booking)
    assert response.status_code == 200
    assert response.get_json()["refund_due_pence"] == 5000  # five days' notice: half


def test_cancel_by_api_after_the_course_is_refused_with_a_reason(client, app):
    starts = utcnow() - timedelta(days=2)
    session = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=7),
                             status=SessionStatus.COMPLETED)
    booking = BookingFactory(session=session, status=BookingStatus.CONFIRMED,
                             hold_expires_at=None)
    response = cancel_by_api(client, app, booking)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "invalid_state"
    assert "This course has been completed" in error["message"]


class TestLinksInAnswers:
    BASE_URL = "https://book.example.co.uk"

    @pytest.fixture
    def app_config(self):
        return {"PUBLIC_BASE_URL": self.BASE_URL}

    def test_every_url_uses_the_public_base_url_whatever_the_host_header(self, client):
        session = SessionFactory()
        forged = {"Host": "evil.example"}

        created = client.post("/api/v1/bookings", json=body(session.id), headers=forged)
        reference = created.get_json()["reference"]
        shown = client.get(f"/api/v1/bookings/{reference}", headers=forged,
                           query_string={"token": token_of(created.get_json()["manage_url"])})

        for answer in (created.get_json(), shown.get_json()):
            assert answer["manage_url"].startswith(f"{self.BASE_URL}/bookings/{reference}?token=")
            assert answer["payment_url"].startswith(
                f"{self.BASE_URL}/bookings/{reference}/pay?token=")
        assert shown.get_json()["session"]["url"] == f"{self.BASE_URL}/sessions/{session.id}"
        assert created.headers["Location"] == created.get_json()["manage_url"]
