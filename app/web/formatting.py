"""Jinja filters: UK dates and times (Europe/London) and money in pounds."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

LONDON = ZoneInfo("Europe/London")


def to_london(value: datetime) -> datetime:
    return value.astimezone(LONDON)


def uk_date(value: datetime) -> str:
    """'Tue 3 March 2026' in London time."""
    local = to_london(value)
    return f"{local:%a} {local.day} {local:%B %Y}"


def uk_time(value: datetime) -> str:
    """'9:30am' in London time."""
    local = to_london(value)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def pounds(pence: int) -> str:
    """'£100' for whole pounds, '£99.50' otherwise."""
    pounds_, rest = divmod(int(pence), 100)
    return f"£{pounds_:,}" if rest == 0 else f"£{pounds_:,}.{rest:02d}"


def register(app: Flask) -> None:
    app.add_template_filter(uk_date)
    app.add_template_filter(uk_time)
    app.add_template_filter(pounds)
    app.add_template_filter(to_london)
