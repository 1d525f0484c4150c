"""Signed manage-booking tokens: customers need no account, only the link we send them.

A token signs the booking's reference and its link version. Reissuing a link
raises the booking's version (Booking.manage_link_version), so every earlier
link stops working; version 1 signs the bare reference, as links always did.
When a link stops working after the course is the booking's fact
(Booking.manage_link_expires_at); app.services.bookings.holds checks both.
"""
from __future__ import annotations

import hashlib
import hmac

from itsdangerous import Signer

from app.services.core.errors import InvalidToken

MAX_TOKEN_LENGTH = 200


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt="manage-booking", digest_method=hashlib.sha256)


def _signed_value(reference: str, version: int) -> str:
    return reference if version == 1 else f"{reference}.v{version}"


def manage_token(reference: str, *, secret_key: str, version: int = 1) -> str:
    """The token that, with the reference, opens the manage-booking page while the
    booking's link version is `version`."""
    return _signer(secret_key).get_signature(_signed_value(reference, version)).decode("ascii")


def looks_like_token(token: object) -> bool:
    """Worth checking at all: a non-empty string of sane length."""
    return isinstance(token, str) and bool(token) and len(token) <= MAX_TOKEN_LENGTH


def check_manage_token(reference: str, token: object, *, secret_key: str,
                       version: int = 1) -> None:
    """Raise InvalidToken unless `token` was issued for `reference` at `version`."""
    if not looks_like_token(token):
        raise InvalidToken()
    expected = manage_token(reference, secret_key=secret_key, version=version)
    if not hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace")):
        raise InvalidToken()


def _invoice_signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt="invoice-pay", digest_method=hashlib.sha256)


def invoice_pay_token(number: str, *, secret_key: str) -> str:
    """The token of an invoice's pay-by-card link. Its own salt: it pays the invoice
    and shows what is owed, nothing more (a manage token also cancels)."""
    return _invoice_signer(secret_key).get_signature(number).decode("ascii")


def check_invoice_pay_token(number: str, token: object, *, secret_key: str) -> None:
    """Raise InvalidToken unless `token` was issued for invoice `number`."""
    if not looks_like_token(token) or not isinstance(number, str):
        raise InvalidToken()
    expected = invoice_pay_token(number, secret_key=secret_key)
    if not hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace")):
        raise InvalidToken()
