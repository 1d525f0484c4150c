"""Strict JSON for bodies from outside (app.validation.json_text): every way a body
can be unreadable is an UnreadableJSON (a ValueError), never RecursionError."""
from __future__ import annotations

import pytest

from app.validation.json_text import MAX_DEPTH, UnreadableJSON, loads


@pytest.mark.parametrize("raw", [
    b"[" * 1000 + b"]" * 1000,                  # RecursionError inside json
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    b"\xff\xfe{}",                               # not UTF-8
    b'{"seats": NaN}', b'{"seats": Infinity}', b'{"seats": -Infinity}',
    b'{"seats": 1e999}',                          # float overflow to inf
    b'{"seats": ' + b"9" * 20 + b"}",
    b'{"seats": ' + b"9" * 5000 + b"}",          # past int()'s own digit limit
    b"", b"{", b"not json", b"\xef\xbb\xbf{}",   # empty, cut short, text, a BOM
])
def test_unreadable_bodies_raise_unreadable_json(raw):
    with pytest.raises(UnreadableJSON):
        loads(raw)


def test_strict_json_reads_what_json_reads():
    assert loads(b'{"a": [1, -2.5, "\\u00e9", true, null], "b": {"c": 9223372036854775807}}') \
        == {"a": [1, -2.5, "é", True, None], "b": {"c": 9223372036854775807}}
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(nested) is not None


def test_a_caller_may_allow_longer_integers():
    assert loads('{"expires_at": ' + "9" * 30 + "}", max_integer_digits=1000) == \
        {"expires_at": int("9" * 30)}
