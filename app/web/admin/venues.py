"""Venues: list, create, edit, soft delete and restore."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from app.services.catalogue import venues as venues_service
from app.validation.filters import page_number
from app.services.core.errors import DomainError
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import (
    actor_id, flash_error, flash_success, form_data, is_confirmed, show_error,
)
from app.web.admin.forms import ConfirmForm, CsrfForm, VenueForm
from app.web.htmx import page_or_fragment, see_other


@bp.get("/venues")
@admin_required
def venues():
    show_deleted = request.args.get("deleted") == "1"
    text = (request.args.get("q") or "")[:100]
    results = venues_service.list_venues(text=text, include_deleted=show_deleted,
                                       page=page_number(request.args.get("page")))
    params = {"q": text or None, "deleted": "1" if show_deleted else None}
    return page_or_fragment("admin/venues.html", "fragments/_admin_venues_table.html",
                            results=results, params={k: v for k, v in params.items() if v})


@bp.route("/venues/new", methods=["GET", "POST"])
@admin_required
def venue_new():
    form = VenueForm()
    problem = None
    if form.validate_on_submit():
        try:
            venue = venues_service.create_venue(actor_id(), form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success(f"Venue '{venue.name}' added.")
            return redirect(url_for("admin.venues"), code=303)
    return render_template("admin/venue_form.html", form=form, venue=None, problem=problem), \
        422 if request.method == "POST" else 200


@bp.route("/venues/<int:venue_id>", methods=["GET", "POST"])
@admin_required
def venue_edit(venue_id: int):
    venue = venues_service.get_venue(venue_id)
    form = VenueForm(data=venues_service.form_values(venue))
    problem = None
    if form.validate_on_submit():
        try:
            venues_service.update_venue(actor_id(), venue_id, form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            flash_success("Venue saved.")
            return redirect(url_for("admin.venue_edit", venue_id=venue_id), code=303)
    return render_template("admin/venue_form.html", form=form, venue=venue, problem=problem,
                           action_form=CsrfForm()), 422 if request.method == "POST" else 200


@bp.route("/venues/<int:venue_id>/delete", methods=["GET", "POST"])
@admin_required
def venue_delete(venue_id: int):
    venue = venues_service.get_venue(venue_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            venues_service.delete_venue(actor_id(), venue_id)
        except DomainError as exc:
            flash_error(exc.message)
            return see_other(url_for("admin.venue_edit", venue_id=venue_id))
        flash_success(f"'{venue.name}' deleted. You can restore it from the venue list.")
        return see_other(url_for("admin.venues"))
    return render_template(
        "admin/confirm.html", form=form, title=f"Delete {venue.name}?",
        message="The venue can no longer be chosen for new sessions. Past sessions keep it, "
                "and you can restore it later.",
        action=url_for("admin.venue_delete", venue_id=venue_id), button="Yes, delete it",
        back=url_for("admin.venue_edit", venue_id=venue_id))


@bp.post("/venues/<int:venue_id>/restore")
@admin_required
def venue_restore(venue_id: int):
    form = CsrfForm()
    if form.validate_on_submit():
        venue = venues_service.restore_venue(actor_id(), venue_id)
        flash_success(f"'{venue.name}' restored.")
    return see_other(url_for("admin.venue_edit", venue_id=venue_id))
