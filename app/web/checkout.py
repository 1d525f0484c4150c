"""Card checkout pages around the provider.

    checkout.fake_page   GET/POST /checkout/fake/<checkout_id>      the fake provider's page
    checkout.returned    GET      /bookings/<ref>/payment-received?token=T   (success_url)
    checkout.status      GET      /bookings/<ref>/payment-status?token=T     (HTMX fragment)
    checkout.paused      GET      /bookings/<ref>/payment-paused?token=T     (breaker open)
    checkout.pay_invoice GET/POST /invoices/<number>/pay?token=T   (pay an invoice by card)

The hold page (booking.pay) starts a payment with `begin_checkout`, which
sends the customer to the provider's page: Stripe Checkout, or the fake
provider's page here. Coming back from a payment proves nothing (anyone can
open a URL), so the return page never confirms: it shows "payment received,
confirming..." and polls the status fragment every 2 seconds until the
verified webhook (or a server-side retrieve it asks for once) has confirmed
the booking, then moves on to the confirmation page.
"""
from __future__ import annotations

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, url_for,
)

from app.models import BookingStatus
from app.services.core.errors import InvalidState
from app.services import payments
from app.services.payments import fake_checkout
from app.services.payments.fake_gateway import FAKE_CHECKOUT_PATH
from app.web.htmx import hx_redirect, is_htmx, keep_private, render
from app.web.links import site_links
from app.web.signed_links import booking_from_link, signed_path

bp = Blueprint("checkout", __name__)

POLL_TRIGGER = "every 2s"


def begin_checkout(reference: str):
    """The response to "Pay": a redirect to the provider's checkout page, or to the
    "card payments are paused" page when the provider is down. HoldExpired and
    InvalidState are left to the caller."""
    try:
        started = payments.start_checkout(reference,
                                          payments.checkout_links(reference, site_links()))
    except payments.CardPaymentsPaused:
        return redirect(signed_path("checkout.paused", reference), code=303)
    if started.checkout_url is None:  # nothing to pay
        return redirect(signed_path("booking.confirmation", reference), code=303)
    return redirect(started.checkout_url, code=303)


# Checkout pages carry the booking's signed token in their URLs.
keep_private(bp, secret_url=True)


# -- the fake provider's checkout page ----------------------------------------------------------
@bp.route(FAKE_CHECKOUT_PATH + "<checkout_id>", methods=["GET", "POST"])
def fake_page(checkout_id: str):
    """What Stripe Checkout would show, for the embedded mode: pay, decline, abandon."""
    checkout = fake_checkout.open_checkout(checkout_id)
    reference = checkout.booking.reference
    invoice_number = checkout.booking.invoice.number if checkout.booking.invoice else None
    returned = invoice_pay_path(invoice_number, returned=1) if invoice_number \
        else signed_path("checkout.returned", reference)
    if request.method == "GET":
        return _render_fake(checkout)
    action = request.form.get("action")
    if action not in ("pay", "decline", "abandon"):
        abort(400, description="Choose pay, decline or abandon.")
    if not checkout.is_open:
        if checkout.payment.status.value == "succeeded":
            return redirect(returned, code=303)
        return _render_fake(checkout, status=410)
    if action == "pay":
        fake_checkout.pay(checkout_id)
        return redirect(returned, code=303)
    if action == "decline":
        return _render_fake(checkout, declined=fake_checkout.decline(checkout_id), status=402)
    outcome = fake_checkout.abandon(checkout_id)
    if invoice_number:
        flash("You left the checkout. You have not been charged.", "info")
        return redirect(invoice_pay_path(invoice_number), code=303)
    if outcome.result == "hold_released":
        flash("You cancelled your booking, so the seats you held have been released. "
              "You have not been charged.", "info")
        return redirect(url_for("public.session", session_id=checkout.booking.session_id),
                        code=303)
    flash("You left the checkout. You have not been charged.", "info")
    return redirect(signed_path("booking.manage", reference), code=303)


