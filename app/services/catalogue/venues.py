"""Admin: venues. Create, edit, soft delete and restore, with UK postcodes checked."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from app.models import Venue, utcnow
from app.repositories import Page
from app.repositories.admin import AdminVenueRepository
from app.services.catalogue.timetable import refuse_while_upcoming
from app.services.core.inputs import DEFAULT_PER_PAGE, parse
from app.services.core.records import AuditedRecords
from app.validation import clean_text, validate_uk_postcode
from app.validation.admin import validate_notes, validate_title

AUDITED_FIELDS = ("name", "address_line1", "address_line2", "town", "postcode",
                  "accessibility_notes", "deleted_at")

RECORDS = AuditedRecords(AdminVenueRepository, "venue", AUDITED_FIELDS,
                         not_found="We could not find that venue.")

RULES = {
    "name": partial(validate_title, field_label="venue name", max_length=120),
    "address_line1": partial(validate_title, field_label="address", max_length=120),
    "address_line2": lambda v: clean_text(v, field_label="second address line", max_length=120,
                                          required=False) or "",
    "town": partial(validate_title, field_label="town", max_length=80),
    "postcode": validate_uk_postcode,
    "accessibility_notes": partial(validate_notes, field_label="accessibility notes",
                                   max_length=1000),
}


def list_venues(*, text: str | None = None, include_deleted: bool = False, page: int = 1,
                per_page: int = DEFAULT_PER_PAGE) -> Page[Venue]:
    return RECORDS.search(text=text, include_deleted=include_deleted, page=page,
                          per_page=per_page)


def all_venues() -> list[Venue]:
    return AdminVenueRepository().list(order_by=[Venue.town, Venue.name])


def get_venue(venue_id: int, *, include_deleted: bool = True) -> Venue:
    return RECORDS.get(venue_id, include_deleted=include_deleted)


def form_values(venue: Venue) -> dict[str, str]:
    return {name: getattr(venue, name) for name in RULES}


def create_venue(actor_id: int, data: Mapping) -> Venue:
    return RECORDS.create(actor_id, Venue(**parse(data, RULES)))


def update_venue(actor_id: int, venue_id: int, data: Mapping) -> Venue:
    """Edit a venue. Sessions there keep pointing at it, so customers see the new
    details; a change of address on a booked session is the session's own
    'edit date/venue' action, which tells them."""
    return RECORDS.update(actor_id, venue_id, parse(data, RULES))


def delete_venue(actor_id: int, venue_id: int, *, now: datetime | None = None) -> Venue:
    """Soft delete; refused while upcoming scheduled sessions are held there."""
    now = now or utcnow()

    def not_in_use(venue: Venue) -> None:
        refuse_while_upcoming(now, lambda n: (
            f"{n} upcoming {'session is' if n == 1 else 'sessions are'} booked at "
            f"{venue.name}. Move or cancel them before deleting the venue."), venue_id=venue.id)
    return RECORDS.soft_delete(actor_id, venue_id, check=not_in_use)


def restore_venue(actor_id: int, venue_id: int) -> Venue:
    return RECORDS.restore(actor_id, venue_id)
