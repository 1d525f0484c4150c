"""Password hashing for staff accounts, with argon2id (argon2-cffi).

Parameters: RFC 9106's "second recommended option", the low-memory profile
(argon2id, t=3, m=64 MiB, p=4), named explicitly rather than taken from the
library's defaults (today the same values) so an upgrade of argon2-cffi never
changes them silently. The RFC's first option needs 2 GiB per hash, which
several gunicorn workers on a small server cannot afford at once; 64 MiB costs
well under a second per login and still makes offline guessing expensive.
`needs_rehash` tells the login code when a stored hash was made with other
parameters, so it can be upgraded on the next successful sign-in.
"""
from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def hash_password(plain: str) -> str:
    """An encoded `$argon2id$...` hash with its own random salt."""
    return _hasher.hash(plain)


def verify_password(hash_: str | None, plain: str) -> bool:
    """True when `plain` matches `hash_`; False for a wrong password or a hash
    that is not an argon2 hash at all (never raises for bad input)."""
    if not hash_ or plain is None:
        return False
    try:
        return _hasher.verify(hash_, plain)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hash_: str) -> bool:
    """True when `hash_` was made with other parameters (or cannot be read)."""
    try:
        return _hasher.check_needs_rehash(hash_)
    except InvalidHashError:
        return True
