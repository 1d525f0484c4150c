"""Who may read operations detail: a bearer token compared in constant time.

Flask-free so `/metrics` and the detailed health view share one rule.
"""
from __future__ import annotations

import hmac

_SCHEME = "bearer"


def bearer_token_ok(authorization_header: str | None, token: str | None) -> bool:
    """True when the header is `Bearer <token>` for the configured token.

    No configured token means there is nothing to present, so nothing matches:
    callers decide separately whether an unset token makes the resource public.
    """
    if not token or not authorization_header:
        return False
    scheme, _, presented = authorization_header.strip().partition(" ")
    if scheme.lower() != _SCHEME:
        return False
    presented = presented.strip()
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))
