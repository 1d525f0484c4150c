"""UK formats for emails and documents: Europe/London times, pounds, long dates.

(The Jinja filters in app.web.formatting do the same for pages; services may
not import from the web layer, so emails and PDFs use these.)
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london(value: datetime) -> datetime:
    return value.astimezone(LONDON)


def uk_date(value: datetime | date) -> str:
    """'Tuesday 3 March 2026' (London date for a datetime)."""
    if isinstance(value, datetime):
        value = london(value)
    return f"{value:%A} {value.day} {value:%B %Y}"


def uk_short_date(value: datetime | date) -> str:
    """'3 March 2026'."""
    if isinstance(value, datetime):
        value = london(value)
    return f"{value.day} {value:%B %Y}"


def uk_time(value: datetime) -> str:
    """'9:30am' in London time."""
    local = london(value)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def pounds(pence: int) -> str:
    """'£100.00' (documents and emails always show pence)."""
    whole, rest = divmod(int(pence), 100)
    return f"£{whole:,}.{rest:02d}"


def uk_day(value: datetime | date) -> str:
    """'Tue 8 Dec 2026' (London date for a datetime): short, for alerts and lists."""
    if isinstance(value, datetime):
        value = london(value)
    return f"{value:%a} {value.day} {value:%b %Y}"


def uk_moment(value: datetime) -> str:
    """'Tue 8 Dec 2026, 9:30am' in London time, to the minute."""
    return f"{uk_day(value)}, {uk_time(value)}"


def session_label(course_title: str, starts_at: datetime, town: str | None = None) -> str:
    """'Emergency First Aid at Work, Tue 8 Dec 2026, Bradford': a course session as
    an office names it."""
    parts = [course_title, uk_day(starts_at)]
    if town:
        parts.append(town)
    return ", ".join(parts)
