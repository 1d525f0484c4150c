"""Any body the API cannot read is a 4xx error object, never a 500; one reader
(app.web.api.body) serves every endpoint that takes a body."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking

HOSTILE = {
    "nested 1000 deep": b"[" * 1000 + b"]" * 1000,
    "nested objects 1000 deep": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "invalid UTF-8": b'{"contact": {"name": "\xff\xfe"}}',
    "NaN": b'{"session_id": NaN}',
    "Infinity": b'{"session_id": Infinity}',
    "huge float": b'{"session_id": 1e999}',
    "huge integer": b'{"session_id": ' + b"9" * 5000 + b"}",
    "20-digit integer": b'{"session_id": 99999999999999999999}',
    "top-level array": b"[{}]",
    "top-level string": b'"booking"',
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_body_the_api_cannot_read_is_422_with_the_error_object(client, case):
    response = client.post("/api/v1/bookings", data=HOSTILE[case],
                           content_type="application/json")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["fields"]["body"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_a_body_that_is_not_declared_json_is_415(client, content_type):
    response = client.post("/api/v1/bookings", data=b'{"session_id": 1}',
                           content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_json_suffix_media_type_is_json(client):
    response = client.post("/api/v1/bookings", data=b"{}",
                           content_type="application/vnd.booking+json; charset=utf-8")
    assert response.status_code == 422  # read, then found wanting field by field
    assert "session_id" in response.get_json()["error"]["fields"]


def test_no_api_endpoint_answers_a_hostile_body_with_a_500(app, client):
    posted = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or not rule.methods & {"POST", "PUT", "PATCH"}:
            continue
        path = rule.rule.replace("<reference>", "BK7Q2M").replace("<id:session_id>", "1")
        for raw in HOSTILE.values():
            response = client.post(path, data=raw, content_type="application/json")
            assert response.status_code < 500, (path, raw[:20])
            assert "error" in response.get_json()
            posted += 1
    assert posted >= len(HOSTILE) * 2
