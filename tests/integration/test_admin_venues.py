"""Admin venue management: UK postcodes checked, soft delete only, audited."""
import pytest

from app.services.catalogue import venues
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState

from factories import SessionFactory, VenueFactory


def venue_data(**overrides):
    data = {"name": "Leeds Training Centre", "address_line1": "1 Park Row", "address_line2": "",
            "town": "Leeds", "postcode": "ls1 5hd", "accessibility_notes": "Step-free.\n\nLift."}
    data.update(overrides)
    return data


def test_create_venue_normalises_the_postcode(app, admin_user):
    venue = venues.create_venue(admin_user.id, venue_data())
    assert venue.postcode == "LS1 5HD"
    assert venue.accessibility_notes == "Step-free.\n\nLift."
    assert search_audit(entity_type="venue", entity_id=venue.id).items[0].after["town"] == "Leeds"


@pytest.mark.parametrize("postcode", ["LS1", "12345", "QS1 1AA", "LS1 4AP; DROP TABLE", ""])
def test_a_venue_needs_a_real_uk_postcode(app, admin_user, postcode):
    with pytest.raises(InvalidInput) as caught:
        venues.create_venue(admin_user.id, venue_data(postcode=postcode))
    assert "postcode" in caught.value.fields


def test_missing_fields_are_all_reported(app, admin_user):
    with pytest.raises(InvalidInput) as caught:
        venues.create_venue(admin_user.id, venue_data(name="", town="", address_line1=""))
    assert set(caught.value.fields) == {"name", "town", "address_line1"}


def test_edit_is_audited_before_and_after(app, admin_user):
    venue = VenueFactory(town="Leeds", postcode="LS1 5HD")
    data = venues.form_values(venue)
    data.update(town="York", postcode="YO1 7HH")
    venues.update_venue(admin_user.id, venue.id, data)
    entry = search_audit(entity_type="venue", entity_id=venue.id).items[0]
    assert entry.before == {"town": "Leeds", "postcode": "LS1 5HD"}
    assert entry.after == {"town": "York", "postcode": "YO1 7HH"}


def test_venue_in_use_cannot_be_deleted_but_an_unused_one_can_and_comes_back(app, admin_user):
    busy = SessionFactory().venue
    with pytest.raises(InvalidState):
        venues.delete_venue(admin_user.id, busy.id)
    idle = VenueFactory()
    venues.delete_venue(admin_user.id, idle.id)
    assert idle.id not in [v.id for v in venues.all_venues()]
    venues.restore_venue(admin_user.id, idle.id)
    assert idle.id in [v.id for v in venues.all_venues()]
