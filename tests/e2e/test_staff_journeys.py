"""Staff journeys in a real browser: an admin adds a session that the public
calendar then shows; a trainer takes the register on a phone; the admin
bookings filters keep apart at every width."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.models import utcnow
from e2e_steps import DESKTOP, PHONE, sign_in
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
    # No end time: the form comes back with the error, focused, and is accessible with it.
    page.locator(".error-summary").wait_for()
    page.wait_for_load_state("load")
    expect(page.locator(".error-summary")).to_be_focused()
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


def boxes_overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("viewport", [DESKTOP, {"width": 800, "height": 900}, PHONE],
                         ids=["desktop", "tablet", "phone"])
def test_admin_bookings_filters_do_not_run_into_each_other(
        live_server, open_page, axe_check, admin_user, viewport):
    SessionFactory(course__title="Emergency First Aid at Work with a long title")
    page = open_page(viewport)
    sign_in(page, axe_check, live_server, admin_user, r"/admin/?$")
    page.goto(f"{live_server}/admin/bookings")
    axe_check(page)

    fields = page.locator("form.admin-filters").locator("input:visible, select:visible")
    boxes = {f"{fields.nth(i).get_attribute('name')}": fields.nth(i).bounding_box()
             for i in range(fields.count())}
    assert {"q", "status"} <= boxes.keys()
    form = page.locator("form.admin-filters").bounding_box()
    for name, box in boxes.items():
        assert box["x"] >= form["x"] and box["x"] + box["width"] <= form["x"] + form["width"], name
        others = [other for other, b in boxes.items() if other != name and boxes_overlap(box, b)]
        assert not others, f"{name} overlaps {others} at {viewport['width']}px"
