"""The customer's booking journey in pages: form, hold, fake payment, confirmation,
manage link. Plain form posts (JavaScript off) and the HTMX requests alike."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest

from app.extensions import db
from app.models import Attendee, BookingStatus, Refund, RefundStatus, SessionStatus, utcnow
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.core.tokens import manage_token
from app.web.formatting import uk_date
from app.web.forms import form_to_booking_data

from factories import AttendeeFactory, BookingFactory, SessionFactory

HTMX = {"HX-Request": "true"}
XSS_NAME = '<script>alert("pwned")</script>'
SQL_NAME = "Robert'); DROP TABLE bookings;--"


# -- helpers ----------------------------------------------------------------------------------
def form_data(seats: int = 1, /, **overrides) -> dict:
    """A valid booking form as the browser posts it."""
    data = {
        "contact-name": "Priya Shah",
        "contact-email": "priya@example.com",
        "contact-phone": "07700 900123",
        "contact-postcode": "ls1 4ap",
        "contact-company": "Acme Ltd",
        "seats": str(seats),
        "accept_terms": "y",
        "action": "book",
    }
    for index in range(seats):
        data[f"attendees-{index}-name"] = f"Learner {chr(65 + index)}"
        data[f"attendees-{index}-email"] = ""
        data[f"attendees-{index}-access_needs"] = ""
    data.update(overrides)
    return data


def book(client, session_id: int, seats: int = 1, **overrides):
    return client.post(f"/sessions/{session_id}/book", data=form_data(seats, **overrides))


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def reference_of(pay_location: str) -> str:
    return urlparse(pay_location).path.split("/")[2]


def text(response) -> str:
    return response.get_data(as_text=True)


def error_for(html: str, field_id: str) -> str:
    """The text of a field's error element ('' when hidden/empty)."""
    match = re.search(rf'<p id="{re.escape(field_id)}-error"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no error element for {field_id}"
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))).replace("Error: ", "").strip()


