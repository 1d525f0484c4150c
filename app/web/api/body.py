"""The one place the API reads a JSON request body.

    json_object() -> dict

Answers, as the API's error object: 415 `unsupported_media_type` unless the
Content-Type is JSON (application/json or application/<something>+json; a
cross-site form cannot send that without a CORS preflight); 422
`validation_error`, as for any other bad input, with `fields.body` saying why,
for a body that is not strict JSON (app.validation.json_text: invalid UTF-8,
NaN/Infinity, numbers too large, nesting too deep, bad syntax) or is JSON but
not an object; and 413 (app.web.limits) for a body over API_MAX_BODY_BYTES,
raised while it is read.
"""
from __future__ import annotations

from flask import request

from app.services.core.errors import DomainError, InvalidInput
from app.validation.json_text import UnreadableJSON, loads


class UnsupportedMediaType(DomainError):
    category, severity = "validation", "info"
    code = "unsupported_media_type"
    status = 415
    message = "Send the body as JSON with Content-Type: application/json."


def json_object() -> dict:
    """The request's body as a JSON object, or the error that says what is wrong with it."""
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        body = loads(request.get_data(cache=True))
    except UnreadableJSON as exc:
        raise InvalidInput("The request body is not valid JSON.",
                           fields={"body": str(exc)}) from None
    if not isinstance(body, dict):
        raise InvalidInput("Send the body as a JSON object.",
                           fields={"body": "The body must be a JSON object ({...})."})
    return body
