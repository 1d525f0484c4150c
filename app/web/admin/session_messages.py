"""Email everyone booked on a session: write, preview (the email one recipient
gets), send. The rules and the sending are app.services.messaging.session_messages."""
from __future__ import annotations

from flask import render_template, request, url_for

from app.services.core.errors import DomainError
from app.services.messaging import session_messages
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_success, form_data, show_error
from app.web.admin.forms import SendSessionMessageForm, SessionMessageForm
from app.web.htmx import see_other
from app.web.links import site_links


def _compose_page(session_id: int, form, problem: str | None, status: int):
    return render_template("admin/session_message.html", form=form, problem=problem,
                           page=session_messages.compose(session_id)), status


@bp.route("/sessions/<int:session_id>/message", methods=["GET", "POST"])
@admin_required
def session_message(session_id: int):
    """GET: an empty message. POST: check it and show the preview; with edit=1
    (the preview's "Change the message") show the form again, filled in."""
    form = SessionMessageForm()
    if request.method == "GET" or request.form.get("edit"):
        return _compose_page(session_id, form, None, 200)
    problem, status = None, 422
    if form.validate_on_submit():
        try:
            preview = session_messages.preview_message(session_id, form_data(form),
                                                       links=site_links())
        except DomainError as exc:
            problem, status = show_error(form, exc), exc.status
        else:
            send_form = SendSessionMessageForm(formdata=None, data={
                "subject": preview.subject, "text": preview.text,
                "send_key": preview.send_key})
            return render_template("admin/session_message_preview.html", preview=preview,
                                   form=send_form)
    return _compose_page(session_id, form, problem, status)


@bp.post("/sessions/<int:session_id>/message/send")
@admin_required
def session_message_send(session_id: int):
    form = SendSessionMessageForm()
    problem, status = None, 422
    if form.validate_on_submit():
        try:
            sent = session_messages.send_message(actor_id(), session_id, form_data(form))
        except DomainError as exc:
            problem, status = show_error(form, exc), exc.status
        else:
            count = len(sent.message.recipients)
            bookings = f"{count} booking{'' if count == 1 else 's'}"
            if sent.created:
                flash_success(f"Message sent to {bookings}. The emails are on their way.")
            else:
                flash_success(f"This message was already sent to {bookings}; "
                              "nobody was emailed twice.")
            return see_other(url_for("admin.session_detail", session_id=session_id))
    if form.send_key.errors:
        problem = problem or form.send_key.errors[0]
    return _compose_page(session_id, form, problem, status)
