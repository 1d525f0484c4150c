"""Flask commands: `flask --app wsgi seed-demo`, `users create|deactivate`, ...

`register(app)` is the one place that adds commands to the app. Commands stay
thin: parse the arguments, call a service, print the outcome.
"""
from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.models import Role, utcnow
from app.services import accounts, booking, demo_data, idempotency
from app.services.errors import DomainError

DEFAULT_DEMO_ADMIN_EMAIL = "admin@reactfasttraining.co.uk"


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(cleanup_command)


@contextmanager
def _errors_as_messages() -> Iterator[None]:
    """A domain error ends the command with its message and exit code 1, no traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


# -- seed-demo -------------------------------------------------------------------
@click.command("seed-demo")
@click.option("--if-empty", is_flag=True,
              help="Do nothing if the database already has courses or SEED_DEMO is off.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo catalogue, timetable and staff accounts into an empty database.

    Staff credentials come from DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD and
    DEMO_TRAINER_PASSWORD; passwords not given are generated and printed once.
    """
    if if_empty and not current_app.config.get("SEED_DEMO", True):
        click.echo("seed-demo: SEED_DEMO is off, so no demo data was loaded.")
        return
    if if_empty and not demo_data.is_empty():
        click.echo("seed-demo: the database already has courses, so no demo data was loaded.")
        return

    admin_email = os.environ.get("DEMO_ADMIN_EMAIL") or DEFAULT_DEMO_ADMIN_EMAIL
    admin_password, admin_shown = _password_from_env("DEMO_ADMIN_PASSWORD")
    trainer_password, trainer_shown = _password_from_env("DEMO_TRAINER_PASSWORD")
    with _errors_as_messages():
        result = demo_data.seed_demo(utcnow(), admin_email=admin_email,
                                     admin_password=admin_password,
                                     trainer_password=trainer_password)

    click.echo(f"Loaded demo data: {result.courses} courses, {result.venues} venues, "
               f"{result.sessions} sessions, {result.trainers} trainers, "
               f"{result.bookings} bookings ({result.seats_booked} seats).")
    if result.admin_created:
        click.echo(f"Admin login: {result.admin_email} / password: {admin_shown}")
    else:
        click.echo(f"Admin login: {result.admin_email} already existed; its password is unchanged.")
    if result.trainer_emails:
        click.echo(f"Trainer logins: {', '.join(result.trainer_emails)} / password: {trainer_shown}")


def _password_from_env(name: str) -> tuple[str, str]:
    """(password, what to print): a password from the environment is never echoed."""
    password = os.environ.get(name)
    if password:
        return password, f"(from {name})"
    password = secrets.token_urlsafe(16)
    return password, password


# -- users -----------------------------------------------------------------------
users_cli = AppGroup("users", help="Manage staff accounts (administrators and trainers).")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What the account may do.")
@click.option("--name", "full_name", default=None, help="Full name (default: from the email).")
def create_user_command(email: str, role: str, full_name: str | None) -> None:
    """Create a staff account. The password is prompted for, or read from stdin."""
    password = _read_new_password()
    with _errors_as_messages():
        user = accounts.create_staff_user(email, role, password, full_name)
    click.echo(f"Created {user.role.value} account {user.email} ({user.full_name}).")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_user_command(email: str) -> None:
    """Stop a staff account from signing in (the account is kept)."""
    with _errors_as_messages():
        user = accounts.deactivate_staff_user(email)
    click.echo(f"Deactivated {user.email}: it can no longer sign in.")


def _read_new_password() -> str:
    """Prompt twice, hidden, on a terminal; otherwise read the first line of stdin."""
    # sys.stdin rather than click.get_text_stream, which Click 8.5 deprecates.
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


# -- cleanup ---------------------------------------------------------------------
@click.command("cleanup")
@with_appcontext
def cleanup_command() -> None:
    """Mark expired seat holds as expired and forget idempotency keys older than a day.

    Expired holds already stop counting the moment they expire; this tidies
    their status. Safe to run at any time, and twice.
    """
    expired = booking.expire_holds()
    purged = idempotency.purge_expired()
    click.echo(f"cleanup: {expired} holds expired, {purged} idempotency keys purged.")
