"""The steps every admin list, form and delete page takes, written once: the
routes say which service call, template and messages apply."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import render_template, request

from app.services.core.errors import DomainError
from app.validation.filters import page_number, query_params, search_text
from app.web.admin.common import flash_error, flash_success, form_data, is_confirmed, show_error
from app.web.admin.forms import ConfirmForm, CsrfForm
from app.web.htmx import page_or_fragment, see_other


def search_page(search: Callable[..., Any], template: str, fragment: str, **context):
    """A searchable list with deleted rows on request (?q=, ?deleted=1, ?page=):
    the page, or only its table for HTMX."""
    problems: dict[str, str] = {}
    show_deleted = request.args.get("deleted") == "1"
    text = search_text(request.args, problems)
    results = search(text=text, include_deleted=show_deleted,
                     page=page_number(request.args.get("page")))
    params = query_params({"q": text, "deleted": "1" if show_deleted else None})
    return page_or_fragment(template, fragment, results=results, params=params,
                            problems=problems, **context)


def form_page(form, template: str, save: Callable[[Mapping], Any],
              saved: Callable[[Any], tuple[str, str]], **context):
    """Show `form`; on a valid submit call `save(values)` and redirect (303) with
    the message and URL `saved(result)` gives. A refused submit shows the form
    again with the service's errors at the fields (422)."""
    problem = None
    if form.validate_on_submit():
        try:
            result = save(form_data(form))
        except DomainError as exc:
            problem = show_error(form, exc)
        else:
            message, url = saved(result)
            flash_success(message)
            return see_other(url)
    return render_template(template, form=form, problem=problem, **context), \
        422 if request.method == "POST" else 200


def confirm_page(run: Callable[[], Any], *, done: str, success: str,
                 refused: str | None = None, **page):
    """A destructive action behind the confirm step: GET (or an unconfirmed POST)
    shows admin/confirm.html with `page` (title, message, action, button, back);
    a confirmed POST runs it and redirects to `done`. When `refused` is given a
    service refusal is flashed and redirects there; otherwise it propagates."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit() and is_confirmed():
        try:
            run()
        except DomainError as exc:
            if refused is None:
                raise
            flash_error(exc.message)
            return see_other(refused)
        flash_success(success)
        return see_other(done)
    return render_template("admin/confirm.html", form=form, **page)


def soft_delete_page(name: str, noun: str, delete: Callable[[], Any], *, edit: str,
                     listing: str, action: str, message: str):
    """Delete `name` (a course, a venue, ...) softly, after the confirm step: back to
    the list with word of how to restore it, or to its edit page if refused."""
    return confirm_page(
        delete, done=listing, refused=edit,
        success=f"'{name}' deleted. You can restore it from the {noun} list.",
        title=f"Delete {name}?", message=message, action=action,
        button="Yes, delete it", back=edit)


def post_action(run: Callable[[], Any], success: Callable[[Any], str], back: str):
    """A one-click POST (CSRF-checked): run it, flash `success(result)`, go `back`."""
    if CsrfForm().validate_on_submit():
        flash_success(success(run()))
    return see_other(back)
