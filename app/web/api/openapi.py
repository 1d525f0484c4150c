"""The OpenAPI 3.1 document of /api/v1, written by hand and served at /api/v1/openapi.json.

Written rather than generated so the contract is read and reviewed as a contract;
tests/fuzz/test_openapi_contract.py keeps it honest (every URL rule under /api/v1
is a path here with the same methods, and the reverse), and the schemathesis run
there checks the live answers against these schemas.
"""
from __future__ import annotations

import copy

from flask import jsonify

from app.services.bookings.idempotency import MAX_KEY_LENGTH
from app.validation.fields import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from app.validation.filters import MAX_PAGE, SESSION_SEARCH_PARAMS
from app.web.api import bp

JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: dict | None = None) -> dict:
    return _json(_ref("Error"), description, headers)


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "string"}}}

# Statuses any operation can answer, whatever its input.
_COMMON_ERRORS = {
    "400": _error("The request cannot be read (`bad_request`)."),
    "429": _error("Too many requests from this client (`rate_limited` or a hold limit); "
                  "wait for `Retry-After`.", _RETRY_AFTER),
    "500": _error("A fault of ours (`internal_error`); `error.id` is the reference under "
                  "which it was logged."),
    "503": _error("An outage that passes (`temporarily_unavailable`, `payment_unavailable`): "
                  "the database or a provider is unreachable; retry after `Retry-After`.",
                  _RETRY_AFTER),
}
_BAD_BODY = {
    "413": _error("The body is larger than the API accepts (`request_entity_too_large`)."),
    "415": _error("The body is not JSON (`unsupported_media_type`)."),
}


def _responses(ok: dict, errors: dict | None = None) -> dict:
    return {**ok, **(errors or {}), **_COMMON_ERRORS}


_REFERENCE = {"name": "reference", "in": "path", "required": True,
              "description": "The booking reference, as in `manage_url`.",
              "schema": {"type": "string", "minLength": 1, "maxLength": 64}}