def input_tag(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert match, f"no input {field_id}"
    return match.group(0)


def held_booking(session=None, **kwargs):
    session = session or SessionFactory()
    booking = BookingFactory(session=session, status=BookingStatus.HELD,
                             **{"contact_name": "Priya Shah", **kwargs})
    AttendeeFactory(booking=booking, position=0, full_name="Sam O'Neill")
    return booking


def confirmed_booking(session=None, **kwargs):
    session = session or SessionFactory()
    booking = BookingFactory(session=session, status=BookingStatus.CONFIRMED,
                             hold_expires_at=None, confirmed_at=utcnow(),
                             **{"contact_name": "Priya Shah", **kwargs})
    AttendeeFactory(booking=booking, position=0, full_name="Sam O'Neill")
    return booking


def link(app, endpoint_path: str, reference: str) -> str:
    return f"{endpoint_path}?token={manage_token(reference, secret_key=app.config['SECRET_KEY'])}"


# -- the form ---------------------------------------------------------------------------------
def test_form_renders_with_every_field_labelled_and_a_seat_choice_capped_by_seats_left(client):
    session = SessionFactory(capacity=3)
    response = client.get(f"/sessions/{session.id}/book")
    html = text(response)
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    for field_id in ("contact-name", "contact-email", "contact-phone", "contact-postcode",
                     "contact-company", "seats", "attendees-0-name", "attendees-0-email",
                     "attendees-0-access_needs"):
        assert f'<label for="{field_id}"' in html
        assert f"{field_id}-error" in input_tag(html, field_id)
    assert re.findall(r'<option[^>]*value="(\d+)"', html) == ["1", "2", "3"]
    assert "medical information" in html
    assert 'hx-post="/sessions/%d/book/validate"' % session.id in input_tag(html, "contact-email")


def test_seat_choice_stops_at_the_per_booking_maximum(client, app):
    session = SessionFactory(capacity=40)
    html = text(client.get(f"/sessions/{session.id}/book"))
    options = re.findall(r'<option[^>]*value="(\d+)"', html)
    assert options[-1] == str(app.config["MAX_SEATS_PER_BOOKING"])


def test_unknown_session_is_404(client):
    assert client.get("/sessions/999999/book").status_code == 404


def test_sold_out_session_form_shows_the_message_and_no_form(client):
    session = SessionFactory(capacity=1)
    confirmed_booking(session)
    response = client.get(f"/sessions/{session.id}/book")
    assert "fully booked" in text(response)
    assert "<form class=\"booking-form\"" not in text(response)


def test_bad_input_is_422_with_each_message_next_to_its_field_and_a_linked_summary(client):
    session = SessionFactory()
    response = book(client, session.id, seats=2, **{
        "contact-email": "not-an-email", "contact-postcode": "nowhere",
        "attendees-1-name": ""})
    html = text(response)
    assert response.status_code == 422
    assert "email address in the correct format" in error_for(html, "contact-email")
    assert "UK postcode" in error_for(html, "contact-postcode")
    assert error_for(html, "attendees-1-name") == "Enter full name."
    assert error_for(html, "attendees-0-name") == ""
    assert 'aria-invalid="true"' in input_tag(html, "contact-email")
    assert 'aria-invalid' not in input_tag(html, "contact-name")
    summary = html[html.index('class="error-summary"'):html.index("</ul>", html.index('class="error-summary"'))]
    assert 'role="alert"' in html[:html.index('class="error-summary"') + 100]
    assert summary.index('href="#contact-email"') < summary.index('href="#contact-postcode"') \
        < summary.index('href="#attendees-1-name"')
    # typed values are kept
    assert 'value="not-an-email"' in input_tag(html, "contact-email")
    assert 'value="Learner A"' in input_tag(html, "attendees-0-name")
    assert "<title>Error:" in html


def test_script_in_a_name_is_refused_and_never_echoed_unescaped(client):
    session = SessionFactory()
    response = book(client, session.id, **{"attendees-0-name": XSS_NAME,
                                           "contact-company": XSS_NAME})
    html = text(response)
    assert response.status_code == 422
    assert "letters, spaces, hyphens" in error_for(html, "attendees-0-name")
    assert XSS_NAME not in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in input_tag(html, "attendees-0-name")


def test_sql_in_a_name_is_refused_as_a_name(client, db_session):
    session = SessionFactory()
    response = book(client, session.id, **{"contact-name": SQL_NAME})
    assert response.status_code == 422
    assert "letters, spaces, hyphens" in error_for(text(response), "contact-name")
    assert booking_service.seats_available(session) == session.capacity


def test_tampered_seat_count_is_refused_next_to_the_seat_field(client, app):
    session = SessionFactory(capacity=40)
    too_many = app.config["MAX_SEATS_PER_BOOKING"] + 1
    url = f"/sessions/{session.id}/book"
    response = client.post(url, data={**form_data(1), "seats": str(too_many)})
    assert response.status_code == 422
    assert "up to" in error_for(text(response), "seats")
    response = client.post(url, data={**form_data(1), "seats": "99999999999"})
    assert response.status_code == 422
    assert "at least 1 seat" in error_for(text(response), "seats")


def test_form_adapter_builds_the_validation_layer_shape_one_attendee_per_seat():
    data = form_to_booking_data({**form_data(2), "attendees-2-name": "Left over"}, session_id=7)
    assert data["session_id"] == 7
    assert data["contact"]["postcode"] == "ls1 4ap"
    assert [a["name"] for a in data["attendees"]] == ["Learner A", "Learner B"]
    assert set(data["attendees"][0]) == {"name", "email", "access_needs", "certificate_expires_on"}


# -- as-you-type validation (HTMX) -----------------------------------------------------------------
def test_field_check_returns_the_message_fragment_for_a_bad_value(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book/validate", headers=HTMX,
                           data={"field": "contact-postcode", "contact-postcode": "XX"})
    html = text(response)
    assert response.status_code == 200
    assert html.strip().startswith('<p id="contact-postcode-error"')
    assert "Enter a UK postcode" in html
    assert response.headers["X-Field-Valid"] == "false"
    assert "<html" not in html


def test_field_check_returns_an_empty_hidden_element_for_a_good_value(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book/validate", headers=HTMX,
                           data={"field": "attendees-3-name", "attendees-3-name": "Zoë O’Brien"})
    assert response.status_code == 200
    assert error_for(text(response), "attendees-3-name") == ""
    assert " hidden" in text(response)
    assert response.headers["X-Field-Valid"] == "true"


def test_field_check_uses_htmx_trigger_name_when_no_field_is_named(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book/validate",
                           headers={**HTMX, "HX-Trigger-Name": "contact-email"},
                           data={"contact-email": "bad"})
    assert "correct format" in error_for(text(response), "contact-email")


def test_field_check_escapes_what_it_is_given_and_refuses_unknown_fields(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book/validate", headers=HTMX,
                           data={"field": "contact-name", "contact-name": XSS_NAME})
    assert "letters, spaces" in text(response) and "<script" not in text(response)
    response = client.post(f"/sessions/{session.id}/book/validate", headers=HTMX,
                           data={"field": '"><script>x</script>', "x": "1"})
    assert response.status_code == 400
    assert "<script>x" not in text(response)


# -- resizing the attendee blocks ------------------------------------------------------------------
def test_resize_without_javascript_rerenders_the_page_keeping_typed_values(client):
    session = SessionFactory()
    data = form_data(2, action="resize", seats="3",
                     **{"attendees-1-access_needs": "Step-free access please"})
    response = client.post(f"/sessions/{session.id}/book", data=data)
    html = text(response)
    assert response.status_code == 200
    assert "<html" in html
    assert 'value="Priya Shah"' in input_tag(html, "contact-name")
    assert 'value="Learner B"' in input_tag(html, "attendees-1-name")
    assert "Step-free access please</textarea>" in html
    assert 'value=""' in input_tag(html, "attendees-2-name")
    assert "attendees-3-name" not in html
    assert "error-summary" not in html  # resizing is not submitting


def test_resize_smaller_drops_the_extra_blocks(client):
    session = SessionFactory()
    html = text(client.post(f"/sessions/{session.id}/book",
                            data=form_data(3, action="resize", seats="1")))
    assert "attendees-1-name" not in html and 'value="Learner A"' in html


def test_resize_over_htmx_returns_only_the_attendee_blocks_and_the_total(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book", headers=HTMX,
                           data=form_data(1, action="resize", seats="2"))
    html = text(response)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<div id="attendees"')
    assert "<html" not in html
    assert 'value="Learner A"' in input_tag(html, "attendees-0-name")
    assert "attendees-1-name" in html
    assert 'id="price-summary" class="price-summary" aria-live="polite" hx-swap-oob="outerHTML"' \
        in html and 'data-amount-pence="20000"' in html


def test_get_with_a_seat_count_over_htmx_returns_empty_blocks(client):
    session = SessionFactory()
    html = text(client.get(f"/sessions/{session.id}/book?seats=2", headers=HTMX))
    assert html.lstrip().startswith('<div id="attendees"') and "attendees-1-name" in html


# -- holding, paying and confirming ---------------------------------------------------------------
def test_good_input_holds_seats_and_redirects_303_to_the_signed_pay_page(client, app):
    session = SessionFactory(capacity=5)
    response = book(client, session.id, seats=2)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "/pay?token=" in location
    reference = reference_of(location)
    booking = booking_service.get_booking(reference)
    assert booking.status == BookingStatus.HELD and booking.seats == 2
    assert booking.contact_postcode == "LS1 4AP" and booking.contact_phone == "+447700900123"
    assert [a.full_name for a in booking.attendees] == ["Learner A", "Learner B"]


def test_whole_journey_form_to_pay_to_confirmation_to_manage(client, app):
    session = SessionFactory(capacity=5)
    pay_page_url = book(client, session.id, seats=2).headers["Location"]
    reference = reference_of(pay_page_url)

    pay_page = client.get(pay_page_url)
    html = text(pay_page)
    assert pay_page.status_code == 200
    assert reference in html and "Learner A" in html and "Learner B" in html
    assert "Your seats are held until" in html
    assert "data-expires-at=" in html and "js/countdown.js" in html
    assert "Pay £200" in html and "test payment provider" in html
    assert pay_page.headers["Cache-Control"] == "no-store"
    assert pay_page.headers["Referrer-Policy"] == "strict-origin"

    # "Pay" goes on to the (fake) provider's checkout page...
    checkout = client.post(pay_page_url, data={"action": "pay"})
    assert checkout.status_code == 303 and "/checkout/fake/cs_fake_" in checkout.headers["Location"]
    html = text(client.get(checkout.headers["Location"]))
    assert "Pay £200" in html and "Decline card" in html and "Abandon" in html
    # ...whose "pay" sends a signed webhook; the booking is confirmed by that, and the
    # provider's return page then moves on to the confirmation.
    paid = client.post(checkout.headers["Location"], data={"action": "pay"})
    assert paid.status_code == 303 and "/payment-received?token=" in paid.headers["Location"]
    assert booking_service.get_booking(reference).status == BookingStatus.CONFIRMED
    returned = client.get(paid.headers["Location"])
    assert returned.status_code == 303 and "/confirmation?token=" in returned.headers["Location"]

    confirmation = client.get(returned.headers["Location"])
    html = text(confirmation)
    assert confirmation.status_code == 200
    assert "Booking confirmed" in html
    assert re.search(rf'class="reference reference--big">{reference}<', html)
    assert "Amount paid" in html and "£200" in html
    assert session.venue.name in html
    manage_link = re.search(r'id="manage-link"[^>]*value="([^"]+)"', html).group(1)
    assert manage_link.startswith(app.config["PUBLIC_BASE_URL"] + "/bookings/")

    manage = client.get(unescape(manage_link))
    html = text(manage)
    assert manage.status_code == 200
    assert reference in html and "Confirmed." in html and "Priya Shah" in html
    assert 'value="Learner A"' in html  # the rename form, before the cut-off


def checkout_page(client, pay_page_url: str) -> str:
    """Press "Pay" on the hold page: the fake provider's checkout page it leads to."""
    response = client.post(pay_page_url, data={"action": "pay"})
    assert response.status_code == 303 and "/checkout/fake/" in response.headers["Location"]
    return response.headers["Location"]


def test_paying_twice_is_harmless_and_the_pay_page_then_sends_you_to_the_confirmation(client):
    session = SessionFactory()
    pay_page_url = book(client, session.id).headers["Location"]
    checkout_url = checkout_page(client, pay_page_url)
    assert checkout_page(client, pay_page_url) == checkout_url  # the same checkout again
    client.post(checkout_url, data={"action": "pay"})
    client.post(checkout_url, data={"action": "pay"})
    again = client.post(pay_page_url, data={"action": "pay"})
    assert again.status_code == 303 and "/confirmation" in again.headers["Location"]
    assert client.get(pay_page_url).status_code == 303


def test_decline_keeps_the_hold_and_says_until_when(client):
    session = SessionFactory(capacity=2)
    pay_page_url = book(client, session.id).headers["Location"]
    reference = reference_of(pay_page_url)
    response = client.post(checkout_page(client, pay_page_url), data={"action": "decline"})
    html = text(response)
    assert response.status_code == 402
    assert "Your card was declined." in html
    assert re.search(r"Your seats are still held until \d{1,2}:\d\d[ap]m\.", html)
    booking = booking_service.get_booking(reference)
    assert booking.status == BookingStatus.HELD
    assert booking_service.seats_available(session) == 1


def test_abandon_cancels_the_hold_and_goes_back_to_the_session_page(client):
    session = SessionFactory(capacity=2)
    pay_page_url = book(client, session.id).headers["Location"]
    reference = reference_of(pay_page_url)
    response = client.post(checkout_page(client, pay_page_url), data={"action": "abandon"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sessions/{session.id}")
    assert booking_service.get_booking(reference).status == BookingStatus.CANCELLED
    assert booking_service.seats_available(session) == 2
    assert "seats you held have been released" in text(client.get(response.headers["Location"]))


def test_unknown_checkout_action_is_400(client):
    session = SessionFactory()
    pay_page_url = book(client, session.id).headers["Location"]
    assert client.post(pay_page_url, data={"action": "steal"}).status_code == 400


def test_fake_checkout_is_refused_when_the_real_provider_is_configured(client, app):
    session = SessionFactory()
    pay_page_url = book(client, session.id).headers["Location"]
    checkout_url = checkout_page(client, pay_page_url)
    app.config.update(PAYMENT_PROVIDER="stripe", STRIPE_API_BASE="http://127.0.0.1:9",
                      STRIPE_CONNECT_TIMEOUT_SECONDS=0.5)
    payments.init_app(app)  # as a restart with the new settings would
    assert client.get(checkout_url).status_code == 404
    assert client.post(checkout_url, data={"action": "pay"}).status_code == 404
    # With Stripe unreachable, "Pay" lands on the paused page and the seats stay held.
    paid = client.post(pay_page_url, data={"action": "pay"})
    assert paid.status_code == 303 and "/payment-paused?token=" in paid.headers["Location"]
    assert booking_service.get_booking(reference_of(pay_page_url)).status == BookingStatus.HELD


@pytest.mark.parametrize("status", [BookingStatus.HELD, BookingStatus.EXPIRED])
def test_expired_hold_shows_the_expired_page_with_a_link_to_book_again(client, app, status):
    booking = held_booking(hold_expires_at=utcnow() - timedelta(minutes=1))
    if status == BookingStatus.EXPIRED:
        booking_service.expire_holds()
    url = link(app, f"/bookings/{booking.reference}/pay", booking.reference)
    response = client.get(url)
    html = text(response)
    assert response.status_code == 200
    assert "Your hold has expired" in html and "not been charged" in html
    assert f'href="/sessions/{booking.session_id}/book"' in html
    paid = client.post(url, data={"action": "pay"})
    assert paid.status_code == 409 and "Your hold has expired" in text(paid)
    assert booking_service.get_booking(booking.reference).status != BookingStatus.CONFIRMED


def test_sold_out_between_form_and_submit_is_409_with_the_message(client):
    session = SessionFactory(capacity=1)
    confirmed_booking(session)
    response = book(client, session.id)
    assert response.status_code == 409
    assert "Sorry, this session is fully booked." in text(response)


def test_too_few_seats_left_is_409_and_keeps_what_was_typed(client):
    session = SessionFactory(capacity=3)
    confirmed_booking(session, seats=2)
    response = book(client, session.id, seats=2, **{"contact-company": "Leeds Nursery"})
    html = text(response)
    assert response.status_code == 409
    assert "Only 1 seat is left on this session." in error_for(html, "seats")
    assert 'value="Leeds Nursery"' in input_tag(html, "contact-company")
    assert 'value="Learner B"' in input_tag(html, "attendees-1-name")


def test_cancelled_session_cannot_be_booked(client):
    from app.models import SessionStatus

    session = SessionFactory(status=SessionStatus.CANCELLED)
    assert "has been cancelled" in text(client.get(f"/sessions/{session.id}/book"))
    response = book(client, session.id)
    assert response.status_code == 409 and "cancelled" in text(response)


# -- signed links -------------------------------------------------------------------------------
PAGES = ["/bookings/{ref}", "/bookings/{ref}/pay", "/bookings/{ref}/confirmation",
         "/bookings/{ref}/cancel"]


@pytest.mark.parametrize("page", PAGES)
def test_wrong_tampered_or_borrowed_tokens_show_nothing_of_the_booking(client, app, page):
    booking = confirmed_booking(contact_name="Priya Shah")
    other = confirmed_booking(contact_name="Someone Else")
    good = manage_token(booking.reference, secret_key=app.config["SECRET_KEY"])
    tampered = ("A" if good[0] != "A" else "B") + good[1:]
    borrowed = manage_token(other.reference, secret_key=app.config["SECRET_KEY"])
    path = page.format(ref=booking.reference)
    for query in ("", "?token=", "?token=wrong", f"?token={tampered}", f"?token={borrowed}",
                  "?token=" + "x" * 5000):
        response = client.get(path + query)
        html = text(response)
        assert response.status_code == 403, query
        assert "Priya Shah" not in html and "Sam O&#39;Neill" not in html
        assert "Sam O'Neill" not in html and booking.reference not in html
    assert client.get(f"{path}?token={good}").status_code in (200, 303)


def test_unknown_reference_is_indistinguishable_from_a_bad_token(client, app):
    token = manage_token("NOSUCHREF2", secret_key=app.config["SECRET_KEY"])
    unknown = client.get(f"/bookings/NOSUCHREF2?token={token}")
    bad = client.get("/bookings/NOSUCHREF2?token=bad")
    assert unknown.status_code == bad.status_code == 403
    assert text(unknown) == text(bad)


def test_posts_with_a_bad_token_change_nothing(client, app):
    booking = confirmed_booking()
    for path, data in ((f"/bookings/{booking.reference}/cancel", {}),
                       (f"/bookings/{booking.reference}/attendees",
                        {"attendees-0-name": "Mallory Evil"}),
                       (f"/bookings/{booking.reference}/pay", {"action": "abandon"})):
        assert client.post(f"{path}?token=wrong", data=data).status_code == 403
    booking = booking_service.get_booking(booking.reference)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.attendees[0].full_name == "Sam O'Neill"


# -- manage: names and cancellation -------------------------------------------------------------
def test_rename_before_the_cut_off_saves_the_new_name(client, app):
    booking = confirmed_booking()
    url = link(app, f"/bookings/{booking.reference}/attendees", booking.reference)
    response = client.post(url, data={"attendees-0-name": "Samantha O’Neill"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Attendee names updated" in page
    assert booking_service.get_booking(booking.reference).attendees[0].full_name \
        == "Samantha O'Neill"


def test_rename_with_a_bad_name_shows_the_message_next_to_that_field(client, app):
    booking = confirmed_booking()
    url = link(app, f"/bookings/{booking.reference}/attendees", booking.reference)
    response = client.post(url, data={"attendees-0-name": XSS_NAME})
    html = text(response)
    assert response.status_code == 422
    assert "letters, spaces, hyphens" in error_for(html, "attendees-0-name")
    assert 'href="#attendees-0-name"' in html
    assert XSS_NAME not in html and "&lt;script&gt;" in input_tag(html, "attendees-0-name")


def test_rename_after_the_cut_off_is_refused_and_not_offered(client, app):
    soon = SessionFactory(starts_at=utcnow() + timedelta(hours=5))
    booking = confirmed_booking(soon)
    manage_page = text(client.get(link(app, f"/bookings/{booking.reference}", booking.reference)))
    assert "Save names" not in manage_page and "Sam O&#39;Neill" in manage_page
    url = link(app, f"/bookings/{booking.reference}/attendees", booking.reference)
    response = client.post(url, data={"attendees-0-name": "Someone Else"})
    assert response.status_code == 409
    assert "Please call us" in text(response)
    assert booking_service.get_booking(booking.reference).attendees[0].full_name == "Sam O'Neill"


@pytest.mark.parametrize("days_before, refund", [(20, "£100"), (5, "£50")])
def test_cancel_asks_first_showing_the_refund_owed_then_cancels(client, app, days_before, refund):
    session = SessionFactory(starts_at=utcnow() + timedelta(days=days_before))
    booking = confirmed_booking(session)
    url = link(app, f"/bookings/{booking.reference}/cancel", booking.reference)
    question = client.get(url)
    assert question.status_code == 200
    assert f"Are you sure? You will be refunded {refund}" in text(question)
    assert booking_service.get_booking(booking.reference).status == BookingStatus.CONFIRMED

    response = client.post(url)
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Your booking has been cancelled." in page
    assert f"Refund of <strong>{refund}</strong> on its way" in page
    assert "Cancel booking</a>" not in page


def test_cancel_inside_the_no_refund_window_says_no_refund_is_due(client, app):
    booking = confirmed_booking(SessionFactory(starts_at=utcnow() + timedelta(hours=30)))
    html = text(client.get(link(app, f"/bookings/{booking.reference}/cancel",
                                booking.reference)))
    assert "No refund is due" in html


def test_cancelling_a_cancelled_booking_is_refused_politely(client, app):
    booking = confirmed_booking()
    url = link(app, f"/bookings/{booking.reference}/cancel", booking.reference)
    client.post(url)
    response = client.post(url)
    assert response.status_code == 409 and "cannot be cancelled" in text(response)


def cancelled_booking(refund_due_pence: int, session=None):
    """A paid booking, since cancelled, owed `refund_due_pence`."""
    booking = BookingFactory(session=session or SessionFactory(), status=BookingStatus.CANCELLED,
                             hold_expires_at=None, confirmed_at=utcnow(), cancelled_at=utcnow(),
                             refund_due_pence=refund_due_pence)
    AttendeeFactory(booking=booking, position=0, full_name="Sam O'Neill")
    return booking


def add_refund(booking, pence: int, status: RefundStatus) -> Refund:
    refund = Refund(booking_id=booking.id, amount_pence=pence, reason="cancellation",
                    status=status, idempotency_key=f"refund-{booking.reference}-cancellation")
    db.session.add(refund)
    db.session.commit()
    return refund


def manage_page(client, app, booking) -> str:
    return text(client.get(link(app, f"/bookings/{booking.reference}", booking.reference)))


def test_manage_page_says_a_refund_is_on_its_way_until_it_is_paid_then_refunded(client, app):
    booking = cancelled_booking(10000)
    queued = manage_page(client, app, booking)  # no refund row yet: the job will make it
    assert "Refund of <strong>£100</strong> on its way" in queued

    refund = add_refund(booking, 10000, RefundStatus.PENDING)
    assert "Refund of <strong>£100</strong> on its way" in manage_page(client, app, booking)

    refund.status = RefundStatus.SUCCEEDED
    db.session.commit()
    paid = manage_page(client, app, booking)
    assert f"Refunded <strong>£100</strong> on {uk_date(refund.updated_at)}" in paid
    assert "owed" not in paid and "on its way" not in paid


def test_manage_page_after_the_course_says_it_took_place_with_certificate_links(client, app):
    starts_at = (utcnow() - timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                       microsecond=0)
    session = SessionFactory(starts_at=starts_at, status=SessionStatus.COMPLETED)
    booking = confirmed_booking(session, seats=2)
    AttendeeFactory(booking=booking, position=1, full_name="Ada Lovelace", attended=False)
    issued = db.session.get(Attendee, booking.attendees[0].id)
    issued.attended = True
    issued.certificate_number = "RFT-2611-K7M2QX"
    issued.certificate_issued_on = starts_at.date()
    issued.certificate_expires_on = starts_at.date().replace(year=starts_at.year + 3)
    db.session.commit()

    page = manage_page(client, app, booking)
    assert "look forward" not in page and "This course took place" in page
    assert 'href="/verify/RFT-2611-K7M2QX"' in page
    download = re.search(r'href="(/bookings/%s/certificates/RFT-2611-K7M2QX\.pdf\?token=[^"]+)"'
                         % booking.reference, page)
    assert download, "no download link for the issued certificate"
    assert "Ada Lovelace</strong>:" in page and "no certificate was issued" in page
    assert "Cancel booking</a>" not in page and "Save names" not in page

    pdf = client.get(unescape(download.group(1)))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert client.get(f"/bookings/{booking.reference}/certificates/RFT-2611-K7M2QX.pdf"
                      "?token=wrong").status_code == 403


def test_a_booking_opens_only_its_own_certificates(client, app):
    other = confirmed_booking(SessionFactory(status=SessionStatus.COMPLETED))
    other.attendees[0].certificate_number = "RFT-2611-ABCDEF"
    db.session.commit()
    mine = confirmed_booking()
    response = client.get(link(app, f"/bookings/{mine.reference}/certificates/"
                                    "RFT-2611-ABCDEF.pdf", mine.reference))
    assert response.status_code == 404


def test_manage_page_of_a_booking_on_a_session_we_cancelled_says_so(client, app):
    booking = cancelled_booking(10000, session=SessionFactory(status=SessionStatus.CANCELLED))
    page = manage_page(client, app, booking)
    assert "We cancelled this course date" in page and "look forward" not in page


def test_manage_page_of_a_held_booking_offers_payment(client, app):
    booking = held_booking()
    html = text(client.get(link(app, f"/bookings/{booking.reference}", booking.reference)))
    assert "Awaiting payment" in html and "/pay?token=" in html


def test_confirmation_of_an_unpaid_booking_sends_you_to_pay(client, app):
    booking = held_booking()
    response = client.get(link(app, f"/bookings/{booking.reference}/confirmation",
                               booking.reference))
    assert response.status_code == 303 and "/pay?token=" in response.headers["Location"]


class TestPublicAddress:
    @pytest.fixture
    def app_config(self):
        return {"PUBLIC_BASE_URL": "https://book.example.co.uk/"}

    def test_manage_link_uses_the_public_base_url_and_pages_link_relatively(self, app):
        from app.web.booking import pay_url
        from app.web.links import site_links

        with app.test_request_context("/", headers={"Host": "evil.example"}):
            url = site_links().manage_link("ABCDEFGHJK")
            assert url.startswith("https://book.example.co.uk/bookings/ABCDEFGHJK?token=")
            assert pay_url("ABCDEFGHJK").startswith("/bookings/ABCDEFGHJK/pay?token=")


# -- CSRF ---------------------------------------------------------------------------------------
class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_posts_without_the_token_are_refused_and_with_it_accepted(self, client):
        session = SessionFactory()
        page = text(client.get(f"/sessions/{session.id}/book"))
        header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

        refused = client.post(f"/sessions/{session.id}/book", data=form_data())
        assert refused.status_code == 400 and "form expired" in text(refused)

        validate = f"/sessions/{session.id}/book/validate"
        data = {"field": "contact-email", "contact-email": "bad"}
        assert client.post(validate, headers=HTMX, data=data).status_code == 400
        accepted = client.post(validate, headers={**HTMX, "X-CSRFToken": header_token}, data=data)
        assert accepted.status_code == 200 and "correct format" in text(accepted)

        booked = client.post(f"/sessions/{session.id}/book",
                             data={**form_data(), "csrf_token": form_token})
        assert booked.status_code == 303

    def test_cancel_without_the_token_is_refused(self, client, app):
        booking = confirmed_booking()
        url = link(app, f"/bookings/{booking.reference}/cancel", booking.reference)
        assert client.post(url).status_code == 400
        page = text(client.get(url))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(url, data={"csrf_token": token}).status_code == 303
        assert booking_service.get_booking(booking.reference).status == BookingStatus.CANCELLED


def test_customer_cannot_rename_or_cancel_after_the_course_was_completed(client, app):
    starts = utcnow() - timedelta(days=2)
    booking = confirmed_booking(SessionFactory(
        starts_at=starts, ends_at=starts + timedelta(hours=7), status=SessionStatus.COMPLETED))
    rename_url = link(app, f"/bookings/{booking.reference}/attendees", booking.reference)
    renamed = client.post(rename_url, data={"attendees-0-name": "Someone Else"})
    assert renamed.status_code == 409
    assert "This course has been completed" in unescape(text(renamed))
    asked = client.get(link(app, f"/bookings/{booking.reference}/cancel", booking.reference))
    assert asked.status_code == 409 and "Are you sure" not in text(asked)
    assert "can no longer be cancelled" in unescape(text(asked))
    cancelled = client.post(link(app, f"/bookings/{booking.reference}/cancel", booking.reference))
    assert cancelled.status_code == 409
    assert "can no longer be cancelled" in unescape(text(cancelled))
    kept = booking_service.get_booking(booking.reference)
    assert kept.status == BookingStatus.CONFIRMED and kept.attendees[0].full_name == "Sam O'Neill"
