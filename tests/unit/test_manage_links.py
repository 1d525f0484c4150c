"""Manage links are signed: only the token we issued opens a booking."""
import pytest

from app.services.core.errors import InvalidToken
from app.services.core.tokens import check_manage_token, manage_token

SECRET = "s3cret"


def test_issued_token_opens_its_own_booking():
    check_manage_token("ABCDEFGHJK", manage_token("ABCDEFGHJK", secret_key=SECRET), secret_key=SECRET)


@pytest.mark.parametrize("token", [None, "", "x" * 500, 42, "not-a-token"])
def test_missing_or_garbage_tokens_are_refused(token):
    with pytest.raises(InvalidToken):
        check_manage_token("ABCDEFGHJK", token, secret_key=SECRET)


def test_token_for_another_booking_is_refused():
    other = manage_token("ZZZZZZZZZZ", secret_key=SECRET)
    with pytest.raises(InvalidToken):
        check_manage_token("ABCDEFGHJK", other, secret_key=SECRET)


def test_tampered_token_is_refused():
    token = manage_token("ABCDEFGHJK", secret_key=SECRET)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        check_manage_token("ABCDEFGHJK", tampered, secret_key=SECRET)


def test_token_signed_with_another_secret_is_refused():
    with pytest.raises(InvalidToken):
        check_manage_token("ABCDEFGHJK", manage_token("ABCDEFGHJK", secret_key="other"),
                           secret_key=SECRET)
