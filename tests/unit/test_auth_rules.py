"""Staff password rules, the sign-in redirect rule and the reset token's contents."""
import base64
import json

import pytest

from app.models import Role, User
from app.services.core.errors import InvalidInput
from app.services.staff import auth
from app.web.auth import safe_next_url


# -- password rules ---------------------------------------------------------------------------
@pytest.mark.parametrize("password", [
    "correct-horse-battery-staple",
    "Gritstone tea & a long walk",
    "nine ducks, a kettle, Whitby",
    "x7#Kp2!qLm9@",  # 12 characters, not on any list
])
def test_long_uncommon_passwords_are_accepted(password):
    assert auth.password_problem(password) is None
    auth.check_new_password(password)  # does not raise


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_a_password_shorter_than_twelve_characters_is_refused(password):
    assert "at least 12 characters" in auth.password_problem(password)


def test_an_absurdly_long_password_is_refused():
    assert "at most" in auth.password_problem("a long passphrase " * 20)


@pytest.mark.parametrize("password", [
    "password1234", "PASSWORD1234", "Password1234", "qwertyuiop123", "1qaz2wsx3edc",
])
def test_a_common_password_is_refused_whatever_its_case(password):
    assert "too common" in auth.password_problem(password)


@pytest.mark.parametrize("password", ["Sunshine2024!!", "Football12345", "!!!123Dragon2000"])
def test_a_common_password_with_digits_or_symbols_around_it_is_refused(password):
    assert auth.is_common_password(password)
    assert "too common" in auth.password_problem(password)


def test_the_same_few_characters_repeated_are_refused():
    assert "too few characters" in auth.password_problem("abababababababab")


def test_the_accounts_own_email_is_refused_as_its_password():
    problem = auth.password_problem("jo.bloggs.trainer@example.co.uk",
                                    email="Jo.Bloggs.Trainer@example.co.uk")
    assert problem == "The password must not be your email address."


def test_check_new_password_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        auth.check_new_password("password1234", field="new_password")
    assert set(caught.value.fields) == {"new_password"}


def test_the_common_password_list_is_loaded_and_lower_case():
    common = auth.common_passwords()
    assert len(common) > 10_000
    assert "password" in common and "qwerty" in common
    assert all(word == word.lower() for word in common)
    assert not any(word.startswith("#") for word in common)


# -- where a sign-in may send you --------------------------------------------------------------
@pytest.mark.parametrize("target", ["/trainer/", "/trainer/sessions/3?tab=past", "/admin/bookings"])
def test_local_paths_are_safe_next_urls(target):
    assert safe_next_url(target) == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "//evil.example/path", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "http:/evil.example", " /trainer/",
    "/trainer/\r\nSet-Cookie: x=1", "trainer/", "/login?next=/admin", "/logout",
    "/password/forgot", "/" + "a" * 3000,
])
def test_other_hosts_schemes_and_odd_paths_are_not_safe_next_urls(target):
    assert safe_next_url(target) is None


# -- tokens and fingerprints -------------------------------------------------------------------
def _user(password_hash: str) -> User:
    return User(id=7, email="tess@example.co.uk", full_name="Tess", role=Role.TRAINER,
                password_hash=password_hash, is_active=True)


def test_the_password_fingerprint_changes_with_the_hash_and_the_key():
    one, two = _user("$argon2id$one"), _user("$argon2id$two")
    assert auth.password_fingerprint(one, secret_key="k") != \
        auth.password_fingerprint(two, secret_key="k")
    assert auth.password_fingerprint(one, secret_key="k") != \
        auth.password_fingerprint(one, secret_key="other")


def test_a_reset_token_reveals_neither_the_hash_nor_the_email():
    user = _user("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0")
    token = auth.make_reset_token(user, secret_key="k")
    payload = token.split(".")[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data["u"] == 7
    assert "argon2" not in json.dumps(data) and "ZGlnZXN0" not in token
    assert "tess" not in token
