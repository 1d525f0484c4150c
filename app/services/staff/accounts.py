"""Staff accounts (administrators and trainers): create and deactivate.

Used by the `flask users ...` commands and by the demo seed, so both apply
the same rules: a valid, unused email, a known role, a password that meets
the staff password rules (app.services.staff.auth).
"""
from __future__ import annotations

from app.models import Role, User
from app.repositories import UserRepository, unit_of_work
from app.services.core.errors import InvalidInput, NotFound
from app.services.staff.auth import check_new_password
from app.services.staff.passwords import hash_password
from app.validation import FieldError, validate_email, validate_person_name


def create_staff_user(email: str, role: str | Role, password: str,
                      full_name: str | None = None) -> User:
    """Create an active staff account; raises InvalidInput naming the bad field."""
    email = _checked(validate_email, email, "email").lower()
    name = (_checked(validate_person_name, full_name, "full_name") if full_name
            else _name_from_email(email))
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"Unknown role {role!r}: choose one of {choices}.",
                           fields={"role": f"Choose one of {choices}."}) from None
    # At least 12 characters, not a common password (app.services.staff.auth).
    check_new_password(password, email=email)

    users = UserRepository()
    with unit_of_work():
        if users.get_by_email(email) is not None:
            message = f"There is already an account for {email}."
            raise InvalidInput(message, fields={"email": message})
        user = User(email=email, full_name=name, password_hash=hash_password(password),
                    role=role, is_active=True)
        users.add(user)
    return user


def deactivate_staff_user(email: str) -> User:
    """Stop an account from signing in; the row stays for the audit trail."""
    users = UserRepository()
    with unit_of_work():
        user = users.get_by_email(email)
        if user is None:
            raise NotFound(f"There is no account for {email.strip()}.")
        user.is_active = False
    return user


def _checked(rule, value, field: str):
    try:
        return rule(value)
    except FieldError as exc:
        raise InvalidInput(exc.message, fields={field: exc.message}) from None


def _name_from_email(email: str) -> str:
    """'jo.bloggs@...' -> 'Jo Bloggs', for accounts created without a name."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part) \
        or email
