"""What no request may carry, refused at the edge before any code reads it.

* Bodies read as JSON anywhere (the API, and Flask-WTF, which reads a JSON body
  as form data) go through the strict parser (app.validation.json_text): deep
  nesting, NaN and 5000-digit numbers are a 400, never a RecursionError.
* No text we keep may contain a NUL byte (PostgreSQL refuses one, which would
  otherwise surface as a database error deep inside a service): a path with one
  names nothing (404), a form field with one is a 400. Query values are checked
  by each filter's own validation, which names the field (422 in the API).
"""
from __future__ import annotations

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

from app.validation import json_text

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with the strict parser (UnreadableJSON is a ValueError,
    which `request.get_json` answers with 400)."""

    def loads(self, s, **kwargs):
        return json_text.loads(s)


def _has_nul(values) -> bool:
    return any(NUL in value for value in values)


def refuse_nul_bytes() -> None:
    if NUL in request.path:
        abort(404)
    if request.mimetype in FORM_TYPES and (
            _has_nul(request.form.keys()) or _has_nul(request.form.values())):
        abort(400, description="A field contains a character we cannot accept.")


def init_app(app: Flask) -> None:
    """Right after the body limit (app.web.limits), so a form is read only once its
    size is known, and before the CSRF check and the views read it."""
    from app.web.limits import _apply_body_limit

    app.json = StrictJSONProvider(app)
    hooks = app.before_request_funcs.setdefault(None, [])
    position = hooks.index(_apply_body_limit) + 1 if _apply_body_limit in hooks else 0
    hooks.insert(position, refuse_nul_bytes)
