"""Sanitising staff-written HTML (course descriptions) to a small safe subset."""
from __future__ import annotations

import re
import unicodedata
from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter

from app.validation.errors import FieldError
from app.validation.text import strip_invisible

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "blockquote"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
_JAVASCRIPT_SCHEME = re.compile(r"(javascript):", re.IGNORECASE)
# html5lib takes about a second per 100k tags; refuse more before parsing.
HTML_MAX_LENGTH = 100_000


def _harden_link(attrs: dict, new: bool = False) -> dict | None:
    """Linkify callback: returning None unlinks (keeps the text)."""
    if new:
        return None  # leave bare URLs in the text as text; only author-made links
    if (None, "href") not in attrs:
        return None  # its href was refused (javascript:, data:, ...)
    attrs[(None, "rel")] = LINK_REL
    return attrs


# The LinkifyFilter runs after the sanitiser inside one parse, so the rel it
# sets is not removed by the attribute allow-list.
_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_harden_link], parse_email=False)],
)


def sanitize_html(value: str | None) -> str:
    """Return `value` reduced to the allowed tags, attributes and URL schemes.

    Disallowed tags are removed but their text is kept (as escaped text), so
    "<script>x</script>" becomes "x". Every surviving link gets
    rel="noopener noreferrer nofollow". Raises FieldError if over HTML_MAX_LENGTH.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"sanitize_html expects str or None, not {type(value).__name__}")
    if len(value) > HTML_MAX_LENGTH:
        raise FieldError(f"The text must be {HTML_MAX_LENGTH:,} characters or fewer.")
    text = unicodedata.normalize("NFC", strip_invisible(value))
    # Any "javascript:" still present is inert text (prose, a title, broken
    # markup shown as text). Writing it "javascript&#58;" renders the same, and
    # the output then never holds the string at all: a simple invariant to test.
    return _JAVASCRIPT_SCHEME.sub(r"\1&#58;", _cleaner.clean(text))
