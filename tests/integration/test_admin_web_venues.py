"""Venue pages: postcode errors next to the field, HTMX search, confirm before delete."""
from sqlalchemy import select

from app.extensions import db
from app.models import Venue

from admin_helpers import assert_admin_only
from factories import VenueFactory

VALID = {"name": "Harrogate Hub", "address_line1": "2 King's Road", "address_line2": "",
         "town": "Harrogate", "postcode": "hg1 5lh", "accessibility_notes": ""}


def test_venue_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    venue = VenueFactory()
    for url in ("/admin/venues", "/admin/venues/new", f"/admin/venues/{venue.id}",
                f"/admin/venues/{venue.id}/delete"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_adding_a_venue_through_the_form(app, admin_client):
    assert admin_client.post("/admin/venues/new", data=VALID).status_code == 303
    assert db.session.scalar(select(Venue.postcode)) == "HG1 5LH"


def test_a_bad_postcode_is_shown_next_to_the_field(app, admin_client):
    response = admin_client.post("/admin/venues/new", data={**VALID, "postcode": "HG1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="postcode-error"' in html and "Enter a UK postcode" in html


def test_venue_search_fragment(app, admin_client):
    VenueFactory(name="Leeds Centre", town="Leeds")
    VenueFactory(name="York Hall", town="York")
    response = admin_client.get("/admin/venues?q=york", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "York Hall" in body and "Leeds Centre" not in body and "<html" not in body


def test_delete_asks_first(app, admin_client):
    venue = VenueFactory()
    assert admin_client.post(f"/admin/venues/{venue.id}/delete").status_code == 200
    db.session.expire_all()
    assert db.session.get(Venue, venue.id).deleted_at is None
    assert admin_client.post(f"/admin/venues/{venue.id}/delete",
                             data={"confirmed": "yes"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Venue, venue.id).deleted_at is not None
