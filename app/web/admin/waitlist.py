"""Waiting lists: the sessions with people waiting, one session's list, offers,
additions and removals."""
from __future__ import annotations

from flask import render_template, request, url_for

from app.services.bookings import waitlist as waitlist_service
from app.services.core.errors import DomainError
from app.validation.filters import page_number
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_error, flash_success, form_data, show_error
from app.web.admin.crud import confirm_page
from app.web.admin.forms import ConfirmForm, OfferForm, WaitlistEntryForm
from app.web.htmx import page_or_fragment, see_other


@bp.get("/waiting-lists")
@admin_required
def waiting_lists():
    results = waitlist_service.overview(page=page_number(request.args.get("page")))
    return page_or_fragment("admin/waiting_lists.html", "fragments/_admin_waiting_table.html",
                            results=results)


def _list_page(session_id: int, *, entry_form=None, offer_form=None, problem=None,
               status: int = 200):
    return render_template(
        "admin/waiting_list.html", waitlist=waitlist_service.session_waitlist(session_id),
        entry_form=entry_form or WaitlistEntryForm(formdata=None),
        offer_form=offer_form or OfferForm(formdata=None), confirm_form=ConfirmForm(formdata=None),
        problem=problem), status


@bp.get("/sessions/<id:session_id>/waiting-list")
@admin_required
def waitlist(session_id: int):
    return _list_page(session_id)


def _list_form_action(session_id: int, form_name: str, form, run, success):
    """A form on the list page: on success flash and show the list again; a
    refusal shows the list with the form and its errors."""
    if form.validate_on_submit():
        try:
            entry = run(form)
        except DomainError as exc:
            return _list_page(session_id, **{form_name: form}, problem=show_error(form, exc),
                              status=422 if exc.fields else exc.status)
        flash_success(success(entry))
        return see_other(url_for("admin.waitlist", session_id=session_id))
    return _list_page(session_id, **{form_name: form}, status=422)


@bp.post("/sessions/<id:session_id>/waiting-list")
@admin_required
def waitlist_add(session_id: int):
    return _list_form_action(
        session_id, "entry_form", WaitlistEntryForm(),
        lambda form: waitlist_service.add_entry(actor_id(), session_id, form_data(form)),
        lambda entry: f"{entry.name} added to the waiting list.")


@bp.post("/sessions/<id:session_id>/waiting-list/offer-next")
@admin_required
def waitlist_offer_next(session_id: int):
    return _list_form_action(
        session_id, "offer_form", OfferForm(),
        lambda form: waitlist_service.offer_next(actor_id(), session_id, hours=form.hours.data),
        lambda entry: f"Seats offered to {entry.name}; they are being emailed a link to book.")


@bp.post("/waiting-list/<id:entry_id>/offer")
@admin_required
def waitlist_offer(entry_id: int):
    entry = waitlist_service.get_entry(entry_id)
    form = OfferForm()
    if form.validate_on_submit():
        try:
            waitlist_service.offer(actor_id(), entry_id, hours=form.hours.data)
        except DomainError as exc:
            flash_error(exc.message)
        else:
            flash_success(f"Seats offered to {entry.name}.")
    else:
        flash_error("; ".join(e for errs in form.errors.values() for e in errs))
    return see_other(url_for("admin.waitlist", session_id=entry.session_id))


@bp.route("/waiting-list/<id:entry_id>/remove", methods=["GET", "POST"])
@admin_required
def waitlist_remove(entry_id: int):
    entry = waitlist_service.get_entry(entry_id)
    back = url_for("admin.waitlist", session_id=entry.session_id)
    return confirm_page(
        lambda: waitlist_service.remove(actor_id(), entry_id),
        done=back, success=f"{entry.name} removed from the waiting list.",
        title=f"Remove {entry.name} from the waiting list?",
        message="They will not be offered seats on this session.",
        action=url_for("admin.waitlist_remove", entry_id=entry_id), button="Yes, remove",
        back=back)
