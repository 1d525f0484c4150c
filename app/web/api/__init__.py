"""JSON API under /api/v1 for the marketing site and integrations."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from app.web.api import bookings, catalogue, openapi, waitlist  # noqa: E402,F401  (routes register on bp)
