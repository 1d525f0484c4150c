"""Request body limits per route class (app.web.limits): refused with 413 while the
body is read, chunked bodies included, before a webhook's signature is checked."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.config import load_config
from app.extensions import db
from app.models import WebhookEvent
from app.web import limits

from fakes.stripe_server import sign

KIB = 1024


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes, produced on demand, counting what is read."""

    def __init__(self, size: int, byte: bytes = b"x"):
        self.remaining, self.byte, self.read_bytes = size, byte, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.remaining, 64 * KIB)
        buffer[:n] = self.byte * n
        self.remaining -= n
        self.read_bytes += n
        return n


def chunked_post(client, path: str, stream, *, headers=None, **kwargs):
    """POST a chunked body (no Content-Length) as it reaches the app from a server that
    decodes the chunks (gunicorn, werkzeug) and says so with wsgi.input_terminated."""
    return client.post(path, headers={"Transfer-Encoding": "chunked", **(headers or {})},
                       environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
                       **kwargs)


@pytest.fixture
def app_config():
    return {"FORM_MAX_BODY_BYTES": 64 * KIB, "STAFF_FORM_MAX_BODY_BYTES": 512 * KIB,
            "API_MAX_BODY_BYTES": 32 * KIB, "WEBHOOK_MAX_BODY_BYTES": 128 * KIB}


def test_an_api_body_over_the_api_limit_is_413_with_the_error_object(client):
    response = client.post("/api/v1/bookings", data=b"{" + b" " * (40 * KIB) + b"}",
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_a_chunked_api_body_is_cut_off_at_the_limit_while_reading(client):
    stream = CountingStream(8 * KIB * KIB, b" ")
    response = chunked_post(client, "/api/v1/bookings", stream,
                            content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert stream.read_bytes <= 32 * KIB + 64 * KIB  # the limit and at most one read more


def test_a_24_mb_chunked_unsigned_webhook_is_refused_before_it_is_read_whole(client):
    stream = CountingStream(24 * KIB * KIB)
    response = chunked_post(client, "/webhooks/stripe", stream,
                            content_type="application/json",
                            headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert stream.read_bytes <= 128 * KIB + 64 * KIB
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_webhook_declaring_a_body_over_its_limit_is_413_before_reading(client):
    body = b"{" + b" " * (200 * KIB) + b"}"
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 413


def test_a_webhook_body_larger_than_the_api_limit_but_within_its_own_is_read(client):
    body = b'{"id": "evt_1", "type": "x", "pad": "' + b"x" * (100 * KIB) + b'"}'
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400  # read whole, then the signature refused
    assert response.get_json()["error"]["code"] == "invalid_signature"


def test_a_public_form_over_the_form_limit_is_413_as_an_error_page(client):
    response = client.post("/sessions/1/book", data={"contact-name": "x" * (70 * KIB)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"


def test_a_chunked_form_is_cut_off_at_the_form_limit(client):
    stream = CountingStream(8 * KIB * KIB)
    response = chunked_post(client, "/sign-in", stream,
                            content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert stream.read_bytes <= 64 * KIB + 64 * KIB


def test_staff_forms_take_more_than_public_forms_but_not_without_limit(admin_client):
    within = admin_client.post("/admin/courses/new",
                               data={"description": "x" * (100 * KIB)})
    assert within.status_code != 413
    over = admin_client.post("/admin/courses/new", data={"description": "x" * (600 * KIB)})
    assert over.status_code == 413


def test_every_limit_is_set_by_its_environment_variable(tmp_path):
    env = {"APP_ENV": "testing", "FORM_MAX_BODY_BYTES": "70000",
           "STAFF_FORM_MAX_BODY_BYTES": "2000000", "API_MAX_BODY_BYTES": "50000",
           "WEBHOOK_MAX_BODY_BYTES": "300000"}
    config = load_config(str(tmp_path), env)
    assert (config["FORM_MAX_BODY_BYTES"], config["STAFF_FORM_MAX_BODY_BYTES"],
            config["API_MAX_BODY_BYTES"], config["WEBHOOK_MAX_BODY_BYTES"]) == \
        (70000, 2000000, 50000, 300000)
    assert config["MAX_CONTENT_LENGTH"] == 70000


def test_the_limit_is_set_before_any_hook_that_may_read_the_body(app):
    hooks = app.before_request_funcs[None]
    mine = hooks.index(limits._apply_body_limit)
    assert all(hook.__module__.startswith("app.monitoring") for hook in hooks[:mine])
