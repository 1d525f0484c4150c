"""Strict JSON for bodies we did not write: the API's requests and Stripe's events.

`loads(data)` accepts RFC 8259 JSON in UTF-8 and nothing else. Python's `json`
module is lenient where an attacker profits: it accepts NaN and Infinity, turns
1e999 into infinity, builds integers of thousands of digits, and nests until
the interpreter's recursion limit, where it raises RecursionError (not a
ValueError, so it escaped every handler as a 500). Here each of those is an
`UnreadableJSON`, a ValueError whose message is safe to show.
"""
from __future__ import annotations

import json
import math

# Deeper than any body we accept (a booking is three levels deep, a Stripe event
# about six) and far below the interpreter's recursion limit.
MAX_DEPTH = 32
# Ids, pence and Unix times fit in 19 digits; more is never a number we use.
MAX_INTEGER_DIGITS = 19


class UnreadableJSON(ValueError):
    """The bytes are not JSON we accept; the message says why, in words for people."""


def _reject_constant(name: str):
    raise UnreadableJSON(f"{name} is not a JSON number.")


def _integer_parser(max_digits: int):
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > max_digits:
            raise UnreadableJSON("A number in the body is too large.")
        return int(text)
    return parse


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJSON("A number in the body is too large.")
    return value


def loads(data: bytes | str, *, max_integer_digits: int = MAX_INTEGER_DIGITS) -> object:
    """The JSON value in `data`; UnreadableJSON if it is not strict JSON in UTF-8,
    nests deeper than MAX_DEPTH or holds an integer longer than `max_integer_digits`
    (a caller that reports out-of-range values field by field may allow more)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableJSON("The body is not UTF-8 text.") from None
    try:
        value = json.loads(data, parse_constant=_reject_constant,
                           parse_int=_integer_parser(max_integer_digits),
                           parse_float=_finite_float)
    except UnreadableJSON:
        raise
    except RecursionError:
        raise UnreadableJSON("The body nests too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, and int() past its digit limit
        raise UnreadableJSON(f"The body is not valid JSON: {getattr(exc, 'msg', 'bad value')}."
                             ) from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise UnreadableJSON("The body nests too deeply.")
    return value


def _depth_exceeds(value: object, limit: int) -> bool:
    """True if containers nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
