"""URL converters. `<id:name>` is the one way a route takes a row id.

werkzeug's `<int:...>` matches any run of digits, and a 20-digit id then
fails inside the database driver (SQLite's OverflowError: a 500). `id` only
matches what an id column can hold (1 .. 2**31 - 1, PostgreSQL's integer),
so anything else is simply no route: 404. tests/integration/test_route_ids.py
checks every rule uses it.
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A positive row id that fits an integer column; anything else does not match."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
