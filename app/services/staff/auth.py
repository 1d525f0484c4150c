"""Staff sign-in: checking credentials, the password rules, and password reset links.

No Flask in here: the web layer passes in what it needs (the secret key, the
link lifetime) and keeps the session cookie to itself.

Sign-in
    `authenticate` takes about as long for an unknown email as for a known one
    (a wrong password is checked against a dummy argon2id hash), so the time a
    refusal takes does not tell which emails have accounts. A stored hash made
    with older parameters is upgraded on the next successful sign-in.

Password rules (`check_new_password`)
    At least MIN_PASSWORD_LENGTH (12) characters, at most MAX_PASSWORD_LENGTH;
    not one of ~19,000 common passwords (common_passwords.txt, checked
    case-insensitively), nor a common password with digits or symbols added
    at the end ("Password2024!"); not the same few characters repeated; not
    the account's own email address. No composition rules (NCSC and NIST
    SP 800-63B advise against them): length and a block list do the work.

Password reset links
    A token from itsdangerous' URLSafeTimedSerializer: signed with SECRET_KEY,
    expiring after PASSWORD_RESET_MAX_AGE seconds, and bound to the account's
    current password hash (an HMAC of it, so the token reveals nothing about
    the hash). Setting a password changes the hash, so a token works once: a
    used token, and every other token issued before it, stops working. The
    new hash is written with a conditional UPDATE, so two concurrent uses of
    one token cannot both succeed. The email is sent by an outbox handler
    (app.services.messaging.staff_emails), which makes the token when it sends:
    no reset token is ever stored in the database.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from functools import lru_cache
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.models import User, utcnow
from app.repositories import UserRepository, unit_of_work
from app.services.core import events
from app.services.core.audit import record_audit
from app.services.core.errors import InvalidInput, InvalidToken
from app.services.staff.passwords import (
    MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password,
)

log = logging.getLogger(__name__)

# Long enough for any passphrase; short enough that nobody posts megabytes to hash.
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 254
# Below this many different characters a password is one thing repeated ("aaaaaaaaaaaa").
MIN_DISTINCT_CHARACTERS = 5

RESET_SALT = "staff-password-reset"
DEFAULT_RESET_MAX_AGE = 3600

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")
_LEADING_DIGITS_AND_SYMBOLS = re.compile(r"^[\d\W_]+")

INVALID_RESET_LINK = ("This password reset link has expired or has already been used. "
                      "Ask for a new one below.")


# -- signing in ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so both paths cost the same."""
    return hash_password("no account has this password, it only takes time")


def authenticate(email: str | None, password: str | None) -> User | None:
    """The active staff account these credentials open, or None.

    None for an unknown email, a wrong password and a deactivated account
    alike, so the answer never tells which emails have accounts.
    """
    email = (email or "").strip()
    if not email or not password or len(email) > MAX_EMAIL_LENGTH \
            or len(password) > MAX_PASSWORD_LENGTH:
        return None
    user = UserRepository().get_by_email(email)
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        with unit_of_work():
            user.password_hash = hash_password(password)
    return user


def load_user(user_id: object) -> User | None:
    """The active account with this id (Flask-Login's user_loader), else None."""
    try:
        user = UserRepository().get(int(str(user_id)))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.is_active else None


def password_fingerprint(user: User, *, secret_key: str) -> str:
    """A short keyed digest of the stored hash: changes whenever the password does.

    Kept in the session cookie at sign-in and in reset tokens; a mismatch
    later means the password changed since, and the session or link is dead.
    """
    digest = hmac.new(secret_key.encode("utf-8"), user.password_hash.encode("utf-8"),
                      hashlib.sha256).hexdigest()
    return digest[:24]


# -- password rules --------------------------------------------------------------------
@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines
                         if line.strip() and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    """True for a listed password, or one with digits/symbols around a listed one
    ("Sunshine2024!", "123password"), whatever the case."""
    lowered = password.strip().lower()
    common = common_passwords()
    if lowered in common:
        return True
    core = _LEADING_DIGITS_AND_SYMBOLS.sub("", _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered))
    return len(core) >= 4 and core in common


