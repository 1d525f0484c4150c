"""Field rules: each returns the normalised value or raises FieldError."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.validation import (
    FieldError, format_uk_phone, validate_access_needs, validate_company, validate_email,
    validate_person_name, validate_seat_count, validate_uk_phone, validate_uk_postcode,
)
from app.validation.fields import POSTCODE_PATTERN

XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
SQL = "Robert'); DROP TABLE bookings;--"
HUGE = ["x" * 10_000, "x" * 1_000_000]
WRONG_TYPES = [["a"], {"a": 1}, 42, 4.2, True, b"abc"]
BLANK = [None, "", "   ", "\t\n", "\u200b"]


def message_of(rule, value, **kwargs):
    with pytest.raises(FieldError) as info:
        rule(value, **kwargs)
    return info.value.message


# --- email ---------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("jane@example.com", "jane@example.com"),
    ("  jane@example.com  ", "jane@example.com"),
    ("Jane.Smith@Example.CO.UK", "Jane.Smith@example.co.uk"),
    ("jane+first-aid@example.org", "jane+first-aid@example.org"),
    ("o'brien@example.ie", "o'brien@example.ie"),
    ("zoë@bücher.example", "zoë@bücher.example"),
    ("jane@xn--bcher-kva.example", "jane@bücher.example"),
    ("ja\u200bne@example.com", "jane@example.com"),
    ("jane@example.com\x00", "jane@example.com"),
])
def test_valid_email_is_returned_normalised(raw, expected):
    assert validate_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "jane", "jane@", "@example.com", "jane@example", "jane@@example.com",
    "jane@exa mple.com", "jane doe@example.com", "jane..doe@example.com",
    '"jane"@example.com', "Jane <jane@example.com>", "jane@[127.0.0.1]",
    "jane@localhost", "jane@😀.com", SQL, *XSS, "<script>@example.com",
])
def test_invalid_email_is_refused_with_a_format_hint(raw):
    assert message_of(validate_email, raw) == \
        "Enter an email address in the correct format, like name@example.com."


@pytest.mark.parametrize("raw", ["a" * 243 + "@example.com", *HUGE])
def test_email_longer_than_254_characters_is_refused(raw):
    assert message_of(validate_email, raw) == "Email address must be 254 characters or fewer."


@pytest.mark.parametrize("raw", BLANK)
def test_blank_email_is_required_by_default(raw):
    assert message_of(validate_email, raw) == "Enter an email address."


@pytest.mark.parametrize("raw", BLANK)
def test_blank_optional_email_is_none(raw):
    assert validate_email(raw, required=False) is None


@pytest.mark.parametrize("raw", WRONG_TYPES)
def test_email_of_the_wrong_type_is_refused(raw):
    assert message_of(validate_email, raw) == "Email address must be text."


# --- UK phone ------------------------------------------------------------------

PHONE_HINT = "Enter a UK phone number, like 07700 900123 or 0113 496 0000."


@pytest.mark.parametrize("raw, expected", [
    ("07700 900123", "+447700900123"),
    ("+44 7700 900123", "+447700900123"),
    ("+447700900123", "+447700900123"),
    ("0113 496 0000", "+441134960000"),
    ("(0113) 4960000", "+441134960000"),
    ("+44 (0)113 496 0000", "+441134960000"),
    ("0044 113 496 0000", "+441134960000"),
    ("020 7946 0000", "+442079460000"),
    ("020-7946-0000", "+442079460000"),
    ("07911 123456", "+447911123456"),
    ("0800 123 4567", "+448001234567"),
    ("01632 960123", "+441632960123"),     # Ofcom drama range
    ("01534 456789", "+441534456789"),     # Jersey: part of the +44 plan
    (" 07700\u00a0900123 ", "+447700900123"),
])
def test_valid_uk_phone_is_returned_in_e164(raw, expected):
    assert validate_uk_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "+1 202 555 0143",           # US
    "+33 1 23 45 67 89",         # France
    "+353 1 234 5678",           # Ireland
    "07700 90012",               # too short
    "07700 9001234",             # too long
    "0700",
    "999",
    "12345",
    "0800 FLOWERS",              # letters are not converted
    "07700 900123 ext 5",
    "phone me",
    "+44",
    "++447700900123",
    "٠٧٧٠٠٩٠٠١٢٣",               # Arabic-Indic digits
    "０７７００ ９００１２３",      # full-width digits
    "07700 900123 😀",
    "1; DROP TABLE bookings;--",
    "<script>alert(1)</script>",
])
def test_invalid_or_non_uk_phone_is_refused(raw):
    assert message_of(validate_uk_phone, raw) == PHONE_HINT


@pytest.mark.parametrize("raw", HUGE)
def test_very_long_phone_is_refused(raw):
    assert message_of(validate_uk_phone, raw) == "Phone number must be 30 characters or fewer."


@pytest.mark.parametrize("raw", BLANK)
def test_blank_phone_is_required(raw):
    assert message_of(validate_uk_phone, raw) == "Enter a phone number."
    assert validate_uk_phone(raw, required=False) is None


@pytest.mark.parametrize("raw", WRONG_TYPES + [7700900123])
def test_phone_of_the_wrong_type_is_refused(raw):
    assert message_of(validate_uk_phone, raw) == "Phone number must be text."


@pytest.mark.parametrize("e164, shown", [
    ("+447700900123", "07700 900123"),
    ("+441134960000", "0113 496 0000"),
    ("+442079460000", "020 7946 0000"),
    ("+12025550143", "+1 202-555-0143"),
    ("not a number", "not a number"),
    ("", ""),
    (None, ""),
])
def test_format_uk_phone_shows_national_format_and_never_fails(e164, shown):
    assert format_uk_phone(e164) == shown


# --- UK postcode ---------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("LS1 4AP", "LS1 4AP"),
    ("ls1 4ap", "LS1 4AP"),
    ("LS14AP", "LS1 4AP"),
    (" ls1  4ap ", "LS1 4AP"),
    ("ls1\t4ap", "LS1 4AP"),
    ("M1 1AE", "M1 1AE"),            # A9
    ("B33 8TH", "B33 8TH"),          # A99
    ("W1A 0AX", "W1A 0AX"),          # A9A
    ("CR2 6XH", "CR2 6XH"),          # AA9
    ("DN55 1PT", "DN55 1PT"),        # AA99
    ("EC1A 1BB", "EC1A 1BB"),        # AA9A
    ("SW1A 2AA", "SW1A 2AA"),
    ("N1C 4AG", "N1C 4AG"),
    ("BT1 5GS", "BT1 5GS"),
    ("IM1 1AD", "IM1 1AD"),
    ("GIR 0AA", "GIR 0AA"),
    ("gir0aa", "GIR 0AA"),
])
def test_valid_uk_postcode_is_upper_cased_with_one_space(raw, expected):
    assert validate_uk_postcode(raw) == expected


@pytest.mark.parametrize("raw", [
    "12345", "LS1", "LS1 4A", "ZZ99 9ZZZ", "LS1 4APX", "4AP", "LS1 A4P",
    "ZZ99 9ZZ",      # Z is never the second letter
    "QA1 1AA",       # Q is never the first letter
    "VA1 1AA", "XA1 1AA",
    "AI1 1AA", "AJ1 1AA",
    "W1I 1AA",       # I is never the letter in A9A
    "SW1C 1AA",      # C is never the letter in AA9A
    "LS1 4AC", "LS1 4IA", "LS1 4KA", "LS1 4MA", "LS1 4OA", "LS1 4VA",  # inward letters
    "LS123 4AP", "L 4AP", "LS1-4AP", "LS1_4AP", "LS1 4AP😀",
    "ＬＳ１ ４ＡＰ",  # full-width
    "LS1 4Aß",
    "GIR 0AB",
    "<b>LS1 4AP</b>",
    "LS1 4AP';--",
])
def test_invalid_postcode_is_refused_with_an_example(raw):
    assert message_of(validate_uk_postcode, raw) == "Enter a UK postcode, like LS1 4AP."


@pytest.mark.parametrize("rule", [validate_uk_phone, validate_uk_postcode])
@pytest.mark.parametrize("raw", [SQL, *XSS])
def test_phone_and_postcode_refuse_injection_payloads(rule, raw):
    with pytest.raises(FieldError):
        rule(raw)


@pytest.mark.parametrize("raw", HUGE)
def test_very_long_postcode_is_refused(raw):
    assert message_of(validate_uk_postcode, raw) == "Postcode must be 16 characters or fewer."


@pytest.mark.parametrize("raw", BLANK)
def test_blank_postcode_is_required(raw):
    assert message_of(validate_uk_postcode, raw) == "Enter a postcode."
    assert validate_uk_postcode(raw, required=False) is None


@pytest.mark.parametrize("raw", WRONG_TYPES)
def test_postcode_of_the_wrong_type_is_refused(raw):
    assert message_of(validate_uk_postcode, raw) == "Postcode must be text."


@given(st.from_regex(POSTCODE_PATTERN, fullmatch=True))
def test_a_normalised_postcode_is_a_fixed_point(postcode):
    assert validate_uk_postcode(postcode) == postcode
    assert validate_uk_postcode(postcode.lower().replace(" ", "")) == postcode


# --- person names -----------------------------------------------------------------

NAME_CHARS = "Use letters, spaces, hyphens, apostrophes and full stops only."


@pytest.mark.parametrize("raw, expected", [
    ("Jane Smith", "Jane Smith"),
    ("Zoë", "Zoë"),
    ("Zoe\u0308", "Zoë"),                 # decomposed input is composed
    ("Łukasz Żółć", "Łukasz Żółć"),
    ("Siobhán Ní Bhriain", "Siobhán Ní Bhriain"),
    ("José", "José"),
    ("Nguyễn Văn An", "Nguyễn Văn An"),
    ("李小龍", "李小龍"),
    ("Ngāti", "Ngāti"),
    ("محمد علي", "محمد علي"),
    ("Αλέξανδρος Παπαδόπουλος", "Αλέξανδρος Παπαδόπουλος"),
    ("Зоя Иванова", "Зоя Иванова"),
    ("अमित कुमार", "अमित कुमार"),          # Devanagari vowel signs are marks
    ("Li", "Li"),
    ("O'Brien", "O'Brien"),
    ("O’Brien", "O'Brien"),               # typographic apostrophe stored as '
    ("Mary-Jane Smith-Jones", "Mary-Jane Smith-Jones"),
    ("Mary\u2010Jane", "Mary-Jane"),      # Unicode hyphen
    ("J. R. R. Tolkien", "J. R. R. Tolkien"),
    ("J.-P. Sartre", "J.-P. Sartre"),
    ("Martin Luther King Jr.", "Martin Luther King Jr."),
    ("'t Hooft", "'t Hooft"),
    ("  jane   smith  ", "jane smith"),
    ("Ja\u200bne", "Jane"),               # zero-width space removed
    ("\u202eJane", "Jane"),               # bidi override removed
    ("Ja\x00ne", "Jane"),                 # NUL removed
    ("a" * 100, "a" * 100),
])
def test_valid_name_is_returned_cleaned(raw, expected):
    assert validate_person_name(raw) == expected


@pytest.mark.parametrize("raw", [
    *XSS, SQL,
    "Jane2", "R2-D2", "Agent 007",
    "Jane 😀", "😀😀", "Jane ❤️",
    "Jane; Smith", "Jane = Smith", "Jane <Smith>", 'Jane "JJ" Smith', "jane@example.com",
    "Jane_Smith", "Jane/Smith", "Jane, Smith", "Jane & John", "Jane (Smith)", "Jane!", "Jane?",
    "Ja\u0334\u0335\u0336\u0337\u0338ne",        # more marks than any script stacks
    "Jane \u0301Smith",                          # a mark on a space
    "Ja\u20e3ne",                                # enclosing keycap mark
    "Jane\ufe0f",                                # variation selector
    "Ⅳ Smith",                                   # Roman numeral is a number
    "Jane\u00b2",                                # superscript two
])
def test_name_with_digits_symbols_emoji_or_markup_is_refused(raw):
    assert message_of(validate_person_name, raw) == NAME_CHARS


@pytest.mark.parametrize("raw, message", [
    ("J", "Full name must be at least 2 characters."),
    ("李", "Full name must be at least 2 characters."),
    ("--", "Full name must include at least one letter."),
    ("' .", "Full name must include at least one letter."),
    ("-Jane", "Full name must start with a letter."),
    (".Jane", "Full name must start with a letter."),
    ("Jane-", "Full name cannot end with a hyphen."),
    ("Jane--Smith", "Full name cannot have two hyphens, apostrophes or full stops in a row."),
    ("O''Brien", "Full name cannot have two hyphens, apostrophes or full stops in a row."),
    ("J.. Smith", "Full name cannot have two hyphens, apostrophes or full stops in a row."),
    ("a" * 101, "Full name must be 100 characters or fewer."),
    ("a" * 10_000, "Full name must be 100 characters or fewer."),
    ("a" * 1_000_000, "Full name must be 100 characters or fewer."),
])
def test_name_structure_and_length_rules(raw, message):
    assert message_of(validate_person_name, raw) == message


@pytest.mark.parametrize("raw", BLANK)
def test_blank_name_uses_the_field_label(raw):
    assert message_of(validate_person_name, raw) == "Enter full name."
    assert message_of(validate_person_name, raw, field_label="your name") == "Enter your name."
    assert validate_person_name(raw, required=False) is None


@pytest.mark.parametrize("raw", WRONG_TYPES)
def test_name_of_the_wrong_type_is_refused(raw):
    assert message_of(validate_person_name, raw) == "Full name must be text."


# --- company and access needs ---------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("Acme Ltd", "Acme Ltd"),
    ("  Acme   Ltd  ", "Acme Ltd"),
    ("Smith & Sons (Leeds) Ltd.", "Smith & Sons (Leeds) Ltd."),
    ("株式会社トヨタ", "株式会社トヨタ"),
    ("Café ☕ Co", "Café ☕ Co"),
    (SQL, SQL),
    (XSS[0], XSS[0]),          # kept verbatim: escaped when shown, never stripped
    ("Ac\u200bme\u202e", "Acme"),
    ("a" * 120, "a" * 120),
])
def test_company_is_cleaned_not_html_stripped(raw, expected):
    assert validate_company(raw) == expected


@pytest.mark.parametrize("raw", BLANK)
def test_company_is_optional(raw):
    assert validate_company(raw) is None


@pytest.mark.parametrize("raw", ["a" * 121, *HUGE])
def test_company_longer_than_120_characters_is_refused(raw):
    assert message_of(validate_company, raw) == "Company name must be 120 characters or fewer."


@pytest.mark.parametrize("raw", WRONG_TYPES)
def test_company_of_the_wrong_type_is_refused(raw):
    assert message_of(validate_company, raw) == "Company name must be text."


@pytest.mark.parametrize("raw, expected", [
    ("Wheelchair user.", "Wheelchair user."),
    ("Wheelchair user.\r\nNeeds a ramp.", "Wheelchair user.\nNeeds a ramp."),
    ("Hearing loop.\n\n\n\nBSL interpreter.", "Hearing loop.\n\nBSL interpreter."),
    ("  Large   print  \n", "Large print"),
    (XSS[1], XSS[1]),
    ("Dyslexia 📖", "Dyslexia 📖"),
    ("a" * 500, "a" * 500),
])
def test_access_needs_keep_line_breaks_and_are_cleaned(raw, expected):
    assert validate_access_needs(raw) == expected


@pytest.mark.parametrize("raw", BLANK)
def test_access_needs_are_optional(raw):
    assert validate_access_needs(raw) is None


@pytest.mark.parametrize("raw", ["a" * 501, *HUGE])
def test_access_needs_longer_than_500_characters_are_refused(raw):
    assert message_of(validate_access_needs, raw) == "Access needs must be 500 characters or fewer."


@pytest.mark.parametrize("raw", WRONG_TYPES)
def test_access_needs_of_the_wrong_type_are_refused(raw):
    assert message_of(validate_access_needs, raw) == "Access needs must be text."


# --- seat count -------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (1, 1), (12, 12), ("1", 1), ("12", 12), (" 3 ", 3), ("007", 7),
])
def test_seat_count_accepts_an_int_or_a_digit_string_from_1_to_max(raw, expected):
    assert validate_seat_count(raw, max_seats=12) == expected


@pytest.mark.parametrize("raw", [0, -1, "0", "000"])
def test_seat_count_below_one_is_refused(raw):
    assert message_of(validate_seat_count, raw, max_seats=12) == "Book at least 1 seat."


@pytest.mark.parametrize("raw", [13, 10**100, "13", "999999999"])
def test_seat_count_above_max_is_refused(raw):
    assert message_of(validate_seat_count, raw, max_seats=12) == \
        "You can book up to 12 seats at once."


def test_seat_count_message_is_singular_for_a_max_of_one():
    assert message_of(validate_seat_count, 2, max_seats=1) == "You can book up to 1 seat at once."


@pytest.mark.parametrize("raw", [
    True, False, 1.0, 2.5, "2.0", "two", "+2", "-1", "1e3", "0x2", "１", "²", "٣",
    "9" * 50, "x" * 1_000_000, [], [1], {}, {"seats": 2}, b"2", SQL, XSS[0], "2 😀",
])
def test_seat_count_that_is_not_a_whole_number_is_refused(raw):
    assert message_of(validate_seat_count, raw, max_seats=12) == \
        "Enter the number of seats as a whole number, like 2."


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_missing_seat_count_is_asked_for(raw):
    assert message_of(validate_seat_count, raw, max_seats=12) == "Enter the number of seats."


@pytest.mark.parametrize("max_seats", [0, -1, True, 2.0, "12", None])
def test_seat_count_with_a_bad_max_is_a_programming_error(max_seats):
    with pytest.raises(ValueError) as info:
        validate_seat_count(1, max_seats=max_seats)
    assert not isinstance(info.value, FieldError)


# --- every rule fails cleanly -------------------------------------------------------

RULES = [validate_email, validate_uk_phone, validate_uk_postcode, validate_person_name,
         validate_company, validate_access_needs]


@pytest.mark.parametrize("rule", RULES)
@given(value=st.one_of(st.text(), st.none(), st.integers(), st.binary(),
                       st.lists(st.text(), max_size=2)))
def test_field_rules_only_ever_raise_field_error(rule, value):
    try:
        rule(value)
    except FieldError as exc:
        assert exc.message.endswith(".")
