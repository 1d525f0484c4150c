"""Admin: venues. Create, edit, soft delete and restore, with UK postcodes checked."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from app.models import Venue, utcnow
from app.repositories import Page, unit_of_work
from app.repositories.admin import AdminSessionRepository, AdminVenueRepository
from app.services.core.inputs import DEFAULT_PER_PAGE, parse
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidState, NotFound
from app.validation import clean_text, validate_uk_postcode
from app.validation.admin import validate_notes, validate_title

AUDITED_FIELDS = ("name", "address_line1", "address_line2", "town", "postcode",
                  "accessibility_notes", "deleted_at")

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
    repo = AdminVenueRepository()
    text = clean_text(text, field_label="search", max_length=100, required=False) if text else None
    return repo.paginate(repo.search(text=text, include_deleted=include_deleted),
                         page=page, per_page=per_page)


def all_venues() -> list[Venue]:
    return AdminVenueRepository().list(order_by=[Venue.town, Venue.name])


def get_venue(venue_id: int, *, include_deleted: bool = True) -> Venue:
    venue = AdminVenueRepository().get(venue_id, include_deleted=include_deleted)
    if venue is None:
        raise NotFound("We could not find that venue.")
    return venue


def form_values(venue: Venue) -> dict[str, str]:
    return {name: getattr(venue, name) for name in RULES}


def create_venue(actor_id: int, data: Mapping) -> Venue:
    values = parse(data, RULES)
    with unit_of_work():
        venue = AdminVenueRepository().add(Venue(**values))
        record_audit(actor_id, "venue.create", "venue", venue.id,
                     after=snapshot(venue, AUDITED_FIELDS))
    return venue


def update_venue(actor_id: int, venue_id: int, data: Mapping) -> Venue:
    """Edit a venue. Sessions there keep pointing at it, so customers see the new
    details; a change of address on a booked session is the session's own
    'edit date/venue' action, which tells them."""
    values = parse(data, RULES)
    repo = AdminVenueRepository()
    with unit_of_work():
        venue = get_venue(venue_id)
        before = snapshot(venue, AUDITED_FIELDS)
        for name, value in values.items():
            setattr(venue, name, value)
        repo.flush()
        record_audit(actor_id, "venue.update", "venue", venue.id,
                     before=before, after=snapshot(venue, AUDITED_FIELDS))
    return venue


def delete_venue(actor_id: int, venue_id: int, *, now: datetime | None = None) -> Venue:
    """Soft delete; refused while upcoming scheduled sessions are held there."""
    now = now or utcnow()
    repo = AdminVenueRepository()
    with unit_of_work():
        venue = get_venue(venue_id)
        if venue.is_deleted:
            return venue
        upcoming = AdminSessionRepository().upcoming_count(now, venue_id=venue.id)
        if upcoming:
            noun = "session is" if upcoming == 1 else "sessions are"
            raise InvalidState(f"{upcoming} upcoming {noun} booked at {venue.name}. "
                               "Move or cancel them before deleting the venue.")
        before = snapshot(venue, AUDITED_FIELDS)
        repo.soft_delete(venue)
        record_audit(actor_id, "venue.delete", "venue", venue.id,
                     before=before, after=snapshot(venue, AUDITED_FIELDS))
    return venue


def restore_venue(actor_id: int, venue_id: int) -> Venue:
    repo = AdminVenueRepository()
    with unit_of_work():
        venue = get_venue(venue_id)
        if not venue.is_deleted:
            return venue
        before = snapshot(venue, AUDITED_FIELDS)
        repo.restore(venue)
        record_audit(actor_id, "venue.restore", "venue", venue.id,
                     before=before, after=snapshot(venue, AUDITED_FIELDS))
    return venue
