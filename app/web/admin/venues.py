"""Venues: list, create, edit, soft delete and restore."""
from __future__ import annotations

from flask import url_for

from app.services.catalogue import venues as venues_service
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id
from app.web.admin.crud import form_page, post_action, search_page, soft_delete_page
from app.web.admin.forms import CsrfForm, VenueForm


@bp.get("/venues")
@admin_required
def venues():
    return search_page(venues_service.list_venues, "admin/venues.html",
                       "fragments/_admin_venues_table.html")


@bp.route("/venues/new", methods=["GET", "POST"])
@admin_required
def venue_new():
    return form_page(
        VenueForm(), "admin/venue_form.html",
        lambda values: venues_service.create_venue(actor_id(), values),
        lambda venue: (f"Venue '{venue.name}' added.", url_for("admin.venues")),
        venue=None)


@bp.route("/venues/<id:venue_id>", methods=["GET", "POST"])
@admin_required
def venue_edit(venue_id: int):
    venue = venues_service.get_venue(venue_id)
    return form_page(
        VenueForm(data=venues_service.form_values(venue)), "admin/venue_form.html",
        lambda values: venues_service.update_venue(actor_id(), venue_id, values),
        lambda _: ("Venue saved.", url_for("admin.venue_edit", venue_id=venue_id)),
        venue=venue, action_form=CsrfForm())


@bp.route("/venues/<id:venue_id>/delete", methods=["GET", "POST"])
@admin_required
def venue_delete(venue_id: int):
    venue = venues_service.get_venue(venue_id)
    return soft_delete_page(
        venue.name, "venue", lambda: venues_service.delete_venue(actor_id(), venue_id),
        edit=url_for("admin.venue_edit", venue_id=venue_id), listing=url_for("admin.venues"),
        action=url_for("admin.venue_delete", venue_id=venue_id),
        message="The venue can no longer be chosen for new sessions. Past sessions keep it, "
                "and you can restore it later.")


@bp.post("/venues/<id:venue_id>/restore")
@admin_required
def venue_restore(venue_id: int):
    return post_action(lambda: venues_service.restore_venue(actor_id(), venue_id),
                       lambda venue: f"'{venue.name}' restored.",
                       url_for("admin.venue_edit", venue_id=venue_id))
