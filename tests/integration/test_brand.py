"""One brand on every surface: the site, emails, PDFs and calendar files agree."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.core import brand
from app.services.documents import pdf
from app.services.messaging import notifications

from notify_helpers import confirmed_booking

ROOT = Path(__file__).resolve().parents[2]
HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


@pytest.fixture
def app_config() -> dict:
    return {"ARRIVE_MINUTES_BEFORE": 20}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def test_the_site_emails_and_pdfs_take_their_colour_from_one_place(client):
    css = client.get("/brand.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert f"--brand: {brand.GREEN};" in css.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert page.index('href="/brand.css"') < page.index("css/site.css")
    site_css = (ROOT / "static/css/site.css").read_text()
    assert not re.search(r"--brand(-dark)?\s*:", site_css)  # defined only in /brand.css
    assert pdf.BRAND == brand.rgb(brand.GREEN)
    for template in (ROOT / "templates/email").glob("*.html"):
        colours = {c.lower() for c in HEX.findall(template.read_text())}
        assert not colours & {"#c8102e", "#ffe3e8"}, template.name  # the old red


def test_emails_are_green_and_carry_the_providers_name(app, outbox):
    booking = confirmed_booking(seats=1)
    assert notifications.send_course_reminder(booking)
    html = outbox[-1].alternatives[0][0]
    assert f"background:{brand.GREEN}" in html
    assert app.config["PROVIDER_NAME"] in html


def test_the_arrival_time_is_one_setting_for_pages_emails_and_calendar_files(app, outbox):
    booking = confirmed_booking(seats=1)
    notifications.send_course_reminder(booking)
    reminder = outbox[-1]
    assert "Please arrive 20 minutes before the start" in reminder.body
    ics = next(a for a in reminder.attachments if a[0].endswith(".ics"))[1]
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert "Please arrive 20 minutes before the start" in ics.replace("\r\n ", "")
    assert "10 minutes" not in reminder.body and "10 minutes" not in ics


def test_every_page_links_a_favicon_that_exists(client):
    page = client.get("/courses").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    icon = client.get(href)
    assert icon.status_code == 200
    assert brand.GREEN in icon.get_data(as_text=True)
