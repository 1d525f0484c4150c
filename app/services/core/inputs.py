"""What the admin services share: turning rule failures into InvalidInput with
every bad field named. (Filters read from a query string: app.validation.filters.)"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from app.services.core.errors import InvalidInput
from app.validation import FieldError

Rule = Callable[[object], object]

DEFAULT_PER_PAGE = 25


def checked(rule: Rule, value: object, field: str):
    """Apply one rule; a FieldError becomes InvalidInput naming `field`."""
    try:
        return rule(value)
    except FieldError as exc:
        raise InvalidInput(exc.message, fields={field: exc.message}) from None


def parse(data: Mapping, rules: Mapping[str, Rule], *, only: set[str] | None = None) -> dict:
    """Apply a rule per field, collecting every problem before raising InvalidInput."""
    values: dict = {}
    errors: dict[str, str] = {}
    for name, rule in rules.items():
        if only is not None and name not in only:
            continue
        try:
            values[name] = rule(data.get(name))
        except FieldError as exc:
            errors[name] = exc.message
    if errors:
        raise InvalidInput(fields=errors)
    return values
