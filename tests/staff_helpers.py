"""Staff accounts with working passwords and signed-in test clients.

The fixtures (`admin_user`, `trainer_user`, `admin_client`, `trainer_client`,
`login`, `staff_user`) live in tests/conftest.py; test modules that need the
plain helpers or the password import them from here (`from staff_helpers
import STAFF_PASSWORD`), never from conftest: with several conftest.py files
(tests/e2e has one) `from conftest import ...` picks whichever came first.
"""
from __future__ import annotations

STAFF_PASSWORD = "correct-horse-battery-staple"


def make_staff_user(role, *, password: str = STAFF_PASSWORD, **fields):
    """A staff account whose password really works (factories store no real hash)."""
    from app.services.staff.passwords import hash_password

    from factories import UserFactory

    return UserFactory(role=role, password_hash=hash_password(password), **fields)


def sign_in(client, user, password: str = STAFF_PASSWORD):
    """Sign `client` in through the real POST /login (CSRF is off in tests)."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 303, f"sign-in as {user.email} failed: {response.status_code}"
    return client


def sign_in_without_password(client, user):
    """Put `user` in the client's session as a real sign-in would (Flask-Login's keys
    plus app.web.auth's marks), for users made by plain factories (no real hash).
    Call it inside the app context."""
    from app.web.auth import sign_in_marks

    with client.session_transaction() as session:
        session.clear()
        session.update({"_user_id": str(user.id), "_fresh": True, **sign_in_marks(user)})
    return client
