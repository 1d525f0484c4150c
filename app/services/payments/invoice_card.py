"""Paying an invoice by card.

The invoice, its email and its reminders carry a signed link (its own token,
`tokens.invoice_pay_token`: it shows what is owed and pays it, nothing more; a
manage link would also cancel). The page it opens starts a card checkout for
what the invoice still owes after credit notes (`checkout.start_checkout`), and
only the provider's verified webhook (or a verified server-side retrieve) marks
the invoice paid (`settlement`), so paying in two tabs refunds the second.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import Invoice, PaymentStatus
from app.repositories.invoices import InvoiceRepository
from app.repositories.payments import PaymentRepository
from app.services.core.errors import InvalidState
from app.services.core.links import Links
from app.services.core.links import current as current_links
from app.services.core.tokens import check_invoice_pay_token
from app.services.payments.checkout import (
    CheckoutLinks, CheckoutStart, start_checkout, sync_checkout,
)
from app.services.payments.invoices import get_invoice


def invoice_from_link(number: str, token: object, *, secret_key: str) -> Invoice:
    """The invoice a pay link names: InvalidToken (403) unless the token was issued
    for exactly this number (checked before anything is read, so the link is no
    oracle for which numbers exist), NotFound if there is no such invoice."""
    check_invoice_pay_token(number, token, secret_key=secret_key)
    return get_invoice(number)


def invoice_checkout_links(number: str, site: Links | None = None) -> CheckoutLinks:
    """The provider returns the customer to the invoice's pay page either way; after
    paying (`returned=1`) the page asks the provider once whether it is paid."""
    site = site or current_links()
    return CheckoutLinks(success_url=site.invoice_pay_link(number, returned=1),
                         cancel_url=site.invoice_pay_link(number))


def pay_invoice_by_card(number: str, links: CheckoutLinks, *,
                        now: datetime | None = None) -> CheckoutStart:
    """The provider's checkout for what invoice `number` still owes. InvalidState
    when it is paid or nothing is owed; CardPaymentsPaused when the provider is down."""
    invoice = get_invoice(number)
    if invoice.is_paid:
        raise InvalidState(f"Invoice {invoice.number} is already paid. Thank you.")
    if invoice.outstanding_pence <= 0:
        raise InvalidState(f"Nothing is owed on invoice {invoice.number}.")
    return start_checkout(invoice.booking.reference, links, now=now)


@dataclass(frozen=True)
class InvoiceCardStatus:
    """What the pay page shows: the invoice, and whether a card payment for it is
    being confirmed (the customer is back from the provider, the webhook not yet in)."""

    invoice: Invoice
    is_confirming: bool = False


def invoice_card_status(number: str, *, returned: bool = False) -> InvoiceCardStatus:
    """The invoice as it stands; `returned` (back from the provider) first asks the
    provider about the open checkout and settles it if paid."""
    invoice = get_invoice(number)
    if not returned or invoice.is_paid:
        return InvoiceCardStatus(invoice)
    sync_checkout(invoice.booking.reference)
    repo = InvoiceRepository()
    invoice = get_invoice(number)
    repo.expire(invoice)
    latest = PaymentRepository().latest_for_booking(invoice.booking_id)
    confirming = not invoice.is_paid and latest is not None \
        and latest.status == PaymentStatus.PENDING and latest.provider_checkout_id is not None
    return InvoiceCardStatus(invoice, is_confirming=confirming)