_TOKEN = {"name": "token", "in": "query", "required": True,
          "description": "The manage token carried by `manage_url`; a wrong or missing token and "
                         "an unknown reference are both 403 `invalid_token`.",
          "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Any 1 to 255 printable characters chosen by the client. The same key with "
                   "the same body answers the first answer again (with `Idempotent-Replayed: "
                   "true`) and holds nothing more; the same key with another body is 422 "
                   "`idempotency_key_reused`. Keys are kept for 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"},
}
_SEARCH_PARAMS = {
    "course": ("Course slug; an unknown slug matches nothing.", {"type": "string", "maxLength": 80}),
    "town": ("Venue town; an unknown town matches nothing.", {"type": "string", "maxLength": 80}),
    "month": ("YYYY-MM (London).", {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"}),
    "from": ("First day, YYYY-MM-DD (London), inclusive.", {"type": "string", "format": "date"}),
    "to": ("Last day, YYYY-MM-DD (London), inclusive; not before `from`.",
           {"type": "string", "format": "date"}),
    "page": ("Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                      "default": 1}),
    "per_page": ("Items per page.", {"type": "integer", "minimum": 1, "maximum": 100,
                                     "default": 20}),
}
assert tuple(_SEARCH_PARAMS) == SESSION_SEARCH_PARAMS, "document every search parameter"

_NAME = {"type": "string", "minLength": 2, "maxLength": NAME_MAX_LENGTH}
_EMAIL = {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH}
_NULLABLE_STRING = {"type": ["string", "null"]}
_TIMESTAMP = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine code, e.g. "
                         "`validation_error`, `not_found`, `sold_out`, `insufficient_seats`, "
                         "`invalid_token`, `idempotency_key_reused`, `rate_limited`."},
                "message": {"type": "string", "description": "A sentence fit to show people."},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Per-field messages keyed by dotted path "
                                          "(`contact.email`, `attendees.0.name`)."},
                "id": {"type": ["string", "null"], "description": "The reference under which "
                       "an error or critical failure was logged; null for client errors."},
                "category": {"type": "string", "description": "Where the failure sits in the "
                             "error taxonomy: validation, not_found, conflict, permission, "
                             "rate_limit, database, external_service, payment, internal, ..."},
            },
        }},
    },
    "CourseRef": {"type": "object", "required": ["slug", "title"],
                  "properties": {"slug": {"type": "string"}, "title": {"type": "string"}}},
    "Course": {
        "type": "object",
        "required": ["slug", "title", "category", "summary", "duration_days", "duration_hours",
                     "price_pence", "certificate_validity_months", "url", "requalifies"],
        "properties": {
            "slug": {"type": "string"}, "title": {"type": "string"},
            "category": {"type": "string"}, "summary": {"type": "string"},
            "duration_days": {"type": "integer"}, "duration_hours": {"type": "integer"},
            "price_pence": {"type": "integer", "minimum": 0},
            "certificate_validity_months": {"type": "integer"},
            "url": {"type": "string", "format": "uri"},
            "requalifies": {
                "anyOf": [_ref("CourseRef"), {"type": "null"}],
                "description": "For a requalification course, the full course whose "
                               "certificate it renews (booking it asks for each attendee's "
                               "current certificate expiry date); null for any other course.",
            },
        },
    },
    "CourseList": {"type": "object", "required": ["items"],
                   "properties": {"items": {"type": "array", "items": _ref("Course")}}},
    "Session": {
        "type": "object",
        "required": ["id", "url", "course", "starts_at", "ends_at", "venue", "capacity",
                     "seats_available", "price_pence", "status", "bookable"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string", "format": "uri"},
            "course": _ref("CourseRef"),
            "starts_at": _TIMESTAMP, "ends_at": _TIMESTAMP,
            "venue": {"type": "object", "required": ["name", "town", "postcode", "address"],
                      "properties": {"name": {"type": "string"}, "town": {"type": "string"},
                                     "postcode": {"type": "string"},
                                     "address": {"type": "string"}}},
            "capacity": {"type": "integer", "minimum": 1},
            "seats_available": {"type": "integer", "minimum": 0},
            "price_pence": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["scheduled", "cancelled", "completed"]},
            "bookable": {"type": "boolean"},
        },
    },
    "SessionPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": _ref("Session")},
                       "page": {"type": "integer", "minimum": 1},
                       "per_page": {"type": "integer", "minimum": 1},
                       "total": {"type": "integer", "minimum": 0}},
    },
    "ContactInput": {
        "type": "object",
        "required": ["name", "email", "phone", "postcode"],
        "properties": {
            "name": _NAME, "email": _EMAIL,
            "phone": {"type": "string", "maxLength": 30, "description": "A UK number.",
                      "examples": ["07700 900123"]},
            "postcode": {"type": "string", "maxLength": 16, "description": "A UK postcode.",
                         "examples": ["LS1 4AP"]},
            "company": {"type": ["string", "null"], "maxLength": 120},
        },
    },
    "AttendeeInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": _NAME,
            "email": {"anyOf": [_EMAIL, {"type": "string", "maxLength": 0}, {"type": "null"}]},
            "access_needs": {"type": ["string", "null"], "maxLength": 500},
            "certificate_expires_on": {
                "type": ["string", "null"], "format": "date",
                "description": "Needed on a requalification course (FAW or EFAW "
                               "requalification, category `Requalification`): when the "
                               "attendee's current certificate "
                               "expires. One that expired more than REQUAL_GRACE_DAYS (28) "
                               "days before the course starts (UK dates) is a 422 on "
                               "`attendees.N.certificate_expires_on` whose message links the "
                               "full course. Ignored on other courses."},
        },
    },
    "BookingRequest": {
        "type": "object",
        "required": ["session_id", "contact", "attendees", "accept_terms"],
        "description": "One attendee per seat. Unknown keys are ignored.",
        "properties": {
            "session_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "contact": _ref("ContactInput"),
            "attendees": {"type": "array", "minItems": 1, "maxItems": 12,
                          "description": "1 to MAX_SEATS_PER_BOOKING (12 by default).",
                          "items": _ref("AttendeeInput")},
            "discount_code": {
                "type": ["string", "null"], "maxLength": 32,
                "description": "A discount code (any letter case). An unknown, expired, "
                               "used-up or wrong-course code is a 422 on `discount_code`. "
                               "Only one discount applies: the code's or the group "
                               "discount, whichever is larger."},
            "payment_method": {
                "type": "string", "enum": ["card", "invoice"], "default": "card",
                "description": "`invoice`: the company is invoiced and the booking is "
                               "confirmed at once with payment due (needs `billing`; 422 on "
                               "`payment_method` when paying by invoice is switched off or "
                               "the booking has fewer than MIN_SEATS_FOR_INVOICE seats)."},
            "purchase_order": {"type": ["string", "null"], "maxLength": 64,
                               "description": "The company's purchase-order number, printed "
                                              "on the invoice (invoice only)."},
            "billing": _ref("BillingInput"),
            "accept_terms": {
                "type": "boolean", "const": True,
                "description": "The customer agrees to the terms of booking and the "
                               "cancellation policy (/terms, /cancellation-policy); "
                               "missing or false is a 422 on `accept_terms`."},
        },
    },
    "WaitlistJoin": {
        "type": "object",
        "required": ["name", "email", "seats"],
        "description": "Who is waiting and for how many seats. Unknown keys are ignored.",
        "properties": {
            "name": _NAME,
            "email": _EMAIL,
            "seats": {"type": "integer", "minimum": 1, "maximum": 12,
                      "description": "1 to MAX_SEATS_PER_BOOKING (12 by default)."},
        },
    },
    "WaitlistPlace": {
        "type": "object",
        "required": ["position", "seats", "leave_url"],
        "properties": {
            "position": {"type": "integer", "minimum": 1,
                         "description": "Place in line among the people still waiting."},
            "seats": {"type": "integer", "minimum": 1},
            "leave_url": {"type": "string", "format": "uri",
                          "description": "Signed link that takes this entry off the list."},
        },
    },
    "BillingInput": {
        "type": "object",
        "required": ["company", "name", "email", "address"],
        "description": "Who the invoice is for (required with `payment_method: invoice`, "
                       "ignored otherwise).",
        "properties": {
            "company": {"type": "string", "minLength": 1, "maxLength": 120},
            "name": _NAME,
            "email": _EMAIL,
            "address": {"type": "string", "minLength": 1, "maxLength": 500},
        },
    },
    "Payment": {
        "type": "object",
        "required": ["method", "status", "invoice_number", "due_date"],
        "properties": {
            "method": {"type": "string", "enum": ["card", "invoice"]},
            "status": {"type": "string", "enum": ["due", "paid", "overdue", "refunded"],
                       "description": "`overdue`: an unpaid invoice past its due date (UK)."},
            "invoice_number": _NULLABLE_STRING,
            "due_date": {"type": ["string", "null"], "format": "date"},
        },
    },
    "Hold": {
        "type": "object",
        "required": ["reference", "status", "seats", "amount_pence", "discount_pence",
                     "hold_expires_at", "manage_url", "payment_url", "payment"],
        "properties": {
            "reference": {"type": "string"},
            "status": {"type": "string", "enum": ["held", "confirmed"],
                       "description": "`confirmed` (with payment due) when paid by invoice."},
            "seats": {"type": "integer", "minimum": 1},
            "amount_pence": {"type": "integer", "minimum": 0,
                             "description": "What is to be paid, after `discount_pence`, "
                                            "VAT included."},
            "discount_pence": {"type": "integer", "minimum": 0},
            "hold_expires_at": {"type": ["string", "null"], "format": "date-time",
                                "description": "None for a booking paid by invoice."},
            "manage_url": {"type": "string", "format": "uri"},
            "payment_url": {"type": "string", "format": "uri"},
            "payment": _ref("Payment"),
        },
    },
    "Booking": {
        "type": "object",
        "required": ["reference", "status", "seats", "amount_pence", "discount_pence",
                     "refund_due_pence", "hold_expires_at", "session", "contact", "attendees", "manage_url",
                     "payment_url", "payment"],
        "properties": {
            "reference": {"type": "string"},
            "status": {"type": "string",
                       "enum": ["held", "confirmed", "cancelled", "refunded", "expired"]},
            "seats": {"type": "integer", "minimum": 1},
            "amount_pence": {"type": "integer", "minimum": 0},
            "discount_pence": {"type": "integer", "minimum": 0},
            "refund_due_pence": {"type": "integer", "minimum": 0},
            "hold_expires_at": {"type": ["string", "null"], "format": "date-time"},
            "session": {
                "type": "object",
                "required": ["id", "course", "starts_at", "ends_at", "venue", "url"],
                "properties": {
                    "id": {"type": "integer"}, "course": _ref("CourseRef"),
                    "starts_at": _TIMESTAMP, "ends_at": _TIMESTAMP,
                    "venue": {"type": "object", "required": ["name", "town", "postcode"],
                              "properties": {"name": {"type": "string"},
                                             "town": {"type": "string"},
                                             "postcode": {"type": "string"}}},
                    "url": {"type": "string", "format": "uri"},
                },
            },
            "contact": {"type": "object",
                        "required": ["name", "email", "phone", "postcode", "company"],
                        "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                                       "phone": {"type": "string"},
                                       "postcode": {"type": "string"},
                                       "company": _NULLABLE_STRING}},
            "attendees": {"type": "array", "items": {
                "type": "object", "required": ["name", "email"],
                "properties": {"name": {"type": "string"}, "email": _NULLABLE_STRING}}},
            "manage_url": {"type": "string", "format": "uri"},
            "payment_url": {"type": "string", "format": "uri"},
            "payment": _ref("Payment"),
        },
    },
}

