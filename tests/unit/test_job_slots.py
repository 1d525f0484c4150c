"""Which slot a scheduled job is due for: minutes, hours, and UK-local daily times."""
from datetime import datetime, time, timezone

from app.services.background.scheduler import JOBS, Job


def job(**kwargs) -> Job:
    return Job("probe", lambda now, config: None, **kwargs)


def test_interval_jobs_have_one_slot_per_interval():
    at = datetime(2026, 11, 25, 9, 14, 59, tzinfo=timezone.utc)
    assert job(every_minutes=1).slot(at) == "2026-11-25T09:14"
    assert job(every_minutes=60).slot(at) == "2026-11-25T09:00"
    assert job(every_minutes=15).slot(at) == "2026-11-25T09:00"


def test_daily_jobs_are_due_from_their_uk_hour_in_winter_and_summer():
    daily = job(daily_at=time(8, 0))
    # Winter: 08:00 UK is 08:00 UTC.
    assert daily.slot(datetime(2026, 12, 1, 7, 59, tzinfo=timezone.utc)) is None
    assert daily.slot(datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)) == "2026-12-01"
    # Summer: 08:00 UK is 07:00 UTC.
    assert daily.slot(datetime(2026, 7, 1, 6, 59, tzinfo=timezone.utc)) is None
    assert daily.slot(datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)) == "2026-07-01"
    # Just after midnight UTC in summer is already the next UK day.
    assert job(daily_at=time(0, 30)).slot(datetime(2026, 7, 1, 23, 45, tzinfo=timezone.utc)) \
        == "2026-07-02"


def test_the_schedule_has_every_job_the_issue_asks_for():
    assert [j.name for j in JOBS] == ["expire-holds", "payments-retry", "course-reminders",
                                      "certificate-expiry-reminders", "invoice-reminders",
                                      "refresh-analytics", "purge-personal-data", "alert-rules"]
