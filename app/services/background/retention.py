"""Removing personal data we no longer need (the purge-personal-data job).

What is kept, and for how long
------------------------------
* **Paid bookings** keep their contact details (name, email, phone, postcode,
  company) and attendee names for ``PERSONAL_DATA_RETENTION_YEARS`` (default
  7) after the course: receipts, VAT and refund queries and HMRC's six years
  from the end of the financial year need them, and employers verify
  certificates (valid for 3 years) against the holder's name.
  After that the contact details and attendee names and emails become
  ``[removed]``. The booking's reference, dates, seats and amounts stay (an
  anonymous financial record), and so does each certificate's number, course
  and dates: /verify still says the certificate was genuine and when it
  expired, without naming anyone.
* **Unpaid bookings** (expired holds, holds abandoned or cancelled before
  payment) hold no financial record: their contact details and attendee
  names go ``UNPAID_BOOKING_RETENTION_DAYS`` (default 90) after they ended.
* **Access needs** the customer chose to share go
  ``ACCESS_NEEDS_RETENTION_DAYS`` (default 30) after the course.
* **Email log**: addresses on sent-email rows go with their booking's
  details; rows without a booking (admin alerts, waiting-list offers) lose
  the address after the unpaid-booking period. The rows themselves stay:
  they are what stops an email from being sent twice.
* **Outbox events** whose deliveries all succeeded are deleted after the
  unpaid-booking period (dead ones stay until replayed); some payloads
  (waiting-list offers) carry an email address.
* **Traffic figures** (requests per minute and route; no personal data) are
  deleted ``TRAFFIC_RETENTION_DAYS`` (default 7) after their minute.

Every step is an UPDATE/DELETE whose WHERE excludes rows already done, so
the job is safe to run twice.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from app.models import utcnow
from app.repositories import unit_of_work
from app.repositories.retention import RetentionRepository
from app.repositories.traffic import TrafficRepository
from app.services.staff.certificates import REMOVED_NAME

REMOVED_EMAIL = "removed@removed.invalid"


@dataclass(frozen=True)
class RetentionPolicy:
    personal_data_years: int = 7
    unpaid_booking_days: int = 90
    access_needs_days: int = 30
    traffic_days: int = 7

    @classmethod
    def from_config(cls, config: Mapping) -> "RetentionPolicy":
        return cls(personal_data_years=config["PERSONAL_DATA_RETENTION_YEARS"],
                   unpaid_booking_days=config["UNPAID_BOOKING_RETENTION_DAYS"],
                   access_needs_days=config["ACCESS_NEEDS_RETENTION_DAYS"],
                   traffic_days=config.get("TRAFFIC_RETENTION_DAYS", cls.traffic_days))


@dataclass(frozen=True)
class PurgeResult:
    paid_bookings_anonymised: int
    unpaid_bookings_anonymised: int
    access_needs_cleared: int
    email_addresses_removed: int
    outbox_events_deleted: int
    traffic_minutes_deleted: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def purge_personal_data(*, now: datetime | None = None,
                        policy: RetentionPolicy = RetentionPolicy()) -> PurgeResult:
    now = now or utcnow()
    repo = RetentionRepository()
    paid_cutoff = _years_before(now, policy.personal_data_years)
    unpaid_cutoff = now - timedelta(days=policy.unpaid_booking_days)
    with unit_of_work():
        paid = repo.anonymise_bookings(
            repo.paid_bookings_of_sessions_ended_before(paid_cutoff, REMOVED_EMAIL),
            removed_name=REMOVED_NAME, removed_email=REMOVED_EMAIL, now=now)
        unpaid = repo.anonymise_bookings(
            repo.unpaid_bookings_ended_before(unpaid_cutoff, REMOVED_EMAIL),
            removed_name=REMOVED_NAME, removed_email=REMOVED_EMAIL, now=now)
        access = repo.clear_access_needs_of_sessions_ended_before(
            now - timedelta(days=policy.access_needs_days), now)
        emails = repo.anonymise_unlinked_emails_before(unpaid_cutoff, REMOVED_NAME)
        events_deleted = repo.delete_delivered_events_before(unpaid_cutoff)
        traffic_deleted = TrafficRepository().delete_before(
            now - timedelta(days=policy.traffic_days))
    return PurgeResult(paid, unpaid, access, emails, events_deleted, traffic_deleted)
