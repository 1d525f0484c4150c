"""Every absolute link the system hands out: in pages, API answers, emails,
documents and jobs.

Links leave the site, so they are built on the configured PUBLIC_BASE_URL and
never on the Host header of the request being answered: a forged Host must
not put someone else's address into a customer's email or an API answer, and
a job has no request at all. URLs come from the application's own URL map,
so a renamed route cannot leave a stale link behind.

`create_app` makes one `Links` from the config and the URL map, keeps it on
``app.extensions["links"]`` (pages and the API read it there) and installs it
here (services read it with `current()`; see app.services.core.installed).
Relative links inside pages still come from ``url_for``.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from werkzeug.routing import Map

from app.services.core.installed import Installed
from app.services.core.tokens import invoice_pay_token, manage_token

EXTENSION_KEY = "links"


def base_url(config: Mapping) -> str:
    """The site's public address without a trailing slash. app.config requires it in
    production; elsewhere the local address `make run` listens on stands in."""
    return (config.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{config.get('PORT', 5000)}") \
        .rstrip("/")


class Links:
    """Absolute URLs on one public base address; signed ones for booking pages."""

    def __init__(self, base: str, *, secret_key: str, url_map: Map):
        parts = urlsplit(base)
        self.base_url = base.rstrip("/")
        self._secret_key = secret_key
        # The map is read when a URL is built, so routes added after this still count.
        self._adapter = url_map.bind(parts.netloc, script_name=parts.path or "/",
                                     url_scheme=parts.scheme or "https")

    @classmethod
    def from_config(cls, config: Mapping, url_map: Map) -> "Links":
        return cls(base_url(config), secret_key=config["SECRET_KEY"], url_map=url_map)

    def url(self, endpoint: str, **values) -> str:
        return self._adapter.build(endpoint, values, force_external=True)

    def token(self, reference: str, version: int | None = None) -> str:
        """The manage-booking token that opens `reference`'s pages: signed for the
        booking's current link version, read from the database unless given."""
        if version is None:
            from app.repositories import BookingRepository

            version = BookingRepository().manage_link_version(reference) or 1
        return manage_token(reference, secret_key=self._secret_key, version=version)

    def signed_url(self, endpoint: str, reference: str, version: int | None = None) -> str:
        """A page about one booking, with the token that opens it (`version` as in
        `token`)."""
        return self.url(endpoint, reference=reference, token=self.token(reference, version))

    def manage_link(self, reference: str, version: int | None = None) -> str:
        """The signed manage-booking page, as in every customer email."""
        return self.signed_url("booking.manage", reference, version)

    def pay_link(self, reference: str, version: int | None = None) -> str:
        """The hold's payment page (also where the card provider's "back" returns)."""
        return self.signed_url("booking.pay", reference, version)

    def invoice_token(self, number: str) -> str:
        return invoice_pay_token(number, secret_key=self._secret_key)

    def invoice_pay_link(self, number: str, **values) -> str:
        """The signed pay-by-card page of an invoice, as printed on it and in its emails."""
        return self.url("checkout.pay_invoice", invoice_number=number,
                        token=self.invoice_token(number), **values)

    def payment_received_link(self, reference: str) -> str:
        """Where the card provider returns a customer who paid."""
        return self.signed_url("checkout.returned", reference)

    def session_link(self, session_id: int) -> str:
        return self.url("public.session", session_id=session_id)

    def private_session_link(self, token: str) -> str:
        """A private session's page, the only way in to it (see CourseSession.is_private)."""
        return self.url("public.private_session", private_token=token)

    def course_session_link(self, course_session) -> str:
        """A session's page: its private link for a private session."""
        if course_session.is_private and course_session.private_token:
            return self.private_session_link(course_session.private_token)
        return self.session_link(course_session.id)

    def enquiry_admin_link(self, enquiry_id: int) -> str:
        return self.url("admin.enquiry", enquiry_id=enquiry_id)

    def course_link(self, slug: str) -> str:
        return self.url("public.course", slug=slug)

    def courses_link(self) -> str:
        return self.url("public.courses")

    def verify_link(self, certificate_number: str) -> str:
        return self.url("verify.certificate", number=certificate_number)

    def password_reset_link(self, token: str) -> str:
        return self.url("auth.reset_password", token=token)

    def admin_link(self) -> str:
        return self.url("admin.dashboard")


_installed: Installed[Links] = Installed("site links object")


def install(links: Links) -> Links:
    return _installed.install(links)


def current() -> Links:
    """The links of this process's application (for services; routes use app.extensions)."""
    return _installed.get()
