"""Catalogue API routes (filled in by the catalogue work)."""
from app.web.api import bp  # noqa: F401
