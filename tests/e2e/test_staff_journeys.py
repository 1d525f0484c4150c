"""Staff journeys in a real browser: an admin adds a session that the public
calendar then shows; a trainer takes the register on a phone."""
import re
from datetime import timedelta

import pytest

from app.models import utcnow
from e2e_steps import DESKTOP, sign_in
from factories import (
    AttendeeFactory, BookingFactory, CourseFactory, SessionFactory, VenueFactory,
)

pytestmark = pytest.mark.e2e


def test_admin_creates_a_session_that_appears_on_the_public_calendar(
        live_server, open_page, axe_check, admin_user):
    course = CourseFactory(title="Paediatric First Aid", duration_hours=6)
    VenueFactory(name="Harrogate Hall", town="Harrogate", postcode="HG1 1AA")
    day = (utcnow() + timedelta(days=21)).date()
    page = open_page(DESKTOP)
    sign_in(page, axe_check, live_server, admin_user, r"/admin/?$")

    page.goto(f"{live_server}/admin/sessions/new")
    axe_check(page)
    page.get_by_label("Course").select_option(label=f"Paediatric First Aid ({course.length_text})")
    page.get_by_label("Venue").select_option(label="Harrogate Hall, Harrogate")
    page.get_by_label("Date (first day)").fill(day.isoformat())
    page.get_by_label("Starts (UK time)").fill("09:30")
    page.get_by_role("button", name="Create").click()
    # No end time: the form comes back with the error, and is accessible with it.
    page.locator(".error-summary").wait_for()
    page.wait_for_load_state("load")
    axe_check(page)
    page.get_by_label("Ends (UK time)").fill("16:30")
    page.get_by_label("Seats").fill("10")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/admin/sessions/\d+$"), wait_until="load")
    axe_check(page)
    assert "Session created." in page.inner_text("main")

    page.goto(f"{live_server}/sessions?town=Harrogate")
    axe_check(page)
    results = page.locator("#session-results")
    results.get_by_role("link", name="Paediatric First Aid", exact=True).wait_for()
    assert "10 seats left" in results.inner_text()


def test_trainer_takes_the_register_on_a_phone(live_server, page, axe_check, trainer_user):
    now = utcnow()
    session = SessionFactory(trainer=trainer_user, course__title="Emergency First Aid at Work",
                             starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=5))
    amira = AttendeeFactory(full_name="Amira Khan", booking=BookingFactory(
        session=session, confirmed_at=now))
    tom = AttendeeFactory(full_name="Tom Price", booking=BookingFactory(
        session=session, confirmed_at=now))
    sign_in(page, axe_check, live_server, trainer_user, r"/trainer/?$")

    page.get_by_role("link", name="Emergency First Aid at Work").click()
    page.wait_for_url(re.compile(rf"/trainer/sessions/{session.id}$"), wait_until="load")
    axe_check(page)
    page.evaluate("window.__marker = 'same page'")
    page.get_by_role("button", name=re.compile(r"^Present\W+Amira Khan$")).click()
    page.locator(f"#attendee-{amira.id}[data-attended=present]").wait_for()
    page.get_by_role("button", name=re.compile(r"^Absent\W+Tom Price$")).click()
    page.locator(f"#attendee-{tom.id}[data-attended=absent]").wait_for()
    assert page.get_attribute(f"#attendee-{amira.id} button[value=present]",
                              "aria-pressed") == "true"
    assert page.evaluate("window.__marker") == "same page"  # one tap, no reload
    axe_check(page)

    page.reload(wait_until="load")  # the marks were saved
    assert page.locator(f"#attendee-{amira.id}").get_attribute("data-attended") == "present"
    assert page.locator(f"#attendee-{tom.id}").get_attribute("data-attended") == "absent"
