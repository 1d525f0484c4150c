"""parse_booking_request and validate_field: the booking rules both adapters share."""
import copy
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.validation import (
    AttendeeInput, BookingRequest, ContactInput, FieldError, ValidationFailed,
    parse_booking_request, validate_field,
)

VALID = {
    "session_id": 7,
    "contact": {
        "name": "Siobhán O’Neill",
        "email": "Siobhan@Example.COM",
        "phone": "07700 900123",
        "postcode": "ls1 4ap",
        "company": "  Acme   Ltd ",
    },
    "attendees": [
        {"name": "Zoë Smith", "email": "zoe@example.com", "access_needs": "Wheelchair user.\r\n"},
        {"name": "李小龍", "email": "", "access_needs": None},
    ],
}


def body(**changes):
    data = copy.deepcopy(VALID)
    data.update(changes)
    return data


def errors_of(data, max_seats=12):
    with pytest.raises(ValidationFailed) as info:
        parse_booking_request(data, max_seats=max_seats)
    return info.value.errors


def test_a_full_valid_body_is_parsed_and_normalised():
    assert parse_booking_request(VALID, max_seats=12) == BookingRequest(
        session_id=7,
        contact=ContactInput(
            name="Siobhán O'Neill",
            email="Siobhan@example.com",
            phone="+447700900123",
            postcode="LS1 4AP",
            company="Acme Ltd",
        ),
        attendees=(
            AttendeeInput(name="Zoë Smith", email="zoe@example.com",
                          access_needs="Wheelchair user."),
            AttendeeInput(name="李小龍", email=None, access_needs=None),
        ),
    )


