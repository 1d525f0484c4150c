"""A customer books, pays and cancels in a real browser, as on a phone; pages
stay accessible (axe-core) at every step."""
import re

import pytest
from playwright.sync_api import expect

from app.web.signed_links import signed_path
from e2e_steps import continue_to_payment, fill_contact, open_booking_form
from factories import AttendeeFactory, BookingFactory, SessionFactory

pytestmark = pytest.mark.e2e


def test_customer_books_two_seats_correcting_errors_pays_and_sees_the_confirmation(
        live_server, page, axe_check):
    session = SessionFactory(capacity=4, course__price_pence=4500)
    open_booking_form(page, axe_check, live_server, session.id)

    # An inline error as you type: shown next to the field, which is marked invalid.
    fill_contact(page, email="priya@")
    page.press("#contact-email", "Tab")
    error = page.locator("#contact-email-error")
    error.wait_for(state="visible")
    assert "email" in error.inner_text().lower()
    assert page.get_attribute("#contact-email", "aria-invalid") == "true"
    axe_check(page)
    page.fill("#contact-email", "priya@example.com")
    page.press("#contact-email", "Tab")
    expect(page.locator("#contact-email")).not_to_have_attribute("aria-invalid", "true")
    error.wait_for(state="hidden")

    # Two seats: a second attendee block and the running total, without a reload.
    page.get_by_label("Number of seats").select_option("2")
    page.locator("#attendees-1-name").wait_for()
    page.locator("#booking-total", has_text="£90").wait_for()
    page.fill("#attendees-0-name", "Siobhán O'Brien")

    # Sent with the second name missing: the error summary links to the field.
    page.get_by_role("button", name="Continue to payment").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_load_state("load")
    axe_check(page)
    assert summary.locator("a[href='#attendees-1-name']").count() == 1
    assert page.get_attribute("#attendees-1-name", "aria-invalid") == "true"
    assert page.input_value("#attendees-0-name") == "Siobhán O'Brien"  # nothing retyped
    page.fill("#attendees-1-name", "Łukasz Nowak")
    continue_to_payment(page, axe_check)

    assert "held until" in page.inner_text("main").lower()
    page.get_by_role("button", name=re.compile(r"^Pay £90\b")).click()
    # The (fake) provider's checkout page; its "pay" sends the signed webhook.
    page.wait_for_url(re.compile(r"/checkout/fake/"), wait_until="load")
    axe_check(page)
    page.get_by_role("button", name=re.compile(r"^Pay £")).click()

    page.get_by_role("heading", name="Booking confirmed").wait_for(timeout=20_000)
    page.wait_for_url(re.compile(r"/confirmation"), wait_until="load")
    axe_check(page)
    reference = page.url.split("/bookings/")[1].split("/")[0]
    main = page.inner_text("main")
    assert reference in main and "£90" in main


def test_customer_cancels_through_the_manage_link(app, live_server, page, axe_check):
    booking = BookingFactory(session=SessionFactory(capacity=6), seats=1)
    AttendeeFactory(booking=booking, full_name="Amira Khan")
    with app.test_request_context():
        manage_path = signed_path("booking.manage", booking.reference)

    page.goto(live_server + manage_path)
    axe_check(page)
    page.get_by_role("link", name="Cancel booking").click()
    page.wait_for_url(re.compile(r"/cancel\?token="), wait_until="load")
    axe_check(page)
    page.get_by_role("button", name="Yes, cancel my booking").click()
    page.wait_for_url(re.compile(rf"/bookings/{booking.reference}\?token="), wait_until="load")
    page.locator("[data-status=cancelled]").wait_for()
    axe_check(page)
    assert "Cancelled" in page.inner_text("main")


def test_session_calendar_filters_update_without_a_reload_and_keep_the_url(
        live_server, page, axe_check):
    leeds = SessionFactory(venue__town="Leeds")
    york = SessionFactory(venue__town="York", venue__postcode="YO1 7HH")
    page.goto(f"{live_server}/sessions")
    axe_check(page)
    page.evaluate("window.__marker = 'same page'")
    page.select_option("select[name=town]", "York")
    page.wait_for_url(re.compile(r"town=York"))
    results = page.locator("#session-results")
    results.get_by_role("link", name=york.course.title, exact=True).wait_for()
    assert leeds.course.title not in results.inner_text()
    assert page.evaluate("window.__marker") == "same page"
    axe_check(page)


def test_back_on_the_calendar_shows_the_filter_the_url_and_results_say(
        live_server, page, axe_check):
    SessionFactory(venue__town="Leeds")
    york = SessionFactory(venue__town="York", venue__postcode="YO1 7HH")
    page.goto(f"{live_server}/sessions")
    axe_check(page)
    town = page.locator("select[name=town]")
    town.select_option("York")
    page.wait_for_url(re.compile(r"town=York"))
    town.select_option("Leeds")
    page.wait_for_url(re.compile(r"town=Leeds"))

    page.go_back()
    page.wait_for_url(re.compile(r"town=York"))
    page.locator("#session-results").get_by_role(
        "link", name=york.course.title, exact=True).wait_for()
    expect(town).to_have_value("York")

    page.go_back()
    page.wait_for_url(re.compile(r"/sessions$"))
    expect(town).to_have_value("")
    axe_check(page)


def test_a_failed_submit_moves_focus_to_the_error_summary(live_server, page, axe_check):
    """A screen reader then reads "There is a problem" and the list of errors."""
    session = SessionFactory()
    open_booking_form(page, axe_check, live_server, session.id)
    assert page.evaluate("document.activeElement === document.body")

    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_load_state("load")
    summary = page.locator(".error-summary")
    summary.wait_for()
    expect(summary).to_be_focused()
    assert "There is a problem" in summary.inner_text()
    axe_check(page)
