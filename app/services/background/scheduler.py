"""Scheduled jobs, each run at most once per time slot across every worker.

* expire-holds, every minute: mark holds past their expiry as expired (the
  HoldExpired emails follow through the outbox).
* payments-retry, every 2 minutes: what ``flask payments retry`` does: start
  the checkouts queued while card payments were paused (the customer is
  emailed the payment link), create missing cancellation refunds and retry
  the refunds that are due.
* course-reminders, every hour: remind confirmed bookings whose course starts
  within REMINDER_DAYS_BEFORE (2) days, once per booking and start time.
* certificate-expiry-reminders, daily at 08:00 UK time: remind holders (and their
  booker) CERTIFICATE_REMINDER_DAYS ("90,30") days before their certificate expires,
  once per reminder, with the next requalification dates.
* invoice-reminders, daily at 09:00 UK time: email unpaid invoices on their due
  date and INVOICE_REMINDER_DAYS (0,7,14) days after it, on UK dates, once each.
* refresh-analytics, every 15 minutes: rebuild the analytics facts
  (app.services.analytics.refresh; CONCURRENTLY on PostgreSQL, so bookings and
  the analytics pages carry on meanwhile). The pages' "Refresh now" and
  ``flask analytics refresh`` run the same refresh on demand.
* purge-personal-data, daily at 03:00 UK time: the retention policy in
  app.services.background.retention.
* alert-rules, every minute: evaluate the alert rules of
  app.services.oversight.alert_rules (raise what holds, resolve what cleared).

A slot is the period a run stands for ("2026-11-25T09:14" for a minutely
job, "2026-11-25" for a daily one). Before running, a worker inserts the
JobRun (job, slot) row; the unique constraint lets exactly one worker win,
so two workers (or a job started twice) do the work once. A run that failed
is retried on a later tick (after RETRY_FAILED_AFTER), and one whose worker
died is taken over after STALE_AFTER. Every job is also idempotent in
itself, so even a repeated run changes nothing twice.

A daily job whose hour has passed today runs at the next tick, so a worker
that was down at 08:00 catches up when it starts.

Jobs take the application's config from whoever runs them (the worker, the
``flask jobs run`` command) and build their own settings from it; links come
from the installed app.services.core.links.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.models import JobRun, utcnow
from app.repositories import unit_of_work
from app.repositories.attendees import AttendeeRepository
from app.repositories.notifications import JobRunRepository
from app.repositories.recipients import RecipientRepository
from app.services import payments
from app.services.analytics import refresh_analytics
from app.services.background import retention
from app.services.bookings import holds as booking
from app.services.core.ukformat import london
from app.services.messaging import notifications
from app.services.oversight import alert_rules
from app.services.payments import invoices

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime, Mapping], Any]
    every_minutes: int | None = None   # interval jobs
    daily_at: time | None = None       # daily jobs, UK local time

    def slot(self, now: datetime) -> str | None:
        """The slot due at `now`, or None if a daily job's hour has not come yet today."""
        if self.every_minutes:
            minutes = (now.hour * 60 + now.minute) // self.every_minutes * self.every_minutes
            start = now.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
            return start.strftime("%Y-%m-%dT%H:%M")
        local = london(now)
        if local.time() < self.daily_at:
            return None
        return local.date().isoformat()


# -- the jobs ----------------------------------------------------------------------------
def expire_holds_job(now: datetime, config: Mapping) -> dict:
    return {"expired": booking.expire_holds(now=now)}


def payments_retry_job(now: datetime, config: Mapping) -> dict:
    """Everything that waits for the card provider, as ``flask payments retry``."""
    report = payments.run_retries(now=now)
    attempts = report.refund_attempts
    return {"payment_links_sent": report.checkouts.links_sent,
            "checkouts_still_paused": report.checkouts.still_paused,
            "queued_checkouts_closed": report.checkouts.expired,
            "cancellation_refunds_created": report.cancellation_refunds_created,
            "refunds_attempted": len(attempts),
            "refunds_succeeded": sum(1 for a in attempts if a.outcome == "succeeded")}


def course_reminders_job(now: datetime, config: Mapping) -> dict:
    """Remind every confirmed booking whose course starts in the next N days (once each)."""
    until = now + timedelta(days=config["REMINDER_DAYS_BEFORE"])
    sent = failed = 0
    for due in RecipientRepository().confirmed_bookings_starting_between(now, until):
        try:
            sent += notifications.send_course_reminder(due)
        except Exception:  # one bad address must not stop the others; retried next hour
            failed += 1
            log.exception("course reminder for %s failed", due.reference)
    return {"sent": sent, "failed": failed}


def reminder_windows(days: object, today) -> list[tuple[int, object, object]]:
    """(reminder, first day, last day) for each reminder in CERTIFICATE_REMINDER_DAYS
    ("90,30", or one number): the 90-day reminder is for certificates expiring in
    31 to 90 days, the 30-day one for those expiring in 0 to 30."""
    if isinstance(days, int):
        days = (days,)
    elif isinstance(days, str):
        days = [part for part in days.split(",") if part.strip()]
    ordered = sorted({int(d) for d in days}, reverse=True)
    return [(window, today + timedelta(days=(ordered[i + 1] + 1) if i + 1 < len(ordered) else 0),
             today + timedelta(days=window)) for i, window in enumerate(ordered)]