def test_the_result_is_immutable():
    result = parse_booking_request(VALID, max_seats=12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.session_id = 8
    assert isinstance(result.attendees, tuple)


def test_optional_fields_may_be_missing():
    data = body(attendees=[{"name": "Jane Smith"}])
    del data["contact"]["company"]
    result = parse_booking_request(data, max_seats=12)
    assert result.contact.company is None
    assert result.attendees == (AttendeeInput("Jane Smith", None, None),)


def test_unknown_extra_keys_are_ignored():
    data = body(coupon="FREE", admin=True)
    data["contact"]["is_admin"] = True
    data["attendees"][0]["price"] = 0
    assert parse_booking_request(data, max_seats=12) == parse_booking_request(VALID, max_seats=12)


def test_all_errors_are_collected_at_once_with_dotted_paths():
    data = {
        "session_id": "abc",
        "contact": {
            "name": "<script>alert(1)</script>",
            "email": "not-an-email",
            "phone": "+1 202 555 0143",
            "postcode": "12345",
            "company": "x" * 121,
        },
        "attendees": [
            {"name": "Robert'); DROP TABLE bookings;--", "email": "nope",
             "access_needs": "x" * 501},
            {"name": "Jane Smith"},
            "not an object",
        ],
    }
    assert errors_of(data) == {
        "session_id": "Choose a course date from the list.",
        "contact.name": "Use letters, spaces, hyphens, apostrophes and full stops only.",
        "contact.email": "Enter an email address in the correct format, like name@example.com.",
        "contact.phone": "Enter a UK phone number, like 07700 900123 or 0113 496 0000.",
        "contact.postcode": "Enter a UK postcode, like LS1 4AP.",
        "contact.company": "Company name must be 120 characters or fewer.",
        "attendees.0.name": "Use letters, spaces, hyphens, apostrophes and full stops only.",
        "attendees.0.email": "Enter an email address in the correct format, like name@example.com.",
        "attendees.0.access_needs": "Access needs must be 500 characters or fewer.",
        "attendees.2": "Enter the attendee's details.",
    }


def test_an_empty_body_reports_every_required_field():
    assert errors_of({}) == {
        "session_id": "Choose a course date.",
        "contact.name": "Enter your name.",
        "contact.email": "Enter an email address.",
        "contact.phone": "Enter a phone number.",
        "contact.postcode": "Enter a postcode.",
        "attendees": "Book at least 1 seat.",
    }


def test_attendee_name_is_required_and_labelled_full_name():
    assert errors_of(body(attendees=[{"email": "a@example.com"}])) == {
        "attendees.0.name": "Enter full name.",
    }


@pytest.mark.parametrize("attendees", [[], None])
def test_no_attendees_means_no_seats(attendees):
    assert errors_of(body(attendees=attendees)) == {"attendees": "Book at least 1 seat."}


def test_missing_attendees_means_no_seats():
    data = body()
    del data["attendees"]
    assert errors_of(data) == {"attendees": "Book at least 1 seat."}


def test_more_attendees_than_max_seats_is_refused():
    attendees = [{"name": "Jane Smith"}] * 13
    assert errors_of(body(attendees=attendees), max_seats=12) == {
        "attendees": "You can book up to 12 seats at once.",
    }


def test_exactly_max_seats_attendees_is_fine():
    result = parse_booking_request(body(attendees=[{"name": "Jane Smith"}] * 3), max_seats=3)
    assert len(result.attendees) == 3


def test_a_huge_attendee_list_is_refused_without_validating_each_entry():
    errors = errors_of(body(attendees=[{"name": "<b>"}] * 100_000))
    assert errors == {"attendees": "You can book up to 12 seats at once."}


@pytest.mark.parametrize("attendees", ["Jane Smith", {"0": {"name": "Jane"}}, 3, True])
def test_attendees_that_are_not_a_list_are_refused(attendees):
    assert errors_of(body(attendees=attendees)) == {"attendees": "Send the attendees as a list."}


@pytest.mark.parametrize("attendee", ["Jane Smith", None, 7, ["Jane Smith"], True])
def test_an_attendee_that_is_not_an_object_is_refused(attendee):
    assert errors_of(body(attendees=[attendee])) == {"attendees.0": "Enter the attendee's details."}


@pytest.mark.parametrize("contact", ["Jane", 7, ["Jane"], True])
def test_contact_that_is_not_an_object_is_refused(contact):
    assert errors_of(body(contact=contact)) == {"contact": "Enter your contact details."}


@pytest.mark.parametrize("data", [None, [], [VALID], "session_id=7", 7, b"{}", True])
def test_a_body_that_is_not_an_object_is_refused(data):
    assert errors_of(data) == {"body": "Send the booking details as a JSON object."}


@pytest.mark.parametrize("session_id, expected", [(7, 7), (1, 1), ("7", 7), (" 42 ", 42)])
def test_session_id_is_a_positive_int(session_id, expected):
    assert parse_booking_request(body(session_id=session_id), max_seats=12).session_id == expected


@pytest.mark.parametrize("session_id", [
    True, False, 7.0, 1.5, "abc", "7.0", "-1", "0x7", "７", 0, -1, 2**31, 10**100,
    [], [7], {"id": 7}, "1; DROP TABLE bookings;--", "<script>alert(1)</script>",
])
def test_session_id_that_is_not_a_positive_int_is_refused(session_id):
    assert errors_of(body(session_id=session_id)) == {
        "session_id": "Choose a course date from the list.",
    }


@pytest.mark.parametrize("field, value", [
    ("name", 42), ("email", ["a@example.com"]), ("phone", 7700900123),
    ("postcode", {"code": "LS1 4AP"}), ("company", 1.5),
])
def test_contact_fields_of_the_wrong_type_give_field_errors(field, value):
    data = body()
    data["contact"][field] = value
    assert list(errors_of(data)) == [f"contact.{field}"]


@pytest.mark.parametrize("value", ["x" * 10_000, "x" * 1_000_000])
def test_very_long_values_give_field_errors(value):
    data = body()
    for key in ("name", "email", "phone", "postcode", "company"):
        data["contact"][key] = value
    data["attendees"][0] = {"name": value, "email": value, "access_needs": value}
    assert set(errors_of(data)) == {
        "contact.name", "contact.email", "contact.phone", "contact.postcode",
        "contact.company", "attendees.0.name", "attendees.0.email",
        "attendees.0.access_needs",
    }


def test_invisible_and_bidi_characters_are_removed_from_names():
    data = body()
    data["contact"]["name"] = "\u202eJa\u200bne\x00 Smith"
    assert parse_booking_request(data, max_seats=12).contact.name == "Jane Smith"


@pytest.mark.parametrize("max_seats", [0, -1, None, True])
def test_a_bad_max_seats_is_a_programming_error(max_seats):
    with pytest.raises(ValueError):
        parse_booking_request(VALID, max_seats=max_seats)


# --- validate_field --------------------------------------------------------------

@pytest.mark.parametrize("path, value, expected", [
    ("session_id", "7", 7),
    ("contact.name", "Siobhán O’Neill", "Siobhán O'Neill"),
    ("contact.email", " Jane@Example.com ", "Jane@example.com"),
    ("contact.phone", "(0113) 4960000", "+441134960000"),
    ("contact.postcode", "ls14ap", "LS1 4AP"),
    ("contact.company", "", None),
    ("attendees", "3", 3),
    ("attendees.0.name", "Zoë", "Zoë"),
    ("attendees.11.email", "", None),
    ("attendees.2.access_needs", "Ramp\n\n\nplease", "Ramp\n\nplease"),
])
def test_validate_field_normalises_one_field_by_path(path, value, expected):
    assert validate_field(path, value, max_seats=12) == expected


@pytest.mark.parametrize("path, value, message", [
    ("session_id", "abc", "Choose a course date from the list."),
    ("contact.name", "", "Enter your name."),
    ("contact.name", "Jane2", "Use letters, spaces, hyphens, apostrophes and full stops only."),
    ("contact.email", "jane@", "Enter an email address in the correct format, like name@example.com."),
    ("contact.phone", "", "Enter a phone number."),
    ("contact.postcode", "LS1", "Enter a UK postcode, like LS1 4AP."),
    ("attendees", "13", "You can book up to 12 seats at once."),
    ("attendees", 0, "Book at least 1 seat."),
    ("attendees.0.name", "", "Enter full name."),
    ("attendees.0.access_needs", "x" * 501, "Access needs must be 500 characters or fewer."),
])
def test_validate_field_raises_the_same_message_as_the_full_parse(path, value, message):
    with pytest.raises(FieldError) as info:
        validate_field(path, value, max_seats=12)
    assert info.value.message == message


@pytest.mark.parametrize("path", [
    "", "contact", "contact.", "contact.is_admin", "contact.name.first", "attendees.",
    "attendees.x.name", "attendees.-1.name", "attendees.01.name", "attendees.0",
    "attendees.0.phone", "attendees.0.name.x", "session", "body", "__class__",
    "contact.__class__", "CONTACT.NAME",
])
def test_validate_field_with_an_unknown_path_raises_key_error(path):
    with pytest.raises(KeyError):
        validate_field(path, "x", max_seats=12)


@pytest.mark.parametrize("path", [
    "contact.name", "contact.email", "contact.phone", "contact.postcode", "contact.company",
    "attendees.0.name", "attendees.0.email", "attendees.0.access_needs",
])
def test_validate_field_agrees_with_the_full_parse(path):
    parsed = parse_booking_request(VALID, max_seats=12)
    section, *rest = path.split(".")
    raw = VALID[section][int(rest[0])][rest[1]] if section == "attendees" else VALID[section][rest[0]]
    obj = parsed.attendees[int(rest[0])] if section == "attendees" else parsed.contact
    assert validate_field(path, raw, max_seats=12) == getattr(obj, rest[-1])


# --- property ----------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["session_id", "contact", "attendees", "name", "email",
                                       "phone", "postcode", "company", "access_needs", "x"]),
                      children, max_size=6),
    max_leaves=25,
)


@settings(deadline=None, max_examples=300)
@given(_json)
def test_any_json_body_either_parses_or_fails_with_validation_failed(data):
    try:
        result = parse_booking_request(data, max_seats=12)
    except ValidationFailed as exc:
        assert exc.errors
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in exc.errors.items())
    else:
        assert isinstance(result, BookingRequest)