_TOKEN_FROM_LOCATION = "$response.header.Location#regex:[?&]token=([^&]+)"
_HOLD_LINKS = {
    "ShowBooking": {
        "operationId": "showBooking",
        "parameters": {"reference": "$response.body#/reference", "token": _TOKEN_FROM_LOCATION},
        "description": "The new hold, read back with the token from its manage URL.",
    },
    "CancelBooking": {
        "operationId": "cancelBooking",
        "parameters": {"reference": "$response.body#/reference", "token": _TOKEN_FROM_LOCATION},
        "description": "Cancel the new hold (the seats go back at once).",
    },
}
_BOOK_THIS_SESSION = {"BookThisSession": {
    "operationId": "createBooking",
    "description": "Hold one seat on this session (an example booking).",
    "requestBody": {
        "session_id": "$response.body#/id",
        "contact": {"name": "Priya Shah", "email": "priya@example.com",
                    "phone": "07700 900123", "postcode": "LS1 4AP", "company": None},
        "attendees": [{"name": "Sam Jones", "email": None}],
        "accept_terms": True,
    },
    # For schemathesis' stateful run: send this body as it is (not merged into a generated one).
    "x-schemathesis": {"merge_body": False},
}}
_OPEN_FIRST_SESSION = {"OpenFirstSession": {
    "operationId": "getSession",
    "parameters": {"session_id": "$response.body#/items/0/id"},
    "description": "The first session on this page.",
}}
_CACHE_CONTROL = {"Cache-Control": {"description": "`public, max-age=30`: seat counts may be "
                                                   "up to 30 seconds old.",
                                    "schema": {"type": "string"}}}