def _render_fake(checkout, *, declined=None, status=200):
    invoice = checkout.booking.invoice
    cancel_url = invoice_pay_path(invoice.number) if invoice is not None \
        else signed_path("booking.pay", checkout.booking.reference)
    return render_template("checkout/fake.html", checkout=checkout, booking=checkout.booking,
                           declined=declined, cancel_url=cancel_url), status


# -- back from the provider ---------------------------------------------------------------------
@bp.get("/bookings/<reference>/payment-received")
def returned(reference: str):
    """The success_url: "payment received, confirming..." until the webhook lands."""
    booking_from_link(reference)
    progress = payments.sync_checkout(reference)
    if progress.state == "confirmed":
        return redirect(signed_path("booking.confirmation", reference), code=303)
    return render_template("checkout/returned.html", progress=progress,
                           booking=progress.booking, **_status_context(reference, progress))


@bp.get("/bookings/<reference>/payment-status")
def status(reference: str):
    """The polled fragment; when the booking is confirmed, htmx is sent on to the
    confirmation page (HX-Redirect), and the fragment stops polling either way."""
    booking_from_link(reference)
    progress = payments.payment_progress(reference)
    response = render("fragments/_payment_status.html", progress=progress,
                      booking=progress.booking, **_status_context(reference, progress))
    if progress.state == "confirmed" and is_htmx():
        hx_redirect(response, signed_path("booking.confirmation", reference))
    return response


def _status_context(reference: str, progress) -> dict:
    return {
        "status_url": signed_path("checkout.status", reference),
        "confirmation_url": signed_path("booking.confirmation", reference),
        "manage_url": signed_path("booking.manage", reference),
        "pay_url": signed_path("booking.pay", reference),
        "poll_trigger": None if progress.is_final else POLL_TRIGGER,
    }


@bp.get("/bookings/<reference>/payment-paused")
def paused(reference: str):
    """The fallback while card payments are down: the seats stay held and a
    payment link follows by email."""
    booking = booking_from_link(reference)
    if booking.status != BookingStatus.HELD:
        return redirect(signed_path("booking.pay", reference), code=303)
    return render_template("checkout/paused.html", booking=booking,
                           pay_url=signed_path("booking.pay", reference),
                           manage_url=signed_path("booking.manage", reference)), 503


# -- paying an invoice by card ----------------------------------------------------------------
def invoice_pay_path(number: str, **values) -> str:
    """The relative signed link of an invoice's pay-by-card page."""
    return url_for("checkout.pay_invoice", invoice_number=number,
                   token=site_links().invoice_token(number), **values)


@bp.route("/invoices/<invoice_number>/pay", methods=["GET", "POST"])
def pay_invoice(invoice_number: str):
    """The link on an invoice: what is still owed and a Pay button, which goes to the
    provider's checkout for that amount. Only the verified webhook marks it paid;
    back from the provider (`returned`) the page asks the provider once."""
    invoice = payments.invoice_from_link(invoice_number, request.args.get("token"),
                                         secret_key=current_app.config["SECRET_KEY"])
    if request.method == "GET":
        status = payments.invoice_card_status(invoice.number,
                                              returned=bool(request.args.get("returned")))
        return _render_invoice(status.invoice, confirming=status.is_confirming)
    if request.form.get("action", "pay") != "pay":
        abort(400, description="Choose pay.")
    try:
        started = payments.pay_invoice_by_card(
            invoice.number, payments.invoice_checkout_links(invoice.number, site_links()))
    except payments.CardPaymentsPaused as exc:
        return _render_invoice(invoice, problem=str(exc), status=503)
    except InvalidState as exc:  # paid (or credited) meanwhile: no second charge
        return _render_invoice(payments.invoice_card_status(invoice.number).invoice,
                               problem=exc.message, status=409)
    return redirect(started.checkout_url, code=303)


def _render_invoice(invoice, *, confirming=False, problem=None, status=200):
    return render_template(
        "checkout/invoice_pay.html", invoice=invoice, booking=invoice.booking,
        confirming=confirming, problem=problem,
        pay_url=invoice_pay_path(invoice.number),
        is_fake_checkout=current_app.config.get("PAYMENT_PROVIDER") == "fake"), status
