"""`flask seed-demo`, `flask users ...` and `flask payments ...` as an operator uses them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Booking, BookingStatus, Course, Refund, Role, User
from app.services.staff import passwords

from admin_helpers import held_booking, paid_booking
from factories import SessionFactory


@pytest.fixture
def app_config() -> dict:
    return {"SEED_DEMO": True}


@pytest.fixture(autouse=True)
def no_demo_credentials_in_env(monkeypatch):
    for name in ("DEMO_ADMIN_EMAIL", "DEMO_ADMIN_PASSWORD", "DEMO_TRAINER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None):
        result = runner.invoke(args=list(args), input=input)
        # Failures are a message and an exit code, never a traceback.
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exc_info
        return result

    return invoke


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# -- seed-demo -----------------------------------------------------------------------
def test_seed_demo_if_empty_twice_seeds_once(run):
    first = run("seed-demo", "--if-empty")
    second = run("seed-demo", "--if-empty")

    assert first.exit_code == 0, first.output
    assert re.search(r"8 courses, 8 venues, \d+ sessions, 4 trainers", first.output)
    assert second.exit_code == 0
    assert "already has courses" in second.output
    assert "Admin login" not in second.output
    assert count(Course) == 8


def test_seed_demo_if_empty_does_nothing_when_seed_demo_is_off(app, run):
    app.config["SEED_DEMO"] = False
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 0
    assert "SEED_DEMO is off" in result.output
    assert count(Course) == 0


def test_seed_demo_without_if_empty_refuses_a_database_with_courses(run):
    run("seed-demo")
    result = run("seed-demo")
    assert result.exit_code == 1
    assert "already has courses" in result.output
    assert count(Course) == 8


def test_generated_admin_password_is_printed_once_and_signs_in(run):
    result = run("seed-demo", "--if-empty")
    match = re.search(r"Admin login: (\S+) / password: (\S+)", result.output)
    assert match, result.output
    email, password = match.groups()
    assert email == "admin@reactfasttraining.co.uk"
    assert len(password) >= 12
    assert result.output.count(password) == 1
    assert passwords.verify_password(user(email).password_hash, password)
    trainer_password = re.search(r"Trainer logins: .* / password: (\S+)", result.output).group(1)
    trainer = user("rachel.hirst@reactfasttraining.co.uk")
    assert passwords.verify_password(trainer.password_hash, trainer_password)


def test_credentials_from_the_environment_are_used_and_never_echoed(run, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_EMAIL", "boss@reactfasttraining.co.uk")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "from-the-environment-1")
    monkeypatch.setenv("DEMO_TRAINER_PASSWORD", "trainers-from-the-env")
    result = run("seed-demo", "--if-empty")

    assert "Admin login: boss@reactfasttraining.co.uk / password: (from DEMO_ADMIN_PASSWORD)" \
        in result.output
    assert "from-the-environment-1" not in result.output
    assert "trainers-from-the-env" not in result.output
    assert passwords.verify_password(user("boss@reactfasttraining.co.uk").password_hash,
                                     "from-the-environment-1")


def test_a_too_short_demo_password_from_the_environment_is_refused(run, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "short")
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert count(Course) == 0  # one transaction: nothing half-loaded


# -- users ---------------------------------------------------------------------------
def test_users_create_reads_the_password_from_stdin(run):
    result = run("users", "create", "Jo.Bloggs@ReactFastTraining.co.uk", "--role", "trainer",
                 input="a-long-enough-password\n")

    assert result.exit_code == 0, result.output
    created = user("jo.bloggs@reactfasttraining.co.uk")
    assert (created.role, created.full_name, created.is_active) == (Role.TRAINER, "Jo Bloggs", True)
    assert passwords.verify_password(created.password_hash, "a-long-enough-password")
    assert "a-long-enough-password" not in result.output


def test_users_create_takes_a_full_name(run):
    result = run("users", "create", "ops@reactfasttraining.co.uk", "--role", "admin",
                 "--name", "Sam Ackroyd", input="a-long-enough-password\n")
    assert result.exit_code == 0, result.output
    assert user("ops@reactfasttraining.co.uk").full_name == "Sam Ackroyd"
    assert user("ops@reactfasttraining.co.uk").is_admin


def test_users_create_refuses_a_password_shorter_than_twelve_characters(run):
    result = run("users", "create", "jo@reactfasttraining.co.uk", "--role", "trainer",
                 input="elevenchars\n")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert count(User) == 0


def test_users_create_refuses_an_email_that_already_has_an_account(run):
    run("users", "create", "jo@reactfasttraining.co.uk", "--role", "trainer",
        input="a-long-enough-password\n")
    result = run("users", "create", "JO@reactfasttraining.co.uk", "--role", "admin",
                 input="another-long-password\n")
    assert result.exit_code == 1
    assert "already an account for jo@reactfasttraining.co.uk" in result.output
    assert count(User) == 1
    assert user("jo@reactfasttraining.co.uk").role == Role.TRAINER


def test_users_create_refuses_an_unknown_role(run):
    result = run("users", "create", "jo@reactfasttraining.co.uk", "--role", "customer",
                 input="a-long-enough-password\n")
    assert result.exit_code == 2
    assert "'customer' is not one of 'admin', 'trainer'" in result.output
    assert count(User) == 0


def test_users_create_refuses_an_invalid_email(run):
    result = run("users", "create", "not-an-email", "--role", "trainer",
                 input="a-long-enough-password\n")
    assert result.exit_code == 1
    assert "Enter an email address in the correct format" in result.output
    assert count(User) == 0


def test_users_create_refuses_a_name_that_could_not_go_on_a_certificate(run):
    result = run("users", "create", "jo@reactfasttraining.co.uk", "--role", "trainer",
                 "--name", "<script>", input="a-long-enough-password\n")
    assert result.exit_code == 1
    assert "letters, spaces, hyphens" in result.output
    assert count(User) == 0


def test_users_deactivate_stops_an_account_signing_in(run):
    run("users", "create", "jo@reactfasttraining.co.uk", "--role", "trainer",
        input="a-long-enough-password\n")
    result = run("users", "deactivate", "Jo@ReactFastTraining.co.uk")
    assert result.exit_code == 0, result.output
    assert user("jo@reactfasttraining.co.uk").is_active is False


def test_users_deactivate_reports_an_unknown_email(run):
    result = run("users", "deactivate", "nobody@reactfasttraining.co.uk")
    assert result.exit_code == 1
    assert "no account for nobody@reactfasttraining.co.uk" in result.output


def test_cleanup_expires_stale_holds_and_purges_old_keys(app):
    from datetime import timedelta

    from app.extensions import db
    from app.models import Booking, BookingStatus, IdempotencyRecord, utcnow
    from app.services.bookings import holds as booking_service

    from factories import SessionFactory, booking_request

    session = SessionFactory(capacity=3)
    stale = booking_service.hold_seats(booking_request(session.id), policy=booking_service.BookingPolicy(),
                                       now=utcnow() - timedelta(hours=2))
    db.session.add(IdempotencyRecord(key="old", request_hash="x", response_status=201,
                                     response_body="{}", created_at=utcnow() - timedelta(days=2)))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert "1 holds expired, 1 idempotency keys purged" in result.output
    assert db.session.get(Booking, stale.id).status == BookingStatus.EXPIRED
    again = app.test_cli_runner().invoke(args=["cleanup"])
    assert "0 holds expired, 0 idempotency keys purged" in again.output


# -- payments --------------------------------------------------------------------------
def test_payments_mark_paid_confirms_a_held_booking_without_a_staff_audit_entry(run):
    booking = held_booking(SessionFactory().id)
    result = run("payments", "mark-paid", booking.reference, "--method", "invoice",
                 "--note", "PO 4471")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert (f"{booking.reference} confirmed: Invoice {booking.invoice.number}: payment due; "
            "PO 4471.") in result.output
    assert booking.status == BookingStatus.CONFIRMED and booking.awaits_payment
    assert count(AuditLog) == 0  # the command acts as the system, not as a member of staff
    again = run("payments", "mark-paid", booking.reference, "--method", "invoice")
    assert again.exit_code == 1 and "already confirmed" in again.output


def test_payments_refund_refunds_part_and_refuses_more_than_is_left(run):
    booking = paid_booking(SessionFactory(course__price_pence=10000).id)
    part = run("payments", "refund", booking.reference, "--amount-pence", "2500")
    assert part.exit_code == 0, part.output
    assert f"of 2500 pence for {booking.reference}: succeeded." in part.output
    too_much = run("payments", "refund", booking.reference, "--amount-pence", "9000")
    assert too_much.exit_code == 1 and "between £0.01 and £75.00" in too_much.output
    db.session.expire_all()
    [refund] = db.session.scalars(select(Refund)).all()
    assert (refund.amount_pence, refund.requested_by_id) == (2500, None)
    assert count(AuditLog) == 0
