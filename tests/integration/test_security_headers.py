"""Security headers on every response (pages, HTMX fragments, the API, errors,
static files), and pages a Content Security Policy without inline script allows."""
from html.parser import HTMLParser

import pytest

from app import create_app
from app.models import utcnow
from app.web.signed_links import signed_path
from app_setup import make_test_config
from factories import AttendeeFactory, BookingFactory, SessionFactory

COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_secured(response):
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name
    csp = directives(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Referrer-Policy"] in {"strict-origin",
                                                   "strict-origin-when-cross-origin"}


@pytest.mark.parametrize("path, headers, status", [
    ("/", {}, 200),
    ("/sessions", {"HX-Request": "true"}, 200),
    ("/api/v1/courses", {}, 200),
    ("/api/v1/sessions/999999", {}, 404),
    ("/no/such/page", {}, 404),
    ("/static/js/forms.js", {}, 200),
    ("/health/live", {}, 200),
])
def test_every_kind_of_response_carries_the_security_headers(client, path, headers, status):
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert_secured(response)


def test_a_refused_form_post_and_a_bad_token_carry_them_too(client):
    booking = BookingFactory()
    assert_secured(client.get(f"/bookings/{booking.reference}?token=forged"))
    assert_secured(client.post("/login", data={}))


def test_websockets_may_connect_to_the_sites_own_origin(client, app):
    csp = directives(client.get("/"))
    assert "ws://localhost" in csp["connect-src"]
    assert "'self'" in csp["connect-src"]


def test_secret_pages_keep_strict_origin_and_others_send_origin_only_cross_site(client, app):
    booking = BookingFactory(hold_expires_at=None, confirmed_at=utcnow())
    AttendeeFactory(booking=booking)
    with app.test_request_context():
        path = signed_path("booking.manage", booking.reference)
    assert client.get(path).headers["Referrer-Policy"] == "strict-origin"
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_only_in_production(client, database_url, tmp_path):
    assert "Strict-Transport-Security" not in client.get("/").headers
    production = create_app(make_test_config(
        database_url, IS_PRODUCTION=True, PUBLIC_BASE_URL="https://book.example.co.uk"))
    response = production.test_client().get("/health/live", base_url="https://book.example.co.uk")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "wss://book.example.co.uk" in directives(response)["connect-src"]


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block or that needs eval."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"<{tag} {name}>")
            if name == "style":
                self.problems.append(f"<{tag} style>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:>")
            if name in {"hx-vals", "hx-headers"} and value and value.lstrip().startswith("js:"):
                self.problems.append(f"<{tag} {name}=js:>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script body")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.problems


def test_the_checker_finds_inline_script():
    assert inline_code('<script>alert(1)</script><a onclick="x()">'
                       '<form hx-on::after-request="x()">') == [
        "inline <script>", "inline script body", "<a onclick>", "<form hx-on::after-request>"]


def test_pages_have_no_inline_script_handlers_or_styles(client, admin_client, app):
    session = SessionFactory(capacity=5)
    booking = BookingFactory(session=session, hold_expires_at=None, confirmed_at=utcnow())
    AttendeeFactory(booking=booking)
    with app.test_request_context():
        manage = signed_path("booking.manage", booking.reference)
    public_pages = ["/", "/courses", "/sessions", f"/sessions/{session.id}",
                    f"/sessions/{session.id}/book", "/manage-booking", "/login", manage,
                    "/no/such/page"]
    for path in public_pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert inline_code(response.get_data(as_text=True)) == [], path
    for path in ["/admin/", "/admin/bookings", f"/admin/bookings/{booking.reference}",
                 f"/admin/sessions/{session.id}"]:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert inline_code(response.get_data(as_text=True)) == [], path


def test_htmx_is_told_not_to_evaluate_code(client):
    html = client.get("/").get_data(as_text=True)
    assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html
