"""Booking API routes (filled in by the booking work)."""
from app.web.api import bp  # noqa: F401
