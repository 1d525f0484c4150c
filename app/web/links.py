"""The application's `Links` for routes: every absolute URL a page or an API
answer gives out is built with it, on PUBLIC_BASE_URL (never on the Host
header). Relative links inside pages still come from ``url_for``."""
from __future__ import annotations

from flask import current_app

from app.services.core.links import EXTENSION_KEY, Links


def site_links() -> Links:
    return current_app.extensions[EXTENSION_KEY]
