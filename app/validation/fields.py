"""Rules for single fields. Each returns the normalised value or raises FieldError."""
from __future__ import annotations

import re
import unicodedata

import email_validator
import phonenumbers

from app.validation.errors import FieldError
from app.validation.text import clean_text

# --- email -------------------------------------------------------------------

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit


def validate_email(value: object, *, required: bool = True) -> str | None:
    """An email address in email-validator's normalised form (domain lower-cased,
    local part kept as typed). No DNS lookup."""
    text = clean_text(value, field_label="email address", max_length=EMAIL_MAX_LENGTH,
                      required=False)
    if text is None:
        if required:
            raise FieldError("Enter an email address.")
        return None
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise FieldError(
            "Enter an email address in the correct format, like name@example.com."
        ) from None
    return result.normalized


# --- UK phone ------------------------------------------------------------------

_PHONE_MESSAGE = "Enter a UK phone number, like 07700 900123 or 0113 496 0000."
# Digits and the punctuation people type; no letters, so "0800 FLOWERS"-style
# vanity numbers and "ext. 12" are refused rather than silently converted.
_PHONE_CHARS = re.compile(r"\+?[0-9 ().\-]+")
# Ofcom's ranges reserved for drama and examples. libphonenumber calls them
# invalid, but they are the numbers GOV.UK hints and our own fixtures use.
_OFCOM_EXAMPLE_RANGES = re.compile(r"\+44(?:7700900|1632960)[0-9]{3}")


def validate_uk_phone(value: object, *, required: bool = True) -> str | None:
    """A valid +44 number (GB, and Jersey, Guernsey and the Isle of Man, which
    share the UK plan), returned in E.164 form: "+447700900123"."""
    text = clean_text(value, field_label="phone number", max_length=30, required=False)
    if text is None:
        if required:
            raise FieldError("Enter a phone number.")
        return None
    if not _PHONE_CHARS.fullmatch(text):
        raise FieldError(_PHONE_MESSAGE)
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        raise FieldError(_PHONE_MESSAGE) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.country_code != 44 or not (
        phonenumbers.is_valid_number(number) or _OFCOM_EXAMPLE_RANGES.fullmatch(e164)
    ):
        raise FieldError(_PHONE_MESSAGE)
    return e164


