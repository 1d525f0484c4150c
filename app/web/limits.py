"""Request body limits per route class, enforced while the body is read.

| class    | routes                        | setting                   | default  |
|----------|-------------------------------|---------------------------|----------|
| api      | /api/v1/*                     | API_MAX_BODY_BYTES        | 256 KiB  |
| webhook  | /webhooks/*                   | WEBHOOK_MAX_BODY_BYTES    | 512 KiB  |
| staff    | /admin/*, /trainer/*          | STAFF_FORM_MAX_BODY_BYTES | 1 MiB    |
| form     | everything else               | FORM_MAX_BODY_BYTES       | 256 KiB  |

The limit is werkzeug's `request.max_content_length`, set for each request
before any other hook can touch the body. A Content-Length over it is refused
at once, before a byte is read. A chunked body (no Content-Length) is read here,
through werkzeug's stream that stops at the limit, and refused if it reaches
it: werkzeug alone would stop reading there and hand the first `limit` bytes on
as if they were the whole body (a truncated form or event), so this is where
"too large" is decided, after reading at most `limit` bytes, never 24 MB. The
bytes read are kept (`request.get_data(cache=True)`) for the form parser or
view. The 413 is answered by app.web.errors: the JSON error object under /api
and /webhooks, the error page elsewhere.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

# Blueprint name -> the config key of its limit; any other blueprint is a "form".
LIMIT_SETTINGS = {
    "api": "API_MAX_BODY_BYTES",
    "webhooks": "WEBHOOK_MAX_BODY_BYTES",
    "admin": "STAFF_FORM_MAX_BODY_BYTES",
    "trainer": "STAFF_FORM_MAX_BODY_BYTES",
}
DEFAULT_SETTING = "FORM_MAX_BODY_BYTES"


def setting_for(blueprint: str | None) -> str:
    """The config key holding the body limit of a route in `blueprint`."""
    top = (blueprint or "").split(".")[0]
    return LIMIT_SETTINGS.get(top, DEFAULT_SETTING)


def _apply_body_limit() -> None:
    limit = current_app.config[setting_for(request.blueprint)]
    request.max_content_length = limit
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge()
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        if len(request.get_data(cache=True, parse_form_data=False)) >= limit:
            raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    """Run after the monitoring hooks (request id, clock: they never read the body, and
    a 413 is then logged and counted like any answer) and before every other: the CSRF
    check reads the form."""
    hooks = app.before_request_funcs.setdefault(None, [])
    position = next((i for i, hook in enumerate(hooks)
                     if not hook.__module__.startswith("app.monitoring")), len(hooks))
    hooks.insert(position, _apply_body_limit)
