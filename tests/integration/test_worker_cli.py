"""`flask outbox ...` and `flask jobs ...` as an operator uses them."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from app.extensions import db
from app.services.core import events
from app.models import DeliveryStatus, OutboxDelivery
from app.repositories import unit_of_work

from notify_helpers import confirmed_booking


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        result = runner.invoke(args=list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exc_info
        return result

    return invoke


def confirmation_handlers() -> int:
    """Every handler a confirmed booking's event goes to (the email, the waiting list)."""
    return len(events.registry.handlers_for(events.BOOKING_CONFIRMED))


def test_worker_once_delivers_and_outbox_status_counts(run, app):
    app.extensions["mailman"].outbox = []
    confirmed_booking(seats=1)
    handlers = confirmation_handlers()
    result = run("worker", "--once", "--no-scheduler")
    assert result.exit_code == 0 and f"{handlers} delivered" in result.output
    assert len(app.extensions["mailman"].outbox) == 1
    assert f"0 pending, {handlers} delivered, 0 dead" in run("outbox", "status").output


def test_dead_deliveries_are_listed_and_replayed(run):
    confirmed_booking(seats=1)
    with unit_of_work():
        db.session.execute(update(OutboxDelivery).values(
            status=DeliveryStatus.DEAD, attempts=8, last_error="Traceback...\nOSError: boom"))
    listed = run("outbox", "dead").output
    assert "email.booking_confirmed" in listed and "OSError: boom" in listed
    assert run("outbox", "replay").exit_code == 2  # ids or --all, please
    assert (f"Re-queued {confirmation_handlers()} dead deliveries."
            in run("outbox", "replay", "--all").output)
    assert run("outbox", "dead").output.strip() == "No dead deliveries."


def test_jobs_list_run_and_runs(run):
    listed = run("jobs", "list").output
    assert "expire-holds" in listed and "daily at 03:00 UK time" in listed
    first = run("jobs", "run", "expire-holds", "--slot", "manual-1")
    assert first.exit_code == 0 and "done" in first.output
    assert "skipped" in run("jobs", "run", "expire-holds", "--slot", "manual-1").output
    assert "manual-1" in run("jobs", "runs").output
    unknown = run("jobs", "run", "no-such-job")
    assert unknown.exit_code == 2 and "No job 'no-such-job'" in unknown.output
