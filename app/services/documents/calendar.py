"""Calendar files (.ics) for a booked session, in Europe/London time.

The VTIMEZONE is written out as the UK rule (BST from 01:00 UTC on the last
Sunday of March to 01:00 UTC on the last Sunday of October) rather than as
icalendar's generated list of dates, which stops in 2038 and is long.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar

from app.models import Booking, utcnow
from app.services.core import brand
from app.services.core.ukformat import LONDON, london

PRODID = "-//React Fast Training//Course bookings//EN"
UID_DOMAIN = "reactfasttraining.co.uk"
SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


def london_vtimezone() -> icalendar.Timezone:
    tz = icalendar.Timezone()
    tz.add("tzid", "Europe/London")
    tz.add("x-lic-location", "Europe/London")
    summer = icalendar.TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("tzoffsetfrom", timedelta(hours=0))
    summer.add("tzoffsetto", timedelta(hours=1))
    summer.add("dtstart", datetime(1970, 3, 29, 1, 0, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = icalendar.TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("tzoffsetfrom", timedelta(hours=1))
    winter.add("tzoffsetto", timedelta(hours=0))
    winter.add("dtstart", datetime(1970, 10, 25, 2, 0, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def event_uid(booking: Booking) -> str:
    """One calendar event per booking, whatever session it is on, so that the file
    sent after a transfer (or a moved session) updates the customer's event
    instead of adding a second one."""
    return f"booking-{booking.reference}@{UID_DOMAIN}"


def event_sequence(booking: Booking) -> int:
    """Each later version of the event must carry a higher SEQUENCE, or calendar
    clients keep the old one. A change to the booking (a transfer, a cancellation)
    or to its session (a new time or venue) moves its row's updated_at forward,
    and a transfer's booking row is written after every earlier version's rows;
    so the later of the two, in seconds, only grows. Counted from SEQUENCE_EPOCH,
    not 1970, to stay a 32-bit integer (as RFC 5545 defines it) past 2038."""
    latest = max(booking.updated_at, booking.session.updated_at)
    return max(0, int((latest - SEQUENCE_EPOCH).total_seconds()))


def booking_ics(booking: Booking, *, manage_url: str, provider_name: str,
                provider_email: str, arrive_minutes_before: int = 15, cancelled: bool = False,
                now: datetime | None = None) -> bytes:
    """One VEVENT for the booked session; `cancelled` makes it a cancellation
    that removes the event from the customer's calendar."""
    course_session = booking.session
    course, venue = course_session.course, course_session.venue
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    cal.add_component(london_vtimezone())

    event = icalendar.Event()
    event.add("uid", event_uid(booking))
    event.add("sequence", event_sequence(booking))
    event.add("dtstamp", (now or utcnow()).astimezone(timezone.utc))
    event.add("dtstart", london(course_session.starts_at))
    event.add("dtend", london(course_session.ends_at))
    event.add("summary", f"{course.title} ({provider_name})")
    event.add("location", f"{venue.name}, {venue.one_line_address}")
    event.add("description", "\n".join([
        f"Booking reference: {booking.reference}",
        f"Attendees: {', '.join(a.full_name for a in booking.attendees)}",
        f"Venue: {venue.name}, {venue.one_line_address}",
        f"{brand.arrival_advice(arrive_minutes_before)} and bring photo ID.",
        f"Manage your booking: {manage_url}",
    ]))
    event.add("url", manage_url)
    event.add("organizer", f"mailto:{provider_email}", parameters={"cn": provider_name})
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if not cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{course.title} tomorrow")
        alarm.add("trigger", timedelta(days=-1))
        event.add_component(alarm)
    cal.add_component(event)
    return cal.to_ical()


__all__ = ["LONDON", "booking_ics", "event_sequence", "event_uid", "london_vtimezone"]
