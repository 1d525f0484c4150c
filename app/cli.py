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

from app import demo_data
from app.models import Role, utcnow
from app.services.bookings import holds as booking
from app.services.analytics import refresh_analytics
from app.services.bookings import idempotency
from app.services.bookings.holds import BookingPolicy
from app.services.core.errors import DomainError, InvalidInput
from app.services.payments.invoices import InvoiceSettings
from app.services.pricing import discounts as discount_codes
from app.services.staff import accounts

DEFAULT_DEMO_ADMIN_EMAIL = "admin@reactfasttraining.co.uk"


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(cleanup_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(analytics_cli)
    app.cli.add_command(discounts_cli)
    register_payment_commands(app)


@contextmanager
def _errors_as_messages() -> Iterator[None]:
    """A domain error ends the command with its message and exit code 1, no traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


# -- discounts -------------------------------------------------------------------
discounts_cli = AppGroup("discounts", help="Discount codes customers type when booking.")

_OPTION_NAMES = {"percent": "--percent", "amount_pence": "--amount-pence", "courses": "--course",
                 "max_uses": "--max-uses", "max_uses_per_email": "--per-email",
                 "valid_from": "--valid-from", "valid_until": "--valid-until", "code": "CODE"}


@discounts_cli.command("create")
@click.argument("code")
@click.option("--percent", type=int, default=None, help="Percentage off (1 to 100).")
@click.option("--amount-pence", type=int, default=None,
              help="A fixed amount off the whole booking, in pence.")
@click.option("--course", "courses", multiple=True,
              help="A course slug the code is for (repeat for more; none: every course).")
@click.option("--max-uses", type=int, default=None, help="Uses in total (default: no limit).")
@click.option("--per-email", "max_uses_per_email", type=int, default=None,
              help="Uses per email address (default: no limit).")
@click.option("--valid-from", default=None, help="First day it works (YYYY-MM-DD, UK).")
@click.option("--valid-until", default=None, help="Last day it works (YYYY-MM-DD, UK).")
def create_discount_command(code: str, **options) -> None:
    """Create a discount code: give exactly one of --percent and --amount-pence."""
    try:
        created = discount_codes.create_code(None, {"code": code, **options})
    except InvalidInput as exc:
        problems = "; ".join(f"{_OPTION_NAMES.get(name, name)}: {message}"
                             for name, message in exc.fields.items())
        raise click.ClickException(problems or exc.message) from None
    scope = ", ".join(c.slug for c in created.courses) or "every course"
    click.echo(f"Created discount code {created.code}: {created.describe}, for {scope}.")


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
        result = demo_data.seed_demo(
            utcnow(), admin_email=admin_email, admin_password=admin_password,
            trainer_password=trainer_password,
            reminder_days_before=current_app.config["REMINDER_DAYS_BEFORE"],
            certificate_reminder_days=current_app.config["CERTIFICATE_REMINDER_DAYS"],
            policy=BookingPolicy.from_config(current_app.config),
            invoice_settings=InvoiceSettings.from_config(current_app.config))
    refresh_analytics(concurrently=False)

    click.echo(f"Loaded demo data: {result.courses} courses, {result.venues} venues, "
               f"{result.sessions} sessions, {result.trainers} trainers, "
               f"{result.bookings} bookings ({result.seats_booked} seats).")
    click.echo(f"History: {result.past_sessions} past sessions, {result.certificates} "
               f"certificates; today: {result.sessions_today} sessions with a register to "
               f"take; upcoming: {result.upcoming_sessions} sessions. No emails were sent "
               "for the history.")
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


# -- worker, outbox and jobs (issue 6) ---------------------------------------------------
@click.command("worker")
@click.option("--once", is_flag=True, help="Do one pass (deliveries and due jobs), then exit.")
@click.option("--no-scheduler", is_flag=True, help="Only deliver outbox events; run no jobs.")
@with_appcontext
def worker_command(once: bool, no_scheduler: bool) -> None:
    """Deliver outbox events and run scheduled jobs until SIGTERM.

    Run as many as you like: no event is delivered twice and no job slot runs twice.
    """
    from app.worker import Worker, run_until_terminated

    app = current_app._get_current_object()
    if once:
        result = Worker(app, run_scheduler=not no_scheduler).run_once()
        click.echo(f"worker: {result.delivered} delivered, {result.retried} to retry, "
                   f"{result.dead} dead.")
        return
    run_until_terminated(app, run_scheduler=not no_scheduler)


outbox_cli = AppGroup("outbox", help="Outbox deliveries: counts, dead letters, replay.")


@outbox_cli.command("status")
def outbox_status_command() -> None:
    """How many deliveries are pending, delivered and dead."""
    from app.services.background import dispatcher

    counts = dispatcher.delivery_counts()
    click.echo(", ".join(f"{n} {status}" for status, n in counts.items()))


@outbox_cli.command("dead")
@click.option("--limit", default=50, show_default=True)
def outbox_dead_command(limit: int) -> None:
    """List dead-lettered deliveries, newest first."""
    from app.services.background import dispatcher

    dead = dispatcher.dead_letters(limit)
    if not dead:
        click.echo("No dead deliveries.")
    for delivery in dead:
        last_line = (delivery.last_error or "").strip().splitlines()[-1:] or [""]
        click.echo(f"{delivery.id}\t{delivery.handler}\t{delivery.event.event_type} "
                   f"{delivery.event.aggregate_id}\t{delivery.attempts} attempts\t{last_line[0]}")


@outbox_cli.command("replay")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead delivery.")
def outbox_replay_command(delivery_ids: tuple[int, ...], replay_all: bool) -> None:
    """Queue dead deliveries again (by id, or --all) with fresh attempts."""
    from app.services.background import dispatcher

    if not delivery_ids and not replay_all:
        raise click.UsageError("Give delivery ids or --all.")
    count = dispatcher.replay_dead(None if replay_all else list(delivery_ids))
    click.echo(f"Re-queued {count} dead deliveries.")


jobs_cli = AppGroup("jobs", help="Scheduled jobs: list, recent runs, run one now.")


@jobs_cli.command("list")
def jobs_list_command() -> None:
    """The job schedule."""
    from app.services.background import scheduler

    for job in scheduler.JOBS:
        when = (f"every {job.every_minutes} min" if job.every_minutes
                else f"daily at {job.daily_at:%H:%M} UK time")
        click.echo(f"{job.name:30} {when}")


@jobs_cli.command("runs")
@click.option("--limit", default=20, show_default=True)
def jobs_runs_command(limit: int) -> None:
    """Recent runs with their results."""
    from app.services.background import scheduler

    for run in scheduler.recent_runs(limit):
        click.echo(f"{run.started_at:%Y-%m-%d %H:%M}Z  {run.job:30} {run.slot:17} "
                   f"{run.status:8} {run.result or ''}")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--slot", default=None, help="Run for this slot (default: the current one). "
                                           "A slot that already ran is skipped.")
def jobs_run_command(name: str, slot: str | None) -> None:
    """Run one job now (for its current slot, unless --slot)."""
    from app.services.background import scheduler

    try:
        job = scheduler.get_job(name)
    except KeyError:
        raise click.UsageError(f"No job {name!r}; see `flask jobs list`.") from None
    outcome = scheduler.run_job(job, current_app.config, slot=slot or job.slot(utcnow())
                                or utcnow().strftime("%Y-%m-%dT%H:%M"))
    click.echo(f"{outcome.job} ({outcome.slot}): {outcome.status} {outcome.result or ''}")
    if outcome.status == "failed":
        raise SystemExit(1)


# -- analytics ---------------------------------------------------------------------
analytics_cli = AppGroup("analytics", help="Analytics figures: refresh the stored facts.")


@analytics_cli.command("refresh")
@click.option("--blocking", is_flag=True,
              help="PostgreSQL: a plain REFRESH (quicker, but the analytics pages wait "
                   "until it ends). Default: CONCURRENTLY.")
def analytics_refresh_command(blocking: bool) -> None:
    """Rebuild the analytics facts now (the scheduler does it every 15 minutes)."""
    from app.services.analytics import refresh_analytics

    result = refresh_analytics(concurrently=not blocking)
    how = "concurrently" if result.concurrently else "in one transaction"
    click.echo(f"Analytics refreshed {how} at {result.refreshed_at:%Y-%m-%d %H:%M:%S}Z: "
               + ", ".join(f"{n} {name.removeprefix('analytics_').replace('_', ' ')}"
                           for name, n in result.rows.items()))


# -- payments ----------------------------------------------------------------------
payments_cli = AppGroup("payments", help="Card payments: retries, breakers, refunds, invoices.")


def register_payment_commands(app: Flask) -> None:
    app.cli.add_command(payments_cli)


@payments_cli.command("retry")
def payments_retry_command() -> None:
    """Retry what waits for the card provider: payment links for checkouts that
    could not start, missing cancellation refunds and due refund attempts.
    Safe to run often and from several processes; the scheduler's payments-retry
    job does the same every 2 minutes."""
    from app.services import payments

    report = payments.run_retries()
    click.echo(f"payments retry: {report.summary()}.")


@payments_cli.command("breakers")
def payments_breakers_command() -> None:
    """Show the state of the payments, refunds and webhooks circuit breakers."""
    from app.services import payments

    for name, state in payments.breaker_states().items():
        click.echo(f"{name}: {state}")


@payments_cli.command("mark-paid")
@click.argument("reference")
@click.option("--method", required=True, type=click.Choice(["invoice", "bank_transfer"]))
@click.option("--note", default=None, help="e.g. the purchase order or transfer reference.")
def payments_mark_paid_command(reference: str, method: str, note: str | None) -> None:
    """Confirm a held booking paid by bank transfer, or invoiced (payment due)."""
    from app.services import payments
    from app.services.bookings.manage import Actor

    with _errors_as_messages():
        booking_ = payments.mark_paid_offline(reference, method, note, actor=Actor.system())
    click.echo(f"{booking_.reference} confirmed: {booking_.payment_note}.")


@payments_cli.command("refund")
@click.argument("reference")
@click.option("--amount-pence", type=int, default=None, help="Part of it (default: all that is left).")
def payments_refund_command(reference: str, amount_pence: int | None) -> None:
    """Refund a booking's card payment, in full or in part."""
    from app.services import payments
    from app.services.bookings.manage import Actor

    with _errors_as_messages():
        refund = payments.refund_booking(reference, amount_pence, actor=Actor.system())
    click.echo(f"refund {refund.id} of {refund.amount_pence} pence for {reference}: "
               f"{refund.status.value}.")

