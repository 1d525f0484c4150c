"""clean_text: the sanitiser every free-text field goes through."""
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import app.validation.text as text_module
from app.validation import FieldError, clean_text

XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
SQL = ["Robert'); DROP TABLE bookings;--"]
INVISIBLE = [
    "\x00",      # NUL
    "\x07",      # bell
    "\x1b",      # escape
    "\x7f",      # delete
    "\u200b",    # zero-width space
    "\u200c",    # zero-width non-joiner
    "\u200d",    # zero-width joiner
    "\u2060",    # word joiner
    "\ufeff",    # byte-order mark
    "\u00ad",    # soft hyphen
    "\u200e",    # left-to-right mark
    "\u202a",    # left-to-right embedding
    "\u202e",    # right-to-left override
    "\u2066",    # left-to-right isolate
    "\u2069",    # pop directional isolate
    "\U000e0041",  # tag character
    "\ue000",    # private use
    "\ud800",    # lone surrogate
    "\u3164",    # Hangul filler
    "\u2800",    # braille blank
]


def clean(value, **kwargs):
    kwargs.setdefault("field_label", "your name")
    kwargs.setdefault("max_length", 50)
    return clean_text(value, **kwargs)


@pytest.mark.parametrize("raw, expected", [
    ("Jane", "Jane"),
    ("  Jane  ", "Jane"),
    ("Jane   Smith", "Jane Smith"),
    ("Jane\tSmith", "Jane Smith"),
    ("Jane\u00a0Smith", "Jane Smith"),          # no-break space
    ("Jane\u3000Smith", "Jane Smith"),          # ideographic space
    ("Jane\u2003\u2009Smith", "Jane Smith"),
])
def test_clean_text_trims_and_collapses_whitespace_to_one_space(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize("raw", ["Jane\nSmith", "Jane\r\nSmith", "Jane\rSmith", "Jane\u2028Smith"])
def test_clean_text_single_line_turns_line_breaks_into_a_space(raw):
    assert clean(raw) == "Jane Smith"


@pytest.mark.parametrize("char", INVISIBLE)
def test_clean_text_removes_control_format_zero_width_and_bidi_characters(char):
    assert clean(f"Ja{char}ne") == "Jane"
    assert clean(f"{char}Jane{char}") == "Jane"


def test_clean_text_removing_an_invisible_character_does_not_leave_a_gap_of_two_spaces():
    assert clean("Jane \u200b Smith") == "Jane Smith"


def test_clean_text_nfc_composes_a_letter_and_its_combining_mark():
    decomposed = "Zoe\u0308"
    assert clean(decomposed) == "Zo\u00eb"
    assert clean("Nguye\u0302\u0303n") == "Nguyễn"


def test_clean_text_composes_after_removing_invisibles_between_letter_and_mark():
    assert clean("Zoe\u200b\u0308") == "Zo\u00eb"


@pytest.mark.parametrize("raw", [
    "\ufb01ona",        # "fi" ligature: NFKC would rewrite it as "fiona"
    "Ｊａｎｅ",          # full-width letters: NFKC would make them ASCII
    "ﾀﾛｳ",              # half-width katakana: NFKC would make them full-width
])
def test_clean_text_uses_nfc_not_nfkc_so_the_typed_characters_are_kept(raw):
    assert clean(raw) == raw


@pytest.mark.parametrize("raw", [
    "李小龍", "محمد علي", "Αλέξανδρος", "Łukasz Żółć", "Зоя", "Nguyễn Văn An", "Jane 😀",
])
def test_clean_text_keeps_other_scripts_and_emoji(raw):
    assert clean(raw) == raw


@pytest.mark.parametrize("raw", XSS + SQL)
def test_clean_text_stores_markup_and_sql_verbatim_because_output_is_escaped(raw):
    assert clean(raw) == raw


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n", "\u200b\u200b", "\x00", "\u202e \u2066"])
def test_clean_text_blank_and_required_asks_for_the_field(raw):
    with pytest.raises(FieldError) as info:
        clean(raw)
    assert info.value.message == "Enter your name."


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b"])
def test_clean_text_blank_and_optional_returns_none(raw):
    assert clean(raw, required=False) is None


@pytest.mark.parametrize("raw", [["Jane"], {"name": "Jane"}, 42, 4.2, True, b"Jane", object()])
def test_clean_text_rejects_values_that_are_not_strings(raw):
    with pytest.raises(FieldError) as info:
        clean(raw)
    assert info.value.message == "Your name must be text."


def test_clean_text_accepts_exactly_max_length():
    assert clean("a" * 50) == "a" * 50


@pytest.mark.parametrize("raw", ["a" * 51, "a" * 10_000, "a" * 1_000_000, "李" * 51])
def test_clean_text_too_long_raises_and_never_truncates(raw):
    with pytest.raises(FieldError) as info:
        clean(raw)
    assert info.value.message == "Your name must be 50 characters or fewer."


def test_clean_text_length_is_counted_after_cleaning():
    assert clean("  " + "a" * 50 + "\u200b" * 10 + "  ") == "a" * 50


@pytest.mark.parametrize("size", [1_000_000, 10_000_000])
def test_clean_text_refuses_huge_raw_input_before_any_unicode_work(size, monkeypatch):
    def must_not_run(value):
        raise AssertionError("huge input reached the expensive path")

    monkeypatch.setattr(text_module, "strip_invisible", must_not_run)
    with pytest.raises(FieldError):
        clean(" " * size)


def test_clean_text_min_length():
    assert clean("ab", min_length=2) == "ab"
    with pytest.raises(FieldError) as info:
        clean(" a ", min_length=2)
    assert info.value.message == "Your name must be at least 2 characters."


def test_clean_text_multiline_keeps_single_line_breaks():
    assert clean("Uses a wheelchair.\nNeeds a ramp.", multiline=True) == \
        "Uses a wheelchair.\nNeeds a ramp."


def test_clean_text_multiline_collapses_blank_line_runs_to_one_blank_line():
    raw = "\n\n  First.  \r\n\r\n \n\t\nSecond   line.\n\n\n"
    assert clean(raw, multiline=True, max_length=100) == "First.\n\nSecond line."


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"])
def test_clean_text_multiline_normalises_every_line_break_to_newline(newline):
    assert clean(f"a{newline}b", multiline=True) == "a\nb"


def test_clean_text_multiline_turns_tabs_into_spaces():
    assert clean("a\t\tb", multiline=True) == "a b"


# --- properties --------------------------------------------------------------

_FORBIDDEN = {"Cc", "Cf", "Cs", "Co"}


@given(st.text(), st.booleans())
def test_clean_text_is_idempotent(raw, multiline):
    once = clean_text(raw, field_label="notes", max_length=10_000, required=False,
                      multiline=multiline)
    twice = clean_text(once, field_label="notes", max_length=10_000, required=False,
                       multiline=multiline)
    assert twice == once


@given(st.text(), st.booleans())
def test_clean_text_never_returns_control_or_format_characters(raw, multiline):
    result = clean_text(raw, field_label="notes", max_length=10_000, required=False,
                        multiline=multiline) or ""
    allowed = {"\n"} if multiline else set()
    assert not [c for c in result
                if unicodedata.category(c) in _FORBIDDEN and c not in allowed]
    assert result == result.strip()
    assert unicodedata.is_normalized("NFC", result)


@given(st.text(max_size=60))
def test_clean_text_either_fits_the_limit_or_raises(raw):
    try:
        result = clean_text(raw, field_label="name", max_length=20, required=False)
    except FieldError as exc:
        assert exc.message == "Name must be 20 characters or fewer."
    else:
        assert result is None or 1 <= len(result) <= 20
