"""Invoices: what is owed (unpaid and overdue), one invoice with its credit notes,
marking it paid by bank transfer, crediting it, and the PDFs.

    admin.invoices              GET  /admin/invoices?show=unpaid|overdue|all
    admin.invoice_detail        GET  /admin/invoices/<invoice_number>
    admin.invoice_mark_paid     POST /admin/invoices/<invoice_number>/mark-paid
    admin.invoice_credit        POST /admin/invoices/<invoice_number>/credit-notes
    admin.invoice_pdf           GET  /admin/invoices/<invoice_number>.pdf
    admin.credit_note_pdf       GET  /admin/credit-notes/<credit_note_number>.pdf
"""
from __future__ import annotations

from flask import current_app, make_response, render_template, request, url_for

from app.models import utcnow
from app.services.core.errors import DomainError, NotFound
from app.services.payments import invoices
from app.web.access import admin_required
from app.web.admin.blueprint import bp
from app.web.admin.common import actor_id, flash_success
from app.web.admin.forms import CsrfForm
from app.web.htmx import see_other

SHOW = {"unpaid": "Unpaid", "overdue": "Overdue", "all": "Latest 100"}


def _settings() -> invoices.InvoiceSettings:
    return invoices.InvoiceSettings.from_config(current_app.config)


def _staff():
    from app.services.bookings.manage import Actor

    return Actor.staff(actor_id())


@bp.get("/invoices", endpoint="invoices")
@admin_required
def invoices_list():
    show = request.args.get("show", "unpaid")
    if show not in SHOW:
        show = "unpaid"
    now = utcnow()
    rows = (invoices.recent_invoices() if show == "all"
            else invoices.unpaid_invoices(overdue_only=show == "overdue", now=now))
    return render_template("admin/invoices.html", rows=rows, show=show, choices=SHOW,
                           today=invoices.uk_today(now))


def _detail(number: str, *, status: int = 200, errors: dict | None = None,
            problem: str | None = None, values: dict | None = None):
    invoice = invoices.get_invoice(number)
    return render_template("admin/invoice_detail.html", invoice=invoice, form=CsrfForm(),
                           today=invoices.uk_today(utcnow()), errors=errors or {},
                           problem=problem, values=values or {}), status


@bp.get("/invoices/<invoice_number>")
@admin_required
def invoice_detail(invoice_number: str):
    number = invoice_number
    return _detail(number)


@bp.post("/invoices/<invoice_number>/mark-paid")
@admin_required
def invoice_mark_paid(invoice_number: str):
    number = invoice_number
    if not CsrfForm().validate_on_submit():
        return _detail(number, status=400, problem="The form expired: please try again.")
    try:
        invoice = invoices.mark_invoice_paid(number, request.form.get("reference"),
                                             actor=_staff())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _detail(number, status=422 if exc.fields else exc.status, errors=exc.fields,
                       problem=None if exc.fields else exc.message, values=request.form)
    flash_success(f"Invoice {invoice.number} marked paid.")
    return see_other(url_for("admin.invoice_detail", invoice_number=invoice.number))


@bp.post("/invoices/<invoice_number>/credit-notes")
@admin_required
def invoice_credit(invoice_number: str):
    number = invoice_number
    if not CsrfForm().validate_on_submit():
        return _detail(number, status=400, problem="The form expired: please try again.")
    try:
        note = invoices.issue_credit_note(number, request.form, actor=_staff(),
                                          settings=_settings())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _detail(number, status=422 if exc.fields else exc.status, errors=exc.fields,
                       problem=None if exc.fields else exc.message, values=request.form)
    flash_success(f"Credit note {note.number} issued.")
    return see_other(url_for("admin.invoice_detail", invoice_number=number))


def _pdf(document: bytes, filename: str):
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/invoices/<invoice_number>.pdf")
@admin_required
def invoice_pdf(invoice_number: str):
    invoice = invoices.get_invoice(invoice_number)
    return _pdf(invoices.invoice_document(invoice, _settings()), f"invoice-{invoice.number}.pdf")


@bp.get("/credit-notes/<credit_note_number>.pdf")
@admin_required
def credit_note_pdf(credit_note_number: str):
    note = invoices.get_credit_note(credit_note_number)
    return _pdf(invoices.credit_note_document(note, _settings()), f"{note.number}.pdf")
