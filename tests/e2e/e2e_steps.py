"""Steps the browser journeys share."""
from __future__ import annotations

import re

from staff_helpers import STAFF_PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def open_booking_form(page, axe_check, base: str, session_id: int) -> None:
    """From the session page, follow "Book now" to the form, checking both pages."""
    page.goto(f"{base}/sessions/{session_id}")
    axe_check(page)
    page.get_by_role("link", name="Book now").click()
    # The form checks fields as you type once htmx has run (a deferred script):
    # wait for the new page's load event before typing into it.
    page.wait_for_url(re.compile(rf"/sessions/{session_id}/book$"), wait_until="load")
    axe_check(page)


def fill_contact(page, *, email: str = "priya@example.com") -> None:
    page.fill("#contact-name", "Priya Shah")
    page.fill("#contact-email", email)
    page.fill("#contact-phone", "07700 900123")
    page.fill("#contact-postcode", "ls1 4ap")


def continue_to_payment(page, axe_check) -> None:
    """Agree to the terms (the form refuses to hold seats without it) and continue."""
    page.check("#accept_terms")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/bookings/[A-Z0-9]+/pay\?token="), wait_until="load")
    axe_check(page)


def sign_in(page, axe_check, base: str, user, landing: str) -> None:
    """Staff sign-in through the real form, from the footer link of the home page."""
    page.goto(base + "/")
    axe_check(page)
    page.get_by_role("link", name="Staff sign in").click()
    page.wait_for_url(re.compile(r"/login"), wait_until="load")
    axe_check(page)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(landing), wait_until="load")
    axe_check(page)
