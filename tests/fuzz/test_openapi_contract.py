"""The OpenAPI document of /api/v1 matches the code, and the API keeps to it under fuzzing.

The route check reads `app.url_map`, so a new /api/v1 route without a path in
the document (or a documented path with no route) fails at once. schemathesis
then generates valid and invalid requests from the document and sends them to
the app in-process (WSGI): no answer may be a 5xx, or a status, body or header
the document does not list. The runs are bounded and derandomized (the same
examples every run) so CI stays fast and stable.
"""
from __future__ import annotations

import re

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.web.api.openapi import openapi_document

from factories import BookingFactory, SessionFactory

PREFIX = "/api/v1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def api_rules(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every URL rule under /api/v1."""
    return {(_CONVERTER.sub(r"{\1}", rule.rule[len(PREFIX):]), method.lower())
            for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item
            if method in {"get", "put", "post", "delete", "patch"}}


def _routes_only_app():
    return create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "routes-only",
                       "SQLALCHEMY_DATABASE_URI": "sqlite://", "PAYMENT_PROVIDER": "fake",
                       "SEED_DEMO": False, "MAIL_BACKEND": "locmem",
                       "RUN_WORKER_IN_PROCESS": False, "RATELIMIT_ENABLED": False})


def test_every_api_route_is_documented_and_every_documented_operation_is_a_route():
    document = openapi_document()
    assert document["servers"] == [{"url": PREFIX}]
    routes = api_rules(_routes_only_app())
    documented = documented_operations(document)
    assert routes - documented == set(), "routes missing from app/web/api/openapi.py"
    assert documented - routes == set(), "documented operations with no route"


def test_every_operation_documents_the_error_object_for_its_failures():
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert {"429", "500", "503"} <= set(operation["responses"]), (method, path)


def test_the_document_is_served_as_openapi_3_1_and_loads_in_schemathesis(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    served = response.get_json()
    assert served == openapi_document()
    assert served["openapi"].startswith("3.1.")
    schema = schemathesis.openapi.from_dict(served)
    schema.validate()  # raises on a document that breaks the OpenAPI 3.1 meta-schema
    assert {op.ok().label for op in schema.get_all_operations()} >= {
        "POST /bookings", "GET /bookings/{reference}", "POST /bookings/{reference}/cancel",
        "GET /sessions", "GET /sessions/{session_id}", "GET /courses"}


def test_the_create_booking_links_lead_to_show_and_cancel_with_the_new_token(client):
    """The stateful run follows these links; they must resolve against a real answer."""
    session = SessionFactory(capacity=4)
    created = client.post("/api/v1/bookings", json={
        "session_id": session.id,
        "contact": {"name": "Priya Shah", "email": "priya@example.com",
                    "phone": "07700 900123", "postcode": "LS1 4AP"},
        "attendees": [{"name": "Sam Jones"}], "accept_terms": True})
    assert created.status_code == 201
    links = openapi_document()["paths"]["/bookings"]["post"]["responses"]["201"]["links"]
    pattern = links["ShowBooking"]["parameters"]["token"].split("#regex:", 1)[1]
    token = re.search(pattern, created.headers["Location"]).group(1)
    reference = created.get_json()["reference"]
    assert client.get(f"/api/v1/bookings/{reference}",
                      query_string={"token": token}).status_code == 200
    assert client.post(f"/api/v1/bookings/{reference}/cancel",
                       query_string={"token": token}).get_json()["status"] == "cancelled"


# -- schemathesis ----------------------------------------------------------------------
# The document is loaded once, from the code; each test sends the cases to its own app
# (and database) in-process.
SCHEMA = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def api_session_ids(app) -> list[int]:
    """Sessions to find and book, one of a single seat to sell out."""
    return [SessionFactory(capacity=capacity).id for capacity in (1, 3, 12)]


@pytest.fixture
def api_data(app, api_session_ids):
    """The sessions and a booking, in the app the cases are sent to."""
    BookingFactory()
    return app


@SCHEMA.parametrize()
@hypothesis.settings(max_examples=25, **SETTINGS)
def test_api_answers_every_generated_request_as_documented_and_never_with_a_5xx(case, api_data):
    case.call_and_validate(app=api_data, checks=CHECKS)


_VALID_CONTACT = {"name": "Priya Shah", "email": "priya@example.com",
                  "phone": "07700 900123", "postcode": "LS1 4AP"}


def _sometimes_a_valid_booking(session_ids: list[int]):
    """A body hook: half the bodies keep what was generated, half are a real booking.

    The schema cannot say what a valid UK phone number or postcode is, so bodies
    generated from it are nearly always refused (422). Without real holds the links
    to show and cancel would be followed only by chance of the generation order.
    """
    def flatmap_body(context, body):
        if context.operation is None or context.operation.label != "POST /bookings":
            return st.just(body)
        valid = st.builds(
            lambda session_id, names: {
                "session_id": session_id, "contact": dict(_VALID_CONTACT),
                "attendees": [{"name": name} for name in names], "accept_terms": True},
            st.sampled_from(session_ids),
            st.lists(st.sampled_from(["Ana Lopes", "Tom Reed", "Joy Okafor"]),
                     min_size=1, max_size=3))
        return st.one_of(st.just(body), valid)
    return flatmap_body


def test_stateful_create_show_cancel_keeps_to_the_document(api_data, api_session_ids):
    """Hold seats, then follow the document's links to read and cancel the hold."""
    statuses: dict[str, list[int]] = {}
    schema = schemathesis.openapi.from_dict(openapi_document())
    schema.hook("flatmap_body")(_sometimes_a_valid_booking(api_session_ids))

    class Bookings(schema.as_state_machine()):
        def call(self, case, **kwargs):
            return case.call(app=api_data, **kwargs)

        def after_call(self, response, case):
            statuses.setdefault(case.operation.label, []).append(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Bookings.run(settings=hypothesis.settings(
        max_examples=20, stateful_step_count=6, **SETTINGS))
    # The links were followed from real holds, not only guessed at.
    assert 201 in statuses.get("POST /bookings", []), statuses
    assert 200 in statuses.get("GET /bookings/{reference}", []) + statuses.get(
        "POST /bookings/{reference}/cancel", []), statuses
