"""Sanitising free text typed by the public before it is stored."""
from __future__ import annotations

import unicodedata

from app.validation.errors import FieldError

# A raw value longer than this many times the limit is refused before any
# Unicode work, so a multi-megabyte body costs almost nothing to reject.
RAW_LENGTH_FACTOR = 10

# Control (Cc), format (Cf: zero-width space/joiners, BOM, soft hyphen, bidi
# embeddings, overrides and isolates, tag characters), surrogates (Cs, which a
# JSON "\ud800" escape can smuggle in) and private use (Co). Dropping the
# zero-width joiners costs some emoji sequences and Persian/Indic shaping; we
# accept that, as they are the classic way to make two names look identical.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# Letters and symbols that render as nothing and are used to fake a "blank" value.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")


def _capitalise(label: str) -> str:
    return label[:1].upper() + label[1:]


def strip_invisible(value: str) -> str:
    """Remove control, format and invisible filler characters, keeping whitespace.

    Whitespace controls (tab, newlines) are kept so the caller can decide whether
    they become a space or a line break.
    """
    return "".join(
        ch for ch in value
        if ch.isspace()
        or (unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _INVISIBLE_EXTRA)
    )


def _collapse_lines(text: str) -> str:
    """Collapse spaces within lines; keep single line breaks; a run of blank
    lines becomes one blank line (a paragraph break)."""
    lines: list[str] = []
    for raw_line in text.splitlines():  # splits on \r\n, \r, \x0b, \x0c, \x85, \u2028, ...
        line = " ".join(raw_line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def clean_text(
    value: object,
    *,
    field_label: str,
    max_length: int,
    min_length: int = 0,
    required: bool = True,
    multiline: bool = False,
) -> str | None:
    """Return `value` normalised and trimmed, None if blank and optional.

    Raises FieldError for a non-string, a blank required value, or a value
    outside min_length..max_length after cleaning (never truncates).
    """
    label = _capitalise(field_label)
    too_long = FieldError(f"{label} must be {max_length} characters or fewer.")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(f"{label} must be text.")
    if len(value) > max_length * RAW_LENGTH_FACTOR:
        raise too_long

    text = strip_invisible(value)
    text = _collapse_lines(text) if multiline else " ".join(text.split())
    # NFC, not NFKC: NFC only joins canonically equivalent sequences (e + U+0301
    # becomes é), so the stored name is the one the person typed, in one stable
    # form. NFKC also folds "compatibility" characters - ligatures, superscripts,
    # full-width and half-width forms, the long s - which silently changes how a
    # name is spelt on a certificate. NFC runs last because removing an invisible
    # character can leave a letter and a combining mark newly adjacent.
    text = unicodedata.normalize("NFC", text)

    if not text:
        if required:
            raise FieldError(f"Enter {field_label}.")
        return None
    if len(text) > max_length:
        raise too_long
    if len(text) < min_length:
        raise FieldError(f"{label} must be at least {min_length} characters.")
    return text