def format_uk_phone(e164: str | None) -> str:
    """A stored E.164 number for display: "07700 900123". Unparseable input is
    returned unchanged, so a template never fails on old data."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "GB")
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 44
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


# --- UK postcode -----------------------------------------------------------------

# Royal Mail positional rules: Q, V, X never first; I, J, Z never second; only
# ABCDEFGHJKPSTUW as the letter in A9A; only ABEHMNPRVWXY as the letter in AA9A;
# the inward letters never use C, I, K, M, O or V. (Which districts exist in
# which area is not checked - that needs the address file, not a pattern.)
_A1 = "[A-PR-UWYZ]"
_A2 = "[A-HK-Y]"
_OUTWARD = (
    f"{_A1}[0-9][0-9]?"            # A9, A99
    f"|{_A1}[0-9][A-HJKPSTUW]"     # A9A
    f"|{_A1}{_A2}[0-9][0-9]?"      # AA9, AA99
    f"|{_A1}{_A2}[0-9][ABEHMNPRV-Y]"  # AA9A
)
_INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"
POSTCODE_PATTERN = f"GIR 0AA|(?:{_OUTWARD}) {_INWARD}"
_POSTCODE = re.compile(POSTCODE_PATTERN)
_POSTCODE_MESSAGE = "Enter a UK postcode, like LS1 4AP."


def validate_uk_postcode(value: object, *, required: bool = True) -> str | None:
    """A UK postcode, upper-cased with one space before the inward code: "LS1 4AP"."""
    text = clean_text(value, field_label="postcode", max_length=16, required=False)
    if text is None:
        if required:
            raise FieldError("Enter a postcode.")
        return None
    # isascii() first: str.upper() maps some non-ASCII letters to ASCII ones ("ß").
    compact = text.replace(" ", "").upper() if text.isascii() else ""
    candidate = f"{compact[:-3]} {compact[-3:]}"
    if not 5 <= len(compact) <= 7 or not _POSTCODE.fullmatch(candidate):
        raise FieldError(_POSTCODE_MESSAGE)
    return candidate


# --- names ---------------------------------------------------------------------

NAME_MAX_LENGTH = 100
NAME_MIN_LENGTH = 2
_NAME_CHARS_MESSAGE = "Use letters, spaces, hyphens, apostrophes and full stops only."
_NAME_PUNCTUATION = frozenset(" -'.")
# Typographic apostrophes (phone keyboards insert them) and Unicode hyphens.
_NAME_TRANSLATION = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-"})
# Real scripts stack at most a few combining marks on one letter; more is
# "Zalgo" text that would print as a smear on a certificate.
_MAX_MARKS_PER_LETTER = 4


def _is_name_mark(ch: str) -> bool:
    # Non-spacing and spacing marks (accents, vowel signs), but not enclosing
    # marks (keycaps, circles) or variation selectors (emoji presentation).
    return unicodedata.category(ch) in ("Mn", "Mc") and not (
        "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"
    )


def validate_person_name(
    value: object, *, field_label: str = "full name", required: bool = True
) -> str | None:
    """A name as it must appear on a certificate.

    Letters of any script with their combining marks, spaces, hyphens,
    apostrophes (’ is stored as ') and full stops for initials ("J. R. Smith").
    No digits, symbols or emoji. 2 to 100 characters, at least one letter,
    starting with a letter or an apostrophe ("'t Hooft").
    """
    name = clean_text(value, field_label=field_label, max_length=NAME_MAX_LENGTH,
                      required=required)
    if name is None:
        return None
    name = name.translate(_NAME_TRANSLATION)
    label = field_label[:1].upper() + field_label[1:]

    has_letter = False
    on_letter = False  # the previous character is a letter, or a mark on one
    marks = 0
    for ch in name:
        if unicodedata.category(ch).startswith("L"):
            has_letter, on_letter, marks = True, True, 0
        elif _is_name_mark(ch):
            marks += 1
            if not on_letter or marks > _MAX_MARKS_PER_LETTER:
                raise FieldError(_NAME_CHARS_MESSAGE)
        elif ch in _NAME_PUNCTUATION:
            on_letter = False
        else:
            raise FieldError(_NAME_CHARS_MESSAGE)

    if not has_letter:
        raise FieldError(f"{label} must include at least one letter.")
    if len(name) < NAME_MIN_LENGTH:
        raise FieldError(f"{label} must be at least {NAME_MIN_LENGTH} characters.")
    if name[0] in "-.":
        raise FieldError(f"{label} must start with a letter.")
    if name[-1] == "-":
        raise FieldError(f"{label} cannot end with a hyphen.")
    if "--" in name or "''" in name or ".." in name:
        raise FieldError(f"{label} cannot have two hyphens, apostrophes or full stops in a row.")
    return name


# --- free text -------------------------------------------------------------------


def validate_company(value: object) -> str | None:
    """Optional company name, up to 120 characters. Cleaned, not HTML-stripped:
    it is escaped when shown."""
    return clean_text(value, field_label="company name", max_length=120, required=False)


def validate_access_needs(value: object) -> str | None:
    """Optional access needs, up to 500 characters over several lines. Cleaned,
    not HTML-stripped: it is escaped when shown."""
    return clean_text(value, field_label="access needs", max_length=500, required=False,
                      multiline=True)


# --- seats -----------------------------------------------------------------------

_SEAT_DIGITS = re.compile(r"[0-9]{1,9}")


def validate_seat_count(value: object, *, max_seats: int) -> int:
    """A number of seats from 1 to max_seats, given as an int or a digit string.

    max_seats is the per-booking cap; whether the session still has that many
    free places is for the booking service to decide when it reserves them.
    """
    if isinstance(max_seats, bool) or not isinstance(max_seats, int) or max_seats < 1:
        raise ValueError(f"max_seats must be a positive int, not {max_seats!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError("Enter the number of seats.")
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and _SEAT_DIGITS.fullmatch(value.strip()):
        count = int(value.strip())
    else:
        raise FieldError("Enter the number of seats as a whole number, like 2.")
    if count < 1:
        raise FieldError("Book at least 1 seat.")
    if count > max_seats:
        noun = "seat" if max_seats == 1 else "seats"
        raise FieldError(f"You can book up to {max_seats} {noun} at once.")
    return count
