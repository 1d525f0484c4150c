"""HTMX on the server, written once: which requests want a fragment, answers that
say they depend on it, redirects that htmx and plain browsers both follow, and
pages that must never be cached.

An HTMX request is one htmx sent (`HX-Request: true`) that is not a history
restore: when its history cache misses, htmx asks for the whole page again with
`HX-History-Restore-Request: true`, and that request must get the whole page.
Every answer whose body or headers depend on this says `Vary: HX-Request`, so no
cache hands a fragment to a browser that asked for a page, or the other way round.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, make_response, redirect, render_template, request

HX_REQUEST = "HX-Request"
HX_HISTORY_RESTORE = "HX-History-Restore-Request"
HX_REDIRECT = "HX-Redirect"


def is_htmx() -> bool:
    """True when htmx asked for a fragment (not for a whole page after a history miss)."""
    return (request.headers.get(HX_REQUEST) == "true"
            and request.headers.get(HX_HISTORY_RESTORE) != "true")


def vary(response: Response) -> Response:
    """Mark `response` as depending on whether the request came from htmx."""
    response.vary.add(HX_REQUEST)
    return response


def render(template: str, status: int = 200, /, **context) -> Response:
    """`template` rendered, for a route whose answer depends on `is_htmx()`. The
    HTTP status is positional, so a template may have a `status` of its own."""
    return vary(make_response(render_template(template, **context), status))


def page_or_fragment(page: str, fragment: str, status: int = 200, /, **context) -> Response:
    """The whole page, or only the part an HTMX request asked for."""
    return render(fragment if is_htmx() else page, status, **context)


def hx_redirect(response: Response, url: str) -> Response:
    """Tell htmx to load `url` as a whole page instead of swapping `response` in."""
    response.headers[HX_REDIRECT] = url
    return vary(response)


def see_other(url: str) -> Response:
    """Redirect after a POST: a 303 for a plain form post; htmx, which would follow
    a 303 itself and swap the whole page into a fragment, is told to load it."""
    if is_htmx():
        return hx_redirect(make_response("", 204), url)
    return vary(redirect(url, code=303))


def no_store(response: Response, *, secret_url: bool = False) -> Response:
    """Never cache or index `response`: pages with personal data or CSRF tokens.
    With `secret_url` the address itself is a secret (a signed token): a Referer
    then carries only our origin, never the path (``strict-origin``). Not
    ``no-referrer``: Flask-WTF checks the Referer's origin on HTTPS form posts,
    and a page that sends none could not submit its own forms."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if secret_url:
        response.headers["Referrer-Policy"] = "strict-origin"
    return response


def keep_private(bp: Blueprint, *, secret_url: bool | Callable[[], bool] = False) -> None:
    """`no_store` every answer of `bp`; `secret_url` may be a function of the request."""
    @bp.after_request
    def _no_store(response: Response) -> Response:
        return no_store(response,
                        secret_url=secret_url() if callable(secret_url) else secret_url)
