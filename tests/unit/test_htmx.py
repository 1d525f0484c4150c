"""The HTMX helpers every web module uses: one meaning of "an HTMX request",
answers that vary on it, redirects htmx and browsers both follow, and no-store."""
from __future__ import annotations

import pytest
from flask import Blueprint, Flask, request
from jinja2 import DictLoader

from app.web import htmx

HTMX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.fixture
def web():
    app = Flask(__name__)
    app.jinja_loader = DictLoader({
        "page.html": "<html>page {{ status }}</html>",
        "fragment.html": "fragment {{ status }}",
    })
    private = Blueprint("private", __name__)
    htmx.keep_private(private, secret_url=lambda: "token" in request.args)

    @private.get("/private")
    def private_page():
        return "private"

    app.register_blueprint(private)

    @app.get("/public")
    def public_page():
        return "public"

    return app


@pytest.mark.parametrize("headers, expected", [
    ({}, False),
    (HTMX, True),
    ({"HX-Request": "false"}, False),
    ({"HX-Request": "1"}, False),
    (RESTORE, False),
    ({"HX-History-Restore-Request": "true"}, False),
])
def test_an_htmx_request_is_one_htmx_sent_that_is_not_a_history_restore(web, headers, expected):
    with web.test_request_context(headers=headers):
        assert htmx.is_htmx() is expected


@pytest.mark.parametrize("headers, body", [({}, "<html>page 7</html>"),
                                            (HTMX, "fragment 7"),
                                            (RESTORE, "<html>page 7</html>")])
def test_page_or_fragment_gives_htmx_the_fragment_and_always_varies(web, headers, body):
    with web.test_request_context(headers=headers):
        response = htmx.page_or_fragment("page.html", "fragment.html", 404, status=7)
    assert response.status_code == 404
    assert response.get_data(as_text=True) == body
    assert "HX-Request" in response.vary


def test_see_other_is_a_303_for_a_form_post_and_an_hx_redirect_for_htmx(web):
    with web.test_request_context(method="POST"):
        plain = htmx.see_other("/next")
    with web.test_request_context(method="POST", headers=HTMX):
        fragment = htmx.see_other("/next")
    with web.test_request_context(method="POST", headers=RESTORE):
        restore = htmx.see_other("/next")
    assert plain.status_code == 303 and plain.headers["Location"] == "/next"
    assert "HX-Redirect" not in plain.headers
    assert fragment.status_code == 204 and fragment.headers["HX-Redirect"] == "/next"
    assert "Location" not in fragment.headers
    assert restore.status_code == 303
    for response in (plain, fragment, restore):
        assert "HX-Request" in response.vary


def test_hx_redirect_keeps_the_body_and_varies(web):
    with web.test_request_context(headers=HTMX):
        response = htmx.hx_redirect(web.make_response(("done", 200)), "/confirmation")
    assert response.get_data(as_text=True) == "done"
    assert response.headers["HX-Redirect"] == "/confirmation"
    assert "HX-Request" in response.vary


def test_no_store_never_caches_or_indexes_and_hides_a_secret_url_from_referers(web):
    with web.test_request_context():
        private = htmx.no_store(web.make_response("x"))
        secret = htmx.no_store(web.make_response("x"), secret_url=True)
    assert private.headers["Cache-Control"] == "no-store"
    assert private.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Referrer-Policy" not in private.headers
    assert secret.headers["Cache-Control"] == "no-store"
    assert secret.headers["Referrer-Policy"] == "strict-origin"


def test_keep_private_covers_the_blueprint_only_and_asks_whether_the_url_is_secret(web):
    client = web.test_client()
    page = client.get("/private")
    with_token = client.get("/private?token=abc")
    public = client.get("/public")
    assert page.headers["Cache-Control"] == "no-store" and "Referrer-Policy" not in page.headers
    assert with_token.headers["Cache-Control"] == "no-store"
    assert with_token.headers["Referrer-Policy"] == "strict-origin"
    assert "Cache-Control" not in public.headers and "X-Robots-Tag" not in public.headers