SPEC: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "First-aid training bookings API",
        "version": "1",
        "description": "The catalogue (courses and sessions) and bookings for the marketing "
                       "site and integrations. Every error is the `Error` object with the "
                       "status it stands for; bad input is a 4xx, never a 500. Every response "
                       "carries `X-Request-ID`.",
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "summary": "This document.",
            "responses": _responses({"200": _json({"type": "object"}, "The OpenAPI document.")}),
        }},
        "/courses": {"get": {
            "operationId": "listCourses", "summary": "Active courses (takes no parameters).",
            "responses": _responses({"200": _json(_ref("CourseList"), "The courses.",
                                                  _CACHE_CONTROL)}),
        }},
        "/sessions": {"get": {
            "operationId": "searchSessions",
            "summary": "Upcoming scheduled sessions, filtered and paged.",
            "description": "A bad value, an unknown parameter or a repeated one is 422 whose "
                           "`fields` name each one. A page past the last is 200 with no items.",
            "parameters": [{"name": name, "in": "query", "required": False,
                            "description": text, "schema": schema}
                           for name, (text, schema) in _SEARCH_PARAMS.items()],
            "responses": _responses(
                {"200": {**_json(_ref("SessionPage"), "One page of sessions.", _CACHE_CONTROL),
                         "links": _OPEN_FIRST_SESSION}},
                {"422": _error("A bad, unknown or repeated parameter (`validation_error`).")}),
        }},
        "/sessions/{session_id}": {"get": {
            "operationId": "getSession", "summary": "One session with its live seat count.",
            "parameters": [_SESSION_ID],
            "responses": _responses(
                {"200": {**_json(_ref("Session"), "The session.", _CACHE_CONTROL),
                         "links": _BOOK_THIS_SESSION}},
                {"404": _error("No such session (`not_found`).")}),
        }},
        "/sessions/{session_id}/waitlist": {"post": {
            "operationId": "joinWaitlist",
            "summary": "Join a session's waiting list: when seats come free they are held for "
                       "the first entries that fit, who are emailed a link to book them.",
            "parameters": [_SESSION_ID],
            "requestBody": {"required": True,
                            "content": {JSON: {"schema": _ref("WaitlistJoin")}}},
            "responses": _responses(
                {"201": _json(_ref("WaitlistPlace"), "On the list."),
                 "200": _json(_ref("WaitlistPlace"), "This email was on the list already: "
                                                     "its entry, unchanged.")},
                {**_BAD_BODY,
                 "404": _error("No such session (`not_found`), or the public waiting list "
                               "is switched off (`waitlist_disabled`)."),
                 "409": _error("The seats wanted are free now: book them instead "
                               "(`seats_available`); or the session is not taking bookings "
                               "(`session_not_bookable`)."),
                 "422": _error("Bad input, with a message per field (`validation_error`).")}),
        }},
        "/bookings": {"post": {
            "operationId": "createBooking",
            "summary": "Hold seats: one attendee per seat, held until `hold_expires_at`.",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True,
                            "content": {JSON: {"schema": _ref("BookingRequest")}}},
            "responses": _responses(
                {"201": {**_json(_ref("Hold"), "The seats are held; pay at `payment_url`.", {
                    "Location": {"description": "The manage URL (with its token).",
                                 "schema": {"type": "string"}},
                    "Idempotent-Replayed": {"description": "`true` when this is the stored "
                                                          "answer to an earlier request with "
                                                          "the same Idempotency-Key.",
                                            "schema": {"type": "string", "const": "true"}},
                }), "links": _HOLD_LINKS}},
                {**_BAD_BODY,
                 "404": _error("No such session (`not_found`)."),
                   "409": _error("Not enough seats (`sold_out`, `insufficient_seats`) or the "
                                 "session cannot be booked (`session_not_bookable`)."),
                   "422": _error("Bad input, with a message per field (`validation_error`; "
                                 "on a requalification course a missing or too long expired "
                                 "certificate is `attendees.N.certificate_expires_on`), "
                                 "or an Idempotency-Key reused with another body "
                                 "(`idempotency_key_reused`).")}),
        }},
        "/bookings/{reference}": {"get": {
            "operationId": "showBooking", "summary": "A booking, for the holder of its token.",
            "parameters": [_REFERENCE, _TOKEN],
            "responses": _responses(
                {"200": _json(_ref("Booking"), "The booking.")},
                {"403": _error("Wrong or missing token, or no such booking "
                                 "(`invalid_token`)."),
                 "404": _error("A reference no booking could have, e.g. one with a `/` "
                               "(`not_found`).")}),
        }},
        "/bookings/{reference}/cancel": {"post": {
            "operationId": "cancelBooking",
            "summary": "Cancel a booking; a paid one is refunded as the policy allows.",
            "parameters": [_REFERENCE, _TOKEN],
            "responses": _responses(
                {"200": _json(_ref("Booking"), "The cancelled booking.")},
                {"403": _error("Wrong or missing token, or no such booking "
                                 "(`invalid_token`)."),
                 "404": _error("A reference no booking could have, e.g. one with a `/` "
                               "(`not_found`)."),
                   "409": _error("The booking cannot be cancelled now (`invalid_state`).")}),
        }},
    },
    "components": {"schemas": SCHEMAS},
}


def openapi_document() -> dict:
    """A copy of the document (callers may not change the served one)."""
    return copy.deepcopy(SPEC)


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(SPEC)
