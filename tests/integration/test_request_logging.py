"""Request ids, the access line, and what an error looks like to the user and in the log.

An internal error is injected by making a service function a route calls raise
RuntimeError("secret detail"): the user gets a sanitised page or JSON with a
reference, and the log record with that id holds the traceback.
"""
from __future__ import annotations

import re
import uuid

import pytest
from prometheus_client import REGISTRY
from werkzeug.routing import BaseConverter

from app.monitoring import logs
from app.services.catalogue import listing

from factories import SessionFactory

SECRET = "secret detail"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
REFERENCE = re.compile(r"Reference: ([A-Z2-7]{10})")


@pytest.fixture
def broken_listing(monkeypatch):
    """The sessions page and the API's session search both fail inside the service."""
    def explode(*_args, **_kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(listing, "session_calendar", explode)
    monkeypatch.setattr(listing, "search_sessions", explode)


def access_records(caplog, request_id: str):
    return [r for r in caplog.records
            if r.name == logs.ACCESS_LOGGER and getattr(r, "request_id", None) == request_id]


def errors_counted(category: str, severity: str) -> float:
    return REGISTRY.get_sample_value(
        "errors_total", {"category": category, "severity": severity}) or 0.0


# -- X-Request-ID ---------------------------------------------------------------------------
@pytest.mark.parametrize("path, headers", [
    ("/", {}),
    ("/sessions", {"HX-Request": "true"}),
    ("/api/v1/courses", {}),
    ("/static/css/site.css", {}),
    ("/health/live", {}),
    ("/no/such/page", {}),
    ("/api/v1/no/such/thing", {}),
])
def test_every_response_echoes_a_sane_caller_request_id(client, path, headers):
    response = client.get(path, headers={**headers, "X-Request-ID": "lb-7f3a.92_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.92_x"


def test_a_request_without_an_id_gets_a_new_one_each_time(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/").headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("bad", ["x" * 129, "has space", "quote\"d", "semi;colon", "<b>",
                                 "abc\r\nSet-Cookie: session=stolen", "abc\n"])
def test_an_insane_request_id_is_replaced_not_echoed(client, bad):
    # Through the WSGI environ: a client library would refuse to send some of these.
    response = client.get("/", environ_overrides={"HTTP_X_REQUEST_ID": bad})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert "Set-Cookie" not in response.headers or "stolen" not in response.headers["Set-Cookie"]


def test_the_request_id_is_set_before_any_other_hook_runs(app):
    assert app.before_request_funcs[None][0] is logs._start_request


# -- the access line ----------------------------------------------------------------------
def test_one_access_line_per_request_with_the_route_rule_not_the_path(client, caplog):
    session = SessionFactory()
    caplog.set_level("INFO")
    client.get(f"/sessions/{session.id}", headers={"X-Request-ID": "req-one"})
    (line,) = access_records(caplog, "req-one")
    assert line.route == "/sessions/<int:session_id>"
    assert line.method == "GET" and line.status == 200
    assert line.duration_ms >= 0 and line.user_id is None
    assert str(session.id) not in line.getMessage()


def test_an_unmatched_path_is_logged_as_unmatched(client, caplog):
    caplog.set_level("INFO")
    client.get("/wp-admin/setup.php", headers={"X-Request-ID": "req-404"})
    (line,) = access_records(caplog, "req-404")
    assert line.route == "unmatched" and line.status == 404
    assert line.category == "not_found" and line.error_id is None


def test_the_access_line_names_the_signed_in_user(admin_client, admin_user, caplog):
    caplog.set_level("INFO")
    admin_client.get("/admin/", headers={"X-Request-ID": "req-admin"})
    (line,) = access_records(caplog, "req-admin")
    assert line.user_id == admin_user.id


# -- an internal error ----------------------------------------------------------------------
def error_record(caplog, error_id: str):
    (record,) = [r for r in caplog.records if r.name == "app.errors"
                 and getattr(r, "error_id", None) == error_id]
    return record


def test_an_internal_error_page_is_sanitised_and_its_reference_finds_the_traceback(
        client, caplog, broken_listing):
    caplog.set_level("INFO")
    before = errors_counted("internal", "error")
    response = client.get("/sessions", headers={"X-Request-ID": "req-boom"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert SECRET not in html and "RuntimeError" not in html and "Traceback" not in html
    reference = REFERENCE.search(html).group(1)

    record = error_record(caplog, reference)
    assert record.levelname == "ERROR"
    assert record.exc_info[0] is RuntimeError and str(record.exc_info[1]) == SECRET
    assert (record.category, record.severity) == ("internal", "error")
    assert record.request_id == "req-boom"
    (line,) = access_records(caplog, "req-boom")
    assert line.error_id == reference and line.status == 500
    assert errors_counted("internal", "error") == before + 1


def test_an_internal_api_error_has_an_id_that_matches_the_log(client, caplog, broken_listing):
    response = client.get("/api/v1/sessions")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "internal_error" and error["category"] == "internal"
    assert error["fields"] == {} and SECRET not in error["message"]
    assert re.fullmatch(r"[A-Z2-7]{10}", error["id"])
    record = error_record(caplog, error["id"])
    assert record.exc_info[0] is RuntimeError


def test_an_htmx_request_gets_the_reference_in_the_error_fragment(client, caplog, broken_listing):
    response = client.get("/sessions", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<html" not in html.lower() and SECRET not in html
    reference = REFERENCE.search(html).group(1)
    assert error_record(caplog, reference).exc_info is not None


def test_an_expected_error_has_no_reference_and_no_traceback(client, caplog):
    response = client.get("/api/v1/sessions/999999")
    error = response.get_json()["error"]
    assert response.status_code == 404
    assert error["id"] is None and error["category"] == "not_found"
    assert not [r for r in caplog.records if r.name == "app.errors"]


def test_a_bug_in_our_code_stays_a_500_without_retry_after(client, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    def race(*_args, **_kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(listing, "search_sessions", race)
    response = client.get("/api/v1/sessions")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.get_json()["error"]["code"] == "internal_error"


def test_a_database_outage_is_a_critical_503_to_retry_with_a_sentence_for_people(
        client, caplog, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(listing, "search_sessions", down)
    response = client.get("/api/v1/sessions")
    error = response.get_json()["error"]
    assert response.status_code == 503 and error["category"] == "database"
    assert response.headers["Retry-After"] == "30"
    assert error["code"] == "temporarily_unavailable"
    assert error["message"].startswith("We are having trouble reaching our records")
    assert "connection refused" not in error["message"]
    assert error_record(caplog, error["id"]).levelname == "CRITICAL"


# -- secrets in URLs ----------------------------------------------------------------------
SECRET_VARIABLES = re.compile(r"token|secret|signature|sig$|key|password|checkout_id")


def test_every_route_with_a_secret_in_its_path_is_redacted(app):
    """A new route with a token in its path must be added to SECRET_PATH_PREFIXES."""
    checked = 0
    for rule in app.url_map.iter_rules():
        secret_args = [a for a in rule.arguments if SECRET_VARIABLES.search(a)]
        if not secret_args:
            continue
        values = {a: (7 if _is_int(rule, a) else f"S3cr3t{a}{uuid.uuid4().hex[:6]}")
                  for a in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        redacted = logs.redact(url)
        for arg in secret_args:
            assert str(values[arg]) not in redacted, rule.rule
        checked += 1
    assert checked >= 2  # the password-reset page and the fake checkout page at least


def _is_int(rule, argument: str) -> bool:
    converter: BaseConverter = rule._converters[argument]
    return type(converter).__name__ in ("IntegerConverter", "FloatConverter")
