"""Audit entries as an office reads them: "Cancelled a booking", "Booking TX4A
(Jane Smith)", "Refund due: £60.00", "Starts: Tue 8 Dec 2026, 9:30am",
"Trainer: Sam Jones", instead of action codes, pence, raw ids and ISO timestamps.

The audit log keeps the exact values (that is its job); this module only words
them. Records are looked up once per page (a memo per call), including
soft-deleted courses and venues, so old entries still name what they were about.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from app.models import Attendee, AuditLog
from app.repositories import (
    BookingRepository, CourseRepository, SessionRepository, UserRepository, VenueRepository,
)
from app.repositories.alerts import AlertRepository
from app.repositories.attendees import AttendeeRepository
from app.repositories.base import Repository
from app.services.core.ukformat import pounds, session_label, uk_day, uk_moment

ACTIONS = {
    "alert.acknowledge": "Acknowledged an alert",
    "alert.resolve": "Resolved an alert",
    "attendance.mark": "Marked attendance",
    "booking.cancel": "Cancelled a booking",
    "booking.create_manual": "Took a booking by phone or email",
    "booking.mark_paid": "Recorded a payment for a booking",
    "booking.refund": "Refunded a booking",
    "booking.reissue_link": "Sent a new manage link (the old one no longer works)",
    "booking.rename_attendees": "Changed attendee names",
    "booking.resend_confirmation": "Sent a booking confirmation again",
    "booking.transfer": "Moved a booking to another session",
    "outbox.replay": "Retried failed emails and tasks",
    "session.assign_trainer": "Assigned a trainer to a session",
    "session.cancel": "Cancelled a session",
    "session.capacity": "Changed the number of seats on a session",
    "session.complete": "Marked a session as completed",
    "session.create": "Added a session",
    "session.message": "Emailed everyone booked on a session",
    "session.move": "Moved a session",
    "user.password_reset": "Reset a password",
    "waitlist.add": "Added someone to a waiting list",
    "waitlist.offer": "Offered seats to someone on a waiting list",
    "waitlist.remove": "Took someone off a waiting list",
    "enquiry.answer": "Answered an on-site training enquiry",
    "enquiry.close": "Closed an on-site training enquiry",
    "enquiry.private_session": "Arranged a private session for an enquiry",
}
_VERBS = {"create": "Added", "update": "Changed", "delete": "Deleted", "restore": "Restored",
          "activate": "Reactivated", "deactivate": "Deactivated"}
_NOUNS = {"course": "a course", "venue": "a venue", "trainer": "a trainer account",
          "user": "a staff account", "session": "a session", "booking": "a booking",
          "waitlist": "a waiting-list entry", "alert": "an alert",
          "enquiry": "an enquiry"}

LABELS = {
    "session_id": "Session", "course_id": "Course", "venue_id": "Venue",
    "trainer_id": "Trainer", "amount_pence": "Amount", "refund_due_pence": "Refund due",
    "refunds_due_pence": "Refunds due", "price_pence": "Price",
    "price_pence_override": "Price for this session", "starts_at": "Starts", "ends_at": "Ends",
    "cancelled_at": "Cancelled", "confirmed_at": "Confirmed", "offered_at": "Offered",
    "offer_expires_at": "Offer expires", "acknowledged_at": "Acknowledged",
    "resolved_at": "Resolved", "deleted_at": "Deleted", "is_active": "Active",
    "full_name": "Name", "email": "Email", "role": "Role", "to": "Sent to",
    "bookings_cancelled": "Bookings cancelled", "certificates_issued": "Certificates issued",
    "refund_choice": "Refund", "address_line1": "Address", "address_line2": "Address (line 2)",
    "description_html": "Description", "duration_days": "Days", "duration_hours": "Hours",
    "certificate_validity_months": "Certificate valid for (months)",
    "default_capacity": "Usual number of seats", "payment_note": "Payment note",
    "replayed": "Retried", "method": "Paid by", "kind": "Alert", "series": "Repeats",
}
# Keys whose value is an internal id with nothing to add for an office.
HIDDEN = frozenset({"id", "event_id", "refund_id", "alert_id"})

_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ATTENDANCE = re.compile(r"^attendee:(\d+)\.attended$")


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None     # None: the field was added
    after: str | None      # None: the field was removed


@dataclass(frozen=True)
class Record:
    label: str
    endpoint: str | None = None   # an admin page about it, for the template's url_for
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    who: str
    action: str                    # readable
    record: Record
    changes: list[Change]
    action_code: str               # as stored, for searching and tests


def action_words(action: str) -> str:
    known = ACTIONS.get(action)
    if known:
        return known
    prefix, _, verb = action.partition(".")
    if verb in _VERBS:
        return f"{_VERBS[verb]} {_NOUNS.get(prefix, prefix.replace('_', ' '))}"
    return _sentence(action.replace(".", " ").replace("_", " "))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def label_for(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    for suffix in ("_pence", "_id", "_at"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return _sentence(key.replace("_", " "))


class Describer:
    """Words for the entries of one page, looking each record up once."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, object], object] = {}

    def _get(self, repo: type[Repository], id_: object, **kw):
        key = (repo.__name__, id_)
        if key not in self._memo:
            try:
                self._memo[key] = repo().get(int(id_), **kw)
            except (TypeError, ValueError):
                self._memo[key] = None
        return self._memo[key]

    def session(self, id_: object) -> str | None:
        row = self._get(SessionRepository, id_)
        return session_label(row.course.title, row.starts_at, row.venue.town) if row else None

    def course(self, id_: object) -> str | None:
        row = self._get(CourseRepository, id_, include_deleted=True)
        return row.title if row else None

    def venue(self, id_: object) -> str | None:
        row = self._get(VenueRepository, id_, include_deleted=True)
        return f"{row.name}, {row.town}" if row else None

    def person(self, id_: object) -> str | None:
        row = self._get(UserRepository, id_)
        return row.full_name if row else None

    def attendee(self, id_: object) -> str | None:
        row: Attendee | None = self._get(AttendeeRepository, id_)
        return row.full_name if row else None

    def booking(self, reference: str):
        key = ("booking", reference)
        if key not in self._memo:
            self._memo[key] = BookingRepository().get_by_reference(reference)
        return self._memo[key]

    # -- values ------------------------------------------------------------------------
    def value(self, key: str, value: object) -> str:
        if value is None or value == "":
            return "none"
        if isinstance(value, bool):
            return "Yes" if value else "No"
        lookups = {"session_id": self.session, "course_id": self.course,
                   "venue_id": self.venue, "trainer_id": self.person}
        if key in lookups:
            return lookups[key](value) or "(no longer exists)"
        if key.endswith("_pence") and isinstance(value, (int, float)):
            return pounds(int(value))
        if isinstance(value, (list, tuple)):
            return ", ".join(self.value(key, v) for v in value) or "none"
        if isinstance(value, dict):
            return "; ".join(f"{label_for(k)}: {self.value(k, v)}" for k, v in value.items()
                             if k not in HIDDEN)
        if isinstance(value, str):
            if _ISO_MOMENT.match(value):
                try:
                    return uk_moment(datetime.fromisoformat(value))
                except ValueError:
                    return value
            if _ISO_DAY.match(value):
                try:
                    return uk_day(date.fromisoformat(value))
                except ValueError:
                    return value
            if key in ("status", "role", "refund_choice", "reason", "method") and \
                    re.fullmatch(r"[a-z_]+", value):
                return _sentence(value.replace("_", " "))
        return str(value)

    def changes(self, before: dict | None, after: dict | None) -> list[Change]:
        before, after = before or {}, after or {}
        changes = []
        for key in sorted(set(before) | set(after), key=lambda k: (label_for(k), k)):
            if key in HIDDEN:
                continue
            label = label_for(key)
            match = _ATTENDANCE.match(key)
            if match:
                who = self.attendee(match.group(1)) or "an attendee"
                label = f"Attendance of {who}"
                word = {True: "Present", False: "Absent", None: "Not marked"}
                changes.append(Change(label, word.get(before.get(key)) if key in before else None,
                                      word.get(after.get(key)) if key in after else None))
                continue
            changes.append(Change(label,
                                  self.value(key, before[key]) if key in before else None,
                                  self.value(key, after[key]) if key in after else None))
        return changes

    # -- records -------------------------------------------------------------------------
    def record(self, entry: AuditLog) -> Record:
        kind, id_ = entry.entity_type, entry.entity_id
        if kind == "booking":
            booking = self.booking(id_)
            who = f" ({booking.contact_name})" if booking is not None else ""
            return Record(f"Booking {id_}{who}", "admin.booking_detail", {"reference": id_})
        if kind == "session" and id_.isdigit():
            return Record(self.session(id_) or "A session that no longer exists",
                          "admin.session_detail", {"session_id": int(id_)})
        if kind == "course" and id_.isdigit():
            return Record(self.course(id_) or "A course", "admin.course_edit",
                          {"course_id": int(id_)})
        if kind == "venue" and id_.isdigit():
            return Record(self.venue(id_) or "A venue", "admin.venue_edit",
                          {"venue_id": int(id_)})
        if kind == "user":
            return Record(self.person(id_) or "A staff account")
        if kind == "alert" and id_.isdigit():
            alert = self._get(AlertRepository, id_)
            return Record(f"Alert: {alert.title}" if alert else "An alert", "admin.alerts",
                          {"all": 1})
        if kind == "waitlist":
            return Record("Waiting list entry", "admin.waiting_lists", {})
        if kind == "enquiry" and id_.isdigit():
            return Record(f"Enquiry {id_}", "admin.enquiry", {"enquiry_id": int(id_)})
        if kind == "outbox":
            return Record("Failed emails and tasks", "admin.events", {})
        return Record(_sentence(kind.replace("_", " ")))

    def entry(self, entry: AuditLog) -> ActivityEntry:
        who = entry.actor.full_name if entry.actor else "The system"
        return ActivityEntry(at=entry.created_at, who=who, action=action_words(entry.action),
                             record=self.record(entry),
                             changes=self.changes(entry.before, entry.after),
                             action_code=entry.action)


def describe_entries(entries: Iterable[AuditLog]) -> list[ActivityEntry]:
    describer = Describer()
    return [describer.entry(e) for e in entries]
