"""Seat counts update live on an open page, and booking works from the keyboard alone."""
import re

import pytest
from playwright.sync_api import expect

from e2e_steps import DESKTOP, continue_to_payment, fill_contact
from factories import SessionFactory

pytestmark = pytest.mark.e2e


def test_an_open_session_page_sees_the_seat_count_drop_when_someone_holds_seats(
        live_server, open_page, axe_check):
    session = SessionFactory(capacity=6)
    watcher = open_page(DESKTOP)
    watcher.goto(f"{live_server}/sessions/{session.id}")
    watcher.locator(".live-indicator[data-live-state=live]").wait_for()
    axe_check(watcher)
    seats = watcher.locator(f"#seats-{session.id}")
    assert seats.get_attribute("data-seats-available") == "6"
    watcher.evaluate("window.__marker = 'same page'")

    customer = open_page()
    customer.goto(f"{live_server}/sessions/{session.id}/book?seats=2", wait_until="load")
    axe_check(customer)
    fill_contact(customer)
    customer.fill("#attendees-0-name", "Siobhán O'Brien")
    customer.fill("#attendees-1-name", "Zoë Adams")
    continue_to_payment(customer, axe_check)

    expect(seats).to_have_attribute("data-seats-available", "4")
    assert "4 seats left" in seats.inner_text()
    assert "1 person is booking this session right now" in seats.inner_text()
    assert watcher.evaluate("window.__marker") == "same page"
    axe_check(watcher)


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element `selector` names has the focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus after {limit} presses of Tab")


def test_a_customer_can_book_and_pay_with_the_keyboard_alone(live_server, page, axe_check):
    """Tab, Enter, Space and typing only: no mouse click anywhere."""
    session = SessionFactory(capacity=3)
    page.goto(f"{live_server}/sessions/{session.id}")
    axe_check(page)

    page.keyboard.press("Tab")  # the first stop is the skip link, and it works
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "a.button--primary")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/sessions/{session.id}/book$"), wait_until="load")
    axe_check(page)

    for selector, text in [("#contact-name", "Priya Shah"),
                           ("#contact-email", "priya@example.com"),
                           ("#contact-phone", "07700 900123"),
                           ("#contact-postcode", "LS1 4AP"),
                           ("#attendees-0-name", "Siobhán O'Brien")]:
        tab_to(page, selector)
        page.keyboard.type(text)
    tab_to(page, "#accept_terms")
    page.keyboard.press("Space")  # the terms are agreed to before paying
    assert page.is_checked("#accept_terms")
    tab_to(page, "button.button--primary[value=book]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bookings/[A-Z0-9]+/pay\?token="), wait_until="load")
    axe_check(page)

    tab_to(page, "button[value=pay]")
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/checkout/fake/"), wait_until="load")
    axe_check(page)
    tab_to(page, "button[value=pay]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Booking confirmed").wait_for(timeout=20_000)
    page.wait_for_url(re.compile(r"/confirmation"), wait_until="load")
    axe_check(page)
