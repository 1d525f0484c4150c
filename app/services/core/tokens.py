"""Signed manage-booking tokens: customers need no account, only the link we send them."""
from __future__ import annotations

import hashlib
import hmac

from itsdangerous import Signer

from app.services.core.errors import InvalidToken

MAX_TOKEN_LENGTH = 200


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt="manage-booking", digest_method=hashlib.sha256)


def manage_token(reference: str, *, secret_key: str) -> str:
    """The token that, with the reference, opens the manage-booking page."""
    return _signer(secret_key).get_signature(reference).decode("ascii")


def check_manage_token(reference: str, token: object, *, secret_key: str) -> None:
    """Raise InvalidToken unless `token` was issued for `reference`."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    expected = manage_token(reference, secret_key=secret_key)
    if not hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace")):
        raise InvalidToken()
