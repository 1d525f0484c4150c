"""Staff sign-in, sessions, throttling and password reset, through the real pages."""
import base64
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.config import load_config
from app.extensions import db
from app.models import AuditLog, OutboxEvent, Role
from app.services.background import dispatcher
from app.services.core import events
from app.services.staff import auth, passwords
from app.services.staff.accounts import deactivate_staff_user

from staff_helpers import STAFF_PASSWORD

NEW_PASSWORD = "kettle-moorland-sixpence"
SIGN_IN_FAILED = "The email address or password is not right."
TOO_MANY = "Too many sign-in attempts. Try again in a minute."


def post_login(client, email, password, **kwargs):
    return client.post("/login", data={"email": email, "password": password, **kwargs})


def signed_in(client) -> bool:
    return client.get("/trainer/").status_code == 200


def has_admin_home(app) -> bool:
    return any(rule.rule in ("/admin", "/admin/") for rule in app.url_map.iter_rules())


# -- signing in and out --------------------------------------------------------------------
def test_a_trainer_signs_in_and_lands_on_the_trainer_portal(client, trainer_user):
    response = post_login(client, trainer_user.email, STAFF_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/trainer/"
    page = client.get("/trainer/")
    assert page.status_code == 200
    assert f'data-signed-in-as="{trainer_user.email}"' in page.text


def test_an_admin_signs_in_and_lands_on_the_admin_pages(app, client, admin_user):
    response = post_login(client, admin_user.email.upper(), STAFF_PASSWORD)
    assert response.status_code == 303
    expected = "/admin" if has_admin_home(app) else "/trainer/"
    assert response.headers["Location"].startswith(expected)


@pytest.mark.parametrize("who", ["wrong password", "unknown email"])
def test_bad_credentials_are_refused_with_one_message(client, trainer_user, who):
    email = trainer_user.email if who == "wrong password" else "nobody@example.co.uk"
    response = post_login(client, email, "not-the-password-at-all")
    assert response.status_code == 401
    assert SIGN_IN_FAILED in response.text
    assert not signed_in(client)


def test_empty_fields_are_named(client):
    response = post_login(client, "", "")
    assert response.status_code == 422
    assert "Enter your email address." in response.text and "Enter your password." in response.text


def test_a_deactivated_account_cannot_sign_in(client, trainer_user):
    deactivate_staff_user(trainer_user.email)
    response = post_login(client, trainer_user.email, STAFF_PASSWORD)
    assert response.status_code == 401
    assert SIGN_IN_FAILED in response.text
    assert not signed_in(client)


def test_deactivating_an_account_ends_its_open_sessions(trainer_client, trainer_user):
    assert signed_in(trainer_client)
    deactivate_staff_user(trainer_user.email)
    response = trainer_client.get("/trainer/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_in_starts_a_new_session(client, trainer_user, staff_user):
    client.get("/login")  # an anonymous session with a CSRF secret
    other = staff_user(Role.ADMIN)
    with client.session_transaction() as session:
        csrf_before = session["csrf_token"]
        session["planted"] = "by an attacker"
        session["_user_id"] = str(other.id)  # a planted id without a sign-in is nobody
    assert client.get("/trainer/").status_code == 302

    response = post_login(client, trainer_user.email, STAFF_PASSWORD)
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(trainer_user.id)
        assert session.get("csrf_token") != csrf_before  # the old CSRF secret is gone too


def test_signing_out_ends_the_session(trainer_client):
    assert signed_in(trainer_client)
    response = trainer_client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have signed out." in trainer_client.get("/login").text
    assert not signed_in(trainer_client)


def test_signing_out_needs_a_post(trainer_client):
    assert trainer_client.get("/logout").status_code == 405
    assert signed_in(trainer_client)


def test_a_session_expires_after_the_configured_hours(trainer_client):
    with trainer_client.session_transaction() as session:
        session["_auth_at"] = int(time.time()) - 13 * 3600
    assert not signed_in(trainer_client)


def test_signing_in_upgrades_a_hash_made_with_old_parameters(app, client, staff_user,
                                                             monkeypatch):
    user = staff_user(Role.TRAINER)
    old_hash = user.password_hash
    stronger = passwords.PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", stronger)
    assert post_login(client, user.email, STAFF_PASSWORD).status_code == 303
    db.session.refresh(user)
    assert user.password_hash != old_hash and not passwords.needs_rehash(user.password_hash)
    assert signed_in(client)  # the session was started with the new hash's fingerprint


# -- where sign-in sends you ---------------------------------------------------------------------
def test_an_anonymous_visitor_is_sent_to_sign_in_and_brought_back(client, trainer_user):
    response = client.get("/trainer/?tab=past")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    next_url = parse_qs(location.query)["next"][0]
    assert next_url == "/trainer/?tab=past"
    assert "Please sign in to see that page." in client.get("/login").text

    response = post_login(client, trainer_user.email, STAFF_PASSWORD, next=next_url)
    assert response.headers["Location"] == "/trainer/?tab=past"


@pytest.mark.parametrize("next_url",
                         ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_to_another_site(client, trainer_user, next_url):
    response = post_login(client, trainer_user.email, STAFF_PASSWORD, next=next_url)
    assert response.status_code == 303 and response.headers["Location"] == "/trainer/"


def test_a_trainer_is_not_sent_on_to_the_admin_pages(client, trainer_user):
    response = post_login(client, trainer_user.email, STAFF_PASSWORD, next="/admin/bookings")
    assert response.headers["Location"] == "/trainer/"


def test_an_htmx_request_without_a_session_gets_401_and_a_redirect_header(client):
    response = client.post("/trainer/sessions/1/attendees/1/attendance",
                           headers={"HX-Request": "true"}, data={"attended": "present"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_sign_in_pages_are_not_cached(client):
    response = client.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "strict-origin"


def test_the_footer_links_to_staff_sign_in(client):
    assert 'href="/login">Staff sign in</a>' in client.get("/").text


def test_production_cookies_are_secure_http_only_and_same_site():
    config = load_config("/tmp", env={"APP_ENV": "production", "SECRET_KEY": "s" * 32,
                                      "PAYMENT_PROVIDER": "stripe",
                                      "PUBLIC_BASE_URL": "https://book.example.co.uk",
                                      "METRICS_TOKEN": "m" * 32})
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        assert config[f"{prefix}_SECURE"] is True
        assert config[f"{prefix}_HTTPONLY"] is True
        assert config[f"{prefix}_SAMESITE"] == "Lax"
    assert load_config("/tmp", env={})["SESSION_COOKIE_SECURE"] is False  # http in development


def test_rate_limits_use_redis_when_redis_url_is_set():
    assert load_config("/tmp", env={"REDIS_URL": "redis://cache:6379/0"})[
        "RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert load_config("/tmp", env={})["RATELIMIT_STORAGE_URI"] == "memory://"


# -- throttling ------------------------------------------------------------------------------------
class TestThrottling:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                "LOGIN_RATE_LIMIT_PER_ACCOUNT": "5/minute", "LOGIN_RATE_LIMIT_PER_IP": "20/minute"}

    def test_the_sixth_attempt_on_one_account_in_a_minute_is_refused(self, client, trainer_user):
        for _ in range(5):
            assert post_login(client, trainer_user.email, "wrong-password-guess").status_code == 401
        response = post_login(client, trainer_user.email, STAFF_PASSWORD)
        assert response.status_code == 429
        assert TOO_MANY in response.text
        assert int(response.headers["Retry-After"]) > 0
        assert not signed_in(client)  # even the right password waits

    def test_throttling_one_account_leaves_other_accounts_and_addresses_alone(
            self, app, client, trainer_user, staff_user):
        other = staff_user(Role.TRAINER)
        for _ in range(6):
            post_login(client, trainer_user.email, "wrong-password-guess")
        assert post_login(client, trainer_user.email, STAFF_PASSWORD).status_code == 429
        assert post_login(client, other.email, STAFF_PASSWORD).status_code == 303
        elsewhere = app.test_client()
        response = elsewhere.post("/login", data={"email": trainer_user.email,
                                                  "password": STAFF_PASSWORD},
                                  environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert response.status_code == 303

    def test_one_address_trying_many_accounts_is_throttled(self, app, client, trainer_user):
        for n in range(20):
            response = post_login(client, f"guess{n}@example.co.uk", "wrong-password-guess")
            assert response.status_code == 401
        response = post_login(client, trainer_user.email, STAFF_PASSWORD)
        assert response.status_code == 429 and TOO_MANY in response.text
        other_address = app.test_client().post(
            "/login", data={"email": trainer_user.email, "password": STAFF_PASSWORD},
            environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert other_address.status_code == 303

    def test_showing_the_sign_in_page_is_not_throttled(self, client):
        assert all(client.get("/login").status_code == 200 for _ in range(25))

    def test_password_reset_requests_are_throttled_per_email(self, client, trainer_user):
        for _ in range(3):
            assert client.post("/password/forgot",
                               data={"email": trainer_user.email}).status_code == 200
        response = client.post("/password/forgot", data={"email": trainer_user.email})
        assert response.status_code == 429
        assert "Too many password reset requests" in response.text


# -- password reset ----------------------------------------------------------------------------
def outbox(app) -> list:
    return getattr(app.extensions["mailman"], "outbox", [])


def request_reset_link(app, client, email) -> str:
    """Ask for a reset on the page, deliver the outbox, return the link's path."""
    response = client.post("/password/forgot", data={"email": email})
    assert response.status_code == 200 and "Check your email" in response.text
    dispatcher.dispatch_pending("test", dispatcher.DispatchPolicy())
    message = outbox(app)[-1]
    assert message.to == [email]
    url = re.search(r"https?://\S+/password/reset/[\w.\-]+", message.body).group(0)
    return urlsplit(url).path


def reset(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def test_a_reset_link_is_emailed_and_sets_a_new_password(app, client, trainer_user):
    path = request_reset_link(app, client, trainer_user.email)
    assert client.get(path).status_code == 200

    response = reset(client, path)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert post_login(app.test_client(), trainer_user.email, STAFF_PASSWORD).status_code == 401
    assert post_login(client, trainer_user.email, NEW_PASSWORD).status_code == 303
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "user.password_reset")).one()
    assert entry.actor_id == trainer_user.id


def test_a_reset_link_works_once(app, client, trainer_user):
    path = request_reset_link(app, client, trainer_user.email)
    assert reset(client, path).status_code == 303

    again = client.get(path)
    assert again.status_code == 400 and "already been used" in again.text
    assert reset(client, path, "another-fine-passphrase").status_code == 400
    assert post_login(client, trainer_user.email, NEW_PASSWORD).status_code == 303


def test_using_a_reset_link_kills_every_older_link(app, client, trainer_user, monkeypatch):
    a_minute_ago = int(time.time()) - 60
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: a_minute_ago)
        first = request_reset_link(app, client, trainer_user.email)
    second = request_reset_link(app, client, trainer_user.email)
    assert first != second
    assert client.get(first).status_code == 200
    assert reset(client, second).status_code == 303
    assert client.get(first).status_code == 400


def test_a_reset_link_expires(app, client, trainer_user, monkeypatch):
    path = request_reset_link(app, client, trainer_user.email)
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    issued = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued + max_age + 5)
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.text
    assert reset(client, path).status_code == 400
    assert post_login(client, trainer_user.email, STAFF_PASSWORD).status_code == 303


def test_a_reset_link_for_one_account_cannot_reset_another(app, client, trainer_user, staff_user):
    victim = staff_user(Role.ADMIN)
    secret = app.config["SECRET_KEY"]
    mine = auth.make_reset_token(trainer_user, secret_key=secret)
    # The id swapped inside a signed token breaks the signature...
    payload, timestamp, signature = mine.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["u"] = victim.id
    swapped = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    forged = ".".join([swapped.decode().rstrip("="), timestamp, signature])
    assert client.get(f"/password/reset/{forged}").status_code == 400
    assert reset(client, f"/password/reset/{forged}").status_code == 400
    # ...and a validly signed token naming the other account with my fingerprint fails too.
    serializer = URLSafeTimedSerializer(secret, salt=auth.RESET_SALT)
    crossed = serializer.dumps({"u": victim.id,
                                "p": auth.password_fingerprint(trainer_user, secret_key=secret)})
    assert client.get(f"/password/reset/{crossed}").status_code == 400
    assert reset(client, f"/password/reset/{crossed}").status_code == 400
    assert post_login(app.test_client(), victim.email, STAFF_PASSWORD).status_code == 303


def test_a_token_signed_with_another_key_is_refused(client, trainer_user):
    token = auth.make_reset_token(trainer_user, secret_key="someone-elses-key")
    assert client.get(f"/password/reset/{token}").status_code == 400


def test_a_deactivated_account_cannot_use_its_reset_link(app, client, trainer_user):
    path = request_reset_link(app, client, trainer_user.email)
    deactivate_staff_user(trainer_user.email)
    assert client.get(path).status_code == 400


def test_the_new_password_must_meet_the_rules_and_the_link_survives_a_refusal(app, client,
                                                                             trainer_user):
    path = request_reset_link(app, client, trainer_user.email)
    common = reset(client, path, "Password1234")
    assert common.status_code == 422 and "too common" in common.text
    short = reset(client, path, "short")
    assert short.status_code == 422 and "at least 12 characters" in short.text
    mismatch = reset(client, path, NEW_PASSWORD, confirm="something-else-entirely")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    assert reset(client, path).status_code == 303


def test_a_reset_signs_out_every_open_session(app, trainer_client, trainer_user):
    assert signed_in(trainer_client)
    path = request_reset_link(app, app.test_client(), trainer_user.email)
    assert reset(app.test_client(), path).status_code == 303
    assert not signed_in(trainer_client)


def test_an_unknown_email_gets_the_same_answer_and_no_email(app, client, trainer_user):
    known = client.post("/password/forgot", data={"email": trainer_user.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.co.uk"})
    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in unknown.text
    count = db.session.scalar(select(func.count()).select_from(OutboxEvent)
                              .where(OutboxEvent.event_type == events.PASSWORD_RESET_REQUESTED))
    assert count == 1
    dispatcher.dispatch_pending("test", dispatcher.DispatchPolicy())
    assert [m.to for m in outbox(app)] == [[trainer_user.email]]


def test_no_reset_token_is_stored_in_the_database(app, client, trainer_user):
    path = request_reset_link(app, client, trainer_user.email)
    token = path.rsplit("/", 1)[1]
    event = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.PASSWORD_RESET_REQUESTED)).one()
    assert token not in str(event.payload)
    assert set(event.payload) == {"user_id", "requested_at"}