def password_problem(password: str | None, *, email: str | None = None) -> str | None:
    """What is wrong with `password` as a new staff password, or None if it is fine."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    if len(set(password.lower())) < MIN_DISTINCT_CHARACTERS:
        return "The password repeats too few characters. Try a few unrelated words."
    if is_common_password(password):
        return ("That password is too common: it is on lists that attackers try first. "
                "Try a few unrelated words.")
    if email and password.strip().lower() in {email.strip().lower(),
                                              email.strip().lower().split("@", 1)[0]}:
        return "The password must not be your email address."
    return None


def check_new_password(password: str | None, *, email: str | None = None,
                       field: str = "password") -> None:
    """Raise InvalidInput (naming `field`) unless `password` meets the rules."""
    problem = password_problem(password, email=email)
    if problem:
        raise InvalidInput(problem, fields={field: problem})


# -- password reset ----------------------------------------------------------------------
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=RESET_SALT)


def make_reset_token(user: User, *, secret_key: str) -> str:
    """A signed token that lets `user` set a new password, once, for a limited time."""
    return _serializer(secret_key).dumps(
        {"u": user.id, "p": password_fingerprint(user, secret_key=secret_key)})


def _user_for_token(token: object, *, secret_key: str, max_age: int) -> User:
    if not isinstance(token, str) or not token or len(token) > 512:
        raise InvalidToken(INVALID_RESET_LINK)
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken(INVALID_RESET_LINK) from None
    except BadSignature:
        raise InvalidToken(INVALID_RESET_LINK) from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) \
            or not isinstance(data.get("p"), str):
        raise InvalidToken(INVALID_RESET_LINK)
    user = UserRepository().get(data["u"])
    if user is None or not user.is_active or not hmac.compare_digest(
            data["p"], password_fingerprint(user, secret_key=secret_key)):
        raise InvalidToken(INVALID_RESET_LINK)
    return user


def check_reset_token(token: object, *, secret_key: str,
                      max_age: int = DEFAULT_RESET_MAX_AGE) -> User:
    """The account a reset token is for; InvalidToken if it is forged, expired,
    already used (the password changed since) or the account is deactivated."""
    return _user_for_token(token, secret_key=secret_key, max_age=max_age)


def reset_password(token: object, new_password: str | None, *, secret_key: str,
                   max_age: int = DEFAULT_RESET_MAX_AGE) -> User:
    """Set a new password with a reset token; the token (and every older one) dies.

    Raises InvalidToken for a bad token, InvalidInput when the password breaks
    the rules (the token stays usable then).
    """
    users = UserRepository()
    with unit_of_work():
        user = _user_for_token(token, secret_key=secret_key, max_age=max_age)
        check_new_password(new_password, email=user.email)
        old_hash = user.password_hash
        if not users.replace_password_hash(user.id, old_hash, hash_password(new_password)):
            raise InvalidToken(INVALID_RESET_LINK)  # another use of this token won
        users.refresh(user)
        record_audit(user.id, "user.password_reset", "user", user.id)
    log.info("password reset for staff account %s", user.id)
    return user


def request_password_reset(email: str | None) -> bool:
    """Record a PasswordResetRequested event for an active account with this email.

    The caller answers the same whether or not an account exists; the return
    value (True if an email will be sent) is for tests and logs only.
    """
    email = (email or "").strip()
    if not email or len(email) > MAX_EMAIL_LENGTH:
        return False
    user = UserRepository().get_by_email(email)
    if user is None or not user.is_active:
        return False
    with unit_of_work():
        events.record_event(events.PASSWORD_RESET_REQUESTED, user.id,
                            {"user_id": user.id, "requested_at": utcnow().isoformat()})
    return True
