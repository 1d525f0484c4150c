"""A customer books a seat in a real browser, as on a phone."""
import re

import pytest

from factories import SessionFactory

pytestmark = pytest.mark.e2e


def test_customer_books_and_pays_from_the_session_page(live_server, page):
    session = SessionFactory(capacity=4)
    page.goto(f"{live_server}/sessions/{session.id}")
    page.get_by_role("link", name="Book now").click()
    # The form checks fields as you type once htmx has run (a deferred script):
    # wait for the new page's load event before typing into it.
    page.wait_for_url(re.compile(rf"/sessions/{session.id}/book$"), wait_until="load")

    page.fill("#contact-name", "Priya Shah")
    page.fill("#contact-email", "priya@")
    page.press("#contact-email", "Tab")
    error = page.locator("#contact-email-error")
    error.wait_for(state="visible")
    assert "email" in error.inner_text().lower()
    assert page.get_attribute("#contact-email", "aria-invalid") == "true"

    page.fill("#contact-email", "priya@example.com")
    page.press("#contact-email", "Tab")
    page.wait_for_function(
        "document.querySelector('#contact-email').getAttribute('aria-invalid') !== 'true'")
    page.fill("#contact-phone", "07700 900123")
    page.fill("#contact-postcode", "ls1 4ap")
    page.fill("#attendees-0-name", "Siobhán O'Brien")
    page.get_by_role("button", name="Continue to payment").click()

    page.wait_for_url(re.compile(r"/bookings/[A-Z0-9]+/pay\?token="))
    assert "held until" in page.inner_text("main").lower()
    page.get_by_role("button", name=re.compile(r"^Pay £")).click()

    # The (fake) provider's checkout page; its "pay" sends the signed webhook.
    page.wait_for_url(re.compile(r"/checkout/fake/"))
    page.get_by_role("button", name=re.compile(r"^Pay £")).click()

    page.get_by_text(re.compile("booking confirmed", re.I)).wait_for(timeout=20_000)
    reference = page.url.split("/bookings/")[1].split("/")[0]
    assert reference in page.inner_text("main")


def test_session_calendar_filters_update_without_a_reload_and_keep_the_url(live_server, page):
    leeds = SessionFactory(venue__town="Leeds")
    york = SessionFactory(venue__town="York", venue__postcode="YO1 7HH")
    page.goto(f"{live_server}/sessions")
    page.evaluate("window.__marker = 'same page'")
    page.select_option("select[name=town]", "York")
    page.wait_for_url(re.compile(r"town=York"))
    results = page.locator("#session-results")
    results.get_by_role("link", name=york.course.title, exact=True).wait_for()
    assert leeds.course.title not in results.inner_text()
    assert page.evaluate("window.__marker") == "same page"
