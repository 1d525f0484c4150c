"""Staff sign-in and sign-out, and the password reset pages.

    auth.login            GET/POST /login              (rate-limited per account+IP and per IP)
    auth.logout           POST     /logout
    auth.forgot_password  GET/POST /password/forgot    (rate-limited per IP and per email)
    auth.reset_password   GET/POST /password/reset/<token>

The session cookie
    Signing in starts a new session: everything in the cookie from before
    (including the CSRF secret) is thrown away, so nothing planted in a
    browser before sign-in survives it. The session also carries a keyed
    fingerprint of the password hash and the sign-in time; `_load_user`
    refuses the session once the password changes (a reset signs out every
    browser, a stolen cookie included) or STAFF_SESSION_MAX_AGE_HOURS pass,
    and a deactivated account stops working on its next request.

Rate limits (Flask-Limiter; Redis when REDIS_URL is set, so every process
shares them) count every POST, answer 429 with a page that says when to try
again, and are switched off by RATELIMIT_ENABLED=0 (the tests do, except the
throttling tests).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from app.extensions import limiter, login_manager
from app.monitoring.errors import report as report_error
from app.services.core.errors import InvalidInput, InvalidToken
from app.services.staff import auth
from app.web.htmx import hx_redirect, is_htmx, keep_private, vary

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

TOO_MANY_SIGN_INS = "Too many sign-in attempts. Try again in a minute."
TOO_MANY_RESETS = "Too many password reset requests. Try again later."
SIGN_IN_FAILED = "The email address or password is not right."
FINGERPRINT_KEY = "_auth_fp"
SIGNED_IN_AT_KEY = "_auth_at"
AUTH_PATHS = ("/login", "/logout", "/password/")


# -- forms -------------------------------------------------------------------------------
class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[
        InputRequired("Enter your email address."), Length(max=auth.MAX_EMAIL_LENGTH)])
    password = PasswordField("Password", validators=[
        InputRequired("Enter your password."), Length(max=auth.MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[
        InputRequired("Enter your email address."), Length(max=auth.MAX_EMAIL_LENGTH)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired("Enter a new password.")])
    confirm = PasswordField("New password again", validators=[
        InputRequired("Enter the new password again."),
        EqualTo("password", "The two passwords are not the same.")])


# -- rate limit keys -----------------------------------------------------------------------
def client_ip() -> str:
    """The client's address (the real one behind TRUSTED_PROXY_COUNT proxies, see ProxyFix)."""
    return request.remote_addr or "unknown"


def _email_key() -> str:
    """The posted email, hashed: no addresses in the rate limit store."""
    email = (request.form.get("email") or "").strip().lower()[:auth.MAX_EMAIL_LENGTH]
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def _account_and_ip_key() -> str:
    return f"{_email_key()}|{client_ip()}"


def _config_value(name: str):
    return lambda: current_app.config[name]


# -- Flask-Login -------------------------------------------------------------------------
@login_manager.user_loader
def _load_user(user_id: str):
    user = auth.load_user(user_id)
    if user is None:
        return None
    config = current_app.config
    expected = auth.password_fingerprint(user, secret_key=config["SECRET_KEY"])
    if not hmac.compare_digest(str(session.get(FINGERPRINT_KEY, "")), expected):
        return None  # the password changed since this session signed in
    signed_in_at = session.get(SIGNED_IN_AT_KEY)
    max_age = config.get("STAFF_SESSION_MAX_AGE_HOURS", 12) * 3600
    if not isinstance(signed_in_at, int) or time.time() - signed_in_at > max_age:
        return None
    return user


@bp.before_app_request
def _forget_cached_user():
    # Flask-Login caches the user on `g`, which lives as long as the app context.
    # A request normally gets a context of its own; where one is shared (the test
    # suite runs every request inside one app context) the user must still be
    # loaded from this request's cookie, never left over from another request.
    g.pop("_login_user", None)


@login_manager.unauthorized_handler
def _unauthorized():
    """Anonymous: to the sign-in page, coming back here afterwards (GET only).

    HTMX requests get 401 and an HX-Redirect, so a fragment swap never puts
    the sign-in page inside a table row.
    """
    next_url = _current_path() if request.method == "GET" else None
    login_url = url_for("auth.login", next=next_url)
    if is_htmx():
        return hx_redirect(make_response("", 401), login_url)
    flash("Please sign in to see that page.", "info")
    return vary(redirect(login_url))


def _current_path() -> str:
    path = request.full_path
    return path[:-1] if path.endswith("?") else path


# -- where to go after signing in ---------------------------------------------------------
def safe_next_url(target: object) -> str | None:
    """`target` if it is a path on this site (never another host), else None."""
    if not isinstance(target, str) or not target or len(target) > 2000:
        return None
    if any(ord(ch) < 33 or ch == "\\" for ch in target):
        return None  # whitespace, control characters, backslashes ("/\\evil.example")
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if parts.path.startswith(AUTH_PATHS):
        return None
    return target


