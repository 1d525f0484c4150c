"""Staff passwords are stored as argon2id hashes and checked without ever raising."""
import pytest
from argon2 import PasswordHasher

from app.services.staff.passwords import hash_password, needs_rehash, verify_password

pytestmark = pytest.mark.real_password_hashing


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password("correct horse battery staple")


def test_hash_is_argon2id_with_the_rfc_9106_low_memory_parameters(stored):
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_same_password_hashes_differently_each_time(stored):
    assert hash_password("correct horse battery staple") != stored


def test_verify_accepts_the_right_password(stored):
    assert verify_password(stored, "correct horse battery staple") is True


@pytest.mark.parametrize("attempt", ["correct horse battery stapl", "", "CORRECT HORSE BATTERY STAPLE"])
def test_verify_refuses_a_wrong_password(stored, attempt):
    assert verify_password(stored, attempt) is False


@pytest.mark.parametrize("bad_hash", [
    "",
    None,
    "not-a-hash",
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
    "$argon2id$v=19$m=65536,t=3,p=4$garbage",
    "pbkdf2:sha256:600000$salt$abcdef",  # werkzeug
])
def test_verify_returns_false_for_a_hash_it_cannot_read(bad_hash):
    assert verify_password(bad_hash, "anything at all") is False


def test_a_current_hash_needs_no_rehash(stored):
    assert needs_rehash(stored) is False


def test_a_hash_made_with_weaker_parameters_needs_a_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    assert verify_password(weak, "pw") is True
    assert needs_rehash(weak) is True


def test_an_unreadable_hash_needs_a_rehash():
    assert needs_rehash("not-a-hash") is True
