"""Exceptions raised by the validation layer."""
from __future__ import annotations

from collections.abc import Mapping


class FieldError(ValueError):
    """One value broke a rule; `.message` is a sentence fit to show the user."""

    category, severity = "validation", "info"  # in the error taxonomy (app.monitoring.errors)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(Exception):
    """A whole request broke one or more rules.

    `.errors` maps a dotted field path (e.g. "attendees.0.name") to its message,
    in the order the fields appear on the form.
    """

    category, severity = "validation", "info"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        # Paths only: messages are safe, but the exception may be logged and the
        # field names are what a log reader needs.
        super().__init__("invalid fields: " + ", ".join(self.errors))