def _route_exists(path: str) -> bool:
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True
    except HTTPException:  # NotFound, MethodNotAllowed
        return False
    return True


def staff_home(user) -> str:
    """The admin pages for administrators, the trainer portal for trainers."""
    if user.is_admin:
        for path in ("/admin/", "/admin"):
            if _route_exists(path):
                return path
    return url_for("trainer.index")


def _after_sign_in_url(user, next_url: str | None) -> str:
    if next_url and not user.is_admin and urlsplit(next_url).path.startswith("/admin"):
        next_url = None  # a trainer would only meet a 403 there
    return next_url or staff_home(user)


def sign_in_marks(user) -> dict:
    """What the session holds besides Flask-Login's own keys for a signed-in user:
    the password fingerprint and the sign-in time that `_load_user` checks."""
    return {FINGERPRINT_KEY: auth.password_fingerprint(
                user, secret_key=current_app.config["SECRET_KEY"]),
            SIGNED_IN_AT_KEY: int(time.time())}


def _start_session(user) -> None:
    """A brand-new session for a signed-in user (no session fixation)."""
    session.clear()
    login_user(user)
    session.update(sign_in_marks(user))


@bp.app_context_processor
def _staff_helpers():
    # The signed-in user's name in the site header links to their portal.
    return {"staff_home_url": lambda: staff_home(current_user)}


# -- pages -------------------------------------------------------------------------------------
# Sign-in pages carry CSRF tokens, reset pages a token in the URL: never cache
# them, never send the URL to another site, never index them.
keep_private(bp, secret_url=True)


@bp.errorhandler(429)
def _too_many_requests(exc):
    report_error(exc)  # rate_limited, counted and logged like every other error
    message = getattr(exc, "description", None) or TOO_MANY_SIGN_INS
    response = make_response(render_template("auth/too_many_attempts.html", message=message), 429)
    response.headers.setdefault("Retry-After", "60")
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config_value("LOGIN_RATE_LIMIT_PER_IP"), key_func=client_ip, methods=["POST"],
               scope="login-ip", error_message=TOO_MANY_SIGN_INS)
@limiter.limit(_config_value("LOGIN_RATE_LIMIT_PER_ACCOUNT"), key_func=_account_and_ip_key,
               methods=["POST"], scope="login-account", error_message=TOO_MANY_SIGN_INS)
def login():
    form = LoginForm()
    next_url = safe_next_url(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_after_sign_in_url(current_user, next_url))
        form.next.data = next_url or ""
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    user = auth.authenticate(form.email.data, form.password.data)
    if user is None:
        log.info("failed staff sign-in from %s", client_ip())
        form.password.data = ""
        return render_template("auth/login.html", form=form, problem=SIGN_IN_FAILED), 401
    _start_session(user)
    log.info("staff account %s signed in", user.id)
    return redirect(_after_sign_in_url(user, next_url), code=303)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_config_value("PASSWORD_RESET_RATE_LIMIT_PER_IP"), key_func=client_ip,
               methods=["POST"], scope="reset-ip", error_message=TOO_MANY_RESETS)
@limiter.limit(_config_value("PASSWORD_RESET_RATE_LIMIT_PER_ACCOUNT"), key_func=_email_key,
               methods=["POST"], scope="reset-account", error_message=TOO_MANY_RESETS)
def forgot_password():
    form = ForgotPasswordForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("auth/forgot.html", form=form), 422
        # The same answer whether or not the address has an account.
        auth.request_password_reset(form.email.data)
        return render_template("auth/forgot_sent.html", email=form.email.data.strip(),
                               valid_minutes=_reset_max_age() // 60)
    return render_template("auth/forgot.html", form=form)


def _reset_max_age() -> int:
    return int(current_app.config["PASSWORD_RESET_MAX_AGE"])


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    secret_key = current_app.config["SECRET_KEY"]
    form = ResetPasswordForm()
    try:
        user = auth.check_reset_token(token, secret_key=secret_key, max_age=_reset_max_age())
    except InvalidToken as exc:
        return render_template("auth/reset_invalid.html", message=exc.message,
                               form=ForgotPasswordForm(formdata=None)), 400
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/reset.html", form=form, user=user), status
    try:
        auth.reset_password(token, form.password.data, secret_key=secret_key,
                            max_age=_reset_max_age())
    except InvalidInput as exc:
        form.password.errors = list(form.password.errors) + [exc.message]
        return render_template("auth/reset.html", form=form, user=user), 422
    except InvalidToken as exc:
        return render_template("auth/reset_invalid.html", message=exc.message,
                               form=ForgotPasswordForm(formdata=None)), 400
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    flash("Your password has been changed. Sign in with your new password.", "success")
    return redirect(url_for("auth.login"), code=303)