def certificate_expiry_reminders_job(now: datetime, config: Mapping) -> dict:
    today = london(now).date()
    sent = failed = 0
    for window, first, last in reminder_windows(config["CERTIFICATE_REMINDER_DAYS"], today):
        for attendee in AttendeeRepository().certificates_expiring_between(first, last):
            try:
                sent += notifications.send_certificate_expiry_reminder(attendee, window, now=now)
            except Exception:  # retried at tomorrow's run
                failed += 1
                log.exception("certificate expiry reminder for %s failed",
                              attendee.certificate_number)
    return {"sent": sent, "failed": failed}


def invoice_reminders_job(now: datetime, config: Mapping) -> dict:
    """Chase unpaid invoices on their due date and INVOICE_REMINDER_DAYS after it (UK
    dates), once each."""
    sent = failed = 0
    for invoice, days_after_due in invoices.reminders_due(
            settings=invoices.InvoiceSettings.from_config(config), now=now):
        try:
            sent += notifications.send_invoice_reminder(invoice, days_after_due)
        except Exception:  # one bad address must not stop the others; retried next run
            failed += 1
            log.exception("reminder for invoice %s failed", invoice.number)
    return {"sent": sent, "failed": failed}


def refresh_analytics_job(now: datetime, config: Mapping) -> dict:
    """Bring the analytics facts up to date; the fact counts are the run's result."""
    return refresh_analytics(concurrently=True).as_dict()


def purge_personal_data_job(now: datetime, config: Mapping) -> dict:
    return retention.purge_personal_data(now=now, policy=retention.RetentionPolicy.from_config(
        config)).as_dict()


JOBS: tuple[Job, ...] = (
    Job("expire-holds", expire_holds_job, every_minutes=1),
    Job("payments-retry", payments_retry_job, every_minutes=2),
    Job("course-reminders", course_reminders_job, every_minutes=60),
    Job("certificate-expiry-reminders", certificate_expiry_reminders_job, daily_at=time(8, 0)),
    Job("invoice-reminders", invoice_reminders_job, daily_at=time(9, 0)),
    Job("refresh-analytics", refresh_analytics_job, every_minutes=15),
    Job("purge-personal-data", purge_personal_data_job, daily_at=time(3, 0)),
    Job("alert-rules", alert_rules.alert_rules_job, every_minutes=1),
)


def get_job(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)


# -- running them ------------------------------------------------------------------------
@dataclass(frozen=True)
class JobOutcome:
    job: str
    slot: str
    status: str  # "done", "failed" or "skipped" (another worker has or had this slot)
    result: Any = None


def _claim(job: Job, slot: str, now: datetime) -> bool:
    """Take the (job, slot) run: insert it, or take over a failed or abandoned one."""
    repo = JobRunRepository()
    with unit_of_work() as session:
        if repo.get_run(job.name, slot) is None:
            try:
                with session.begin_nested():
                    repo.add(JobRun(job=job.name, slot=slot, status="running", started_at=now))
                return True
            except IntegrityError:  # another worker inserted it first
                pass
        return repo.retake(job.name, slot, now=now, failed_before=now - RETRY_FAILED_AFTER,
                           stale_before=now - STALE_AFTER)


def _finish(job: Job, slot: str, status: str, result: Any) -> None:
    repo = JobRunRepository()
    with unit_of_work():
        run = repo.get_run(job.name, slot)
        run.status, run.finished_at = status, utcnow()
        run.result = json.dumps(result, default=str)[:10000]


def run_job(job: Job, config: Mapping, *, now: datetime | None = None,
            slot: str | None = None) -> JobOutcome:
    """Run one job for its slot unless some worker has (or is running) it; `config`
    is the application's (the job reads its settings there)."""
    now = now or utcnow()
    slot = slot or job.slot(now)
    if slot is None:
        return JobOutcome(job.name, "", "skipped")
    if not _claim(job, slot, now):
        return JobOutcome(job.name, slot, "skipped")
    try:
        result = job.run(now, config)
    except Exception as exc:  # recorded on the run and retried on a later tick
        JobRunRepository().end_read()
        log.exception("scheduled job %s (%s) failed", job.name, slot)
        _finish(job, slot, "failed", {"error": f"{type(exc).__name__}: {exc}"})
        return JobOutcome(job.name, slot, "failed", str(exc))
    _finish(job, slot, "done", result)
    return JobOutcome(job.name, slot, "done", result)


def run_due_jobs(config: Mapping, *, now: datetime | None = None,
                 jobs: tuple[Job, ...] = JOBS) -> list[JobOutcome]:
    """One scheduler tick: run every job whose current slot has not run yet."""
    now = now or utcnow()
    return [run_job(job, config, now=now) for job in jobs]


def recent_runs(limit: int = 50) -> list[JobRun]:
    return JobRunRepository().recent(limit)
