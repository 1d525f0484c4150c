"""The booking office: what only staff do with bookings. Search and filter, the
booking's timeline and resending the confirmation.

Cancelling, correcting names and moving a booking are the same functions the
customer uses (app.services.bookings.manage), called with `Actor.staff(...)`;
this module only previews their outcome for the admin pages. Refunding an
amount, recording a payment made another way and bookings taken by phone are
payment operations, in the payments package (refunds, offline), which builds on
this one. A resend records ConfirmationResendRequested; the email itself is
sent by the outbox handler in app.services.messaging.notifications.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from app.models import Booking, BookingStatus, utcnow
from app.repositories import BookingRepository, Page, unit_of_work
from app.repositories.admin import AdminBookingRepository, AdminSessionRepository, BookingCriteria
from app.repositories.payments import PaymentRepository, RefundRepository
from app.services.bookings.holds import BookingPolicy, get_booking
from app.services.bookings.manage import Actor, Changes, RefundRule, allowed_changes, refund_due
from app.services.core import events
from app.services.core.audit import record_audit, search_audit
from app.services.core.errors import InvalidInput, InvalidState
from app.services.core.inputs import DEFAULT_PER_PAGE
from app.services.core.readable import Change, Describer, action_words
from app.services.core.ukformat import pounds, uk_short_date
from app.validation.filters import (
    BOOKING_DATE_FIELDS, BookingFilters, booking_filters_from_query, london_day_bounds,
)

STATUS_FILTERS = {"": "Any status", **{s.value: s.value.capitalize() for s in BookingStatus}}
DATE_FIELDS = BOOKING_DATE_FIELDS
REFUND_CHOICES = {RefundRule.POLICY.value: "What the cancellation policy allows",
                  RefundRule.FULL.value: "A full refund", RefundRule.NONE.value: "No refund"}
SESSION_EVENT_TYPES = (events.SESSION_CHANGED, events.SESSION_CANCELLED)


# -- search ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookingTable:
    filters: BookingFilters
    results: Page[Booking]
    problems: dict[str, str] = field(default_factory=dict)


def search_bookings(params: Mapping, *, per_page: int = DEFAULT_PER_PAGE) -> BookingTable:
    """Bookings by reference, contact name, email or company, filtered by status,
    session and a date range (course date or date booked), newest first."""
    filters, problems = booking_filters_from_query(params, statuses=STATUS_FILTERS)
    repo = AdminBookingRepository()
    return BookingTable(filters=filters,
                        results=repo.paginate(repo.search(_criteria(filters)), page=filters.page,
                                              per_page=per_page),
                        problems=problems)


def export_bookings(params: Mapping) -> Iterator:
    """Every booking the table shows for the same query parameters (all pages),
    as rows streamed from the database. Unlike the table, which shows what it
    could read, a download refuses a filter it cannot read (InvalidInput naming
    the fields): a file silently missing a filter would be wrong without anyone
    noticing."""
    filters, problems = booking_filters_from_query(params, statuses=STATUS_FILTERS)
    if problems:
        raise InvalidInput("Some filters were not understood: " + " ".join(problems.values()),
                           fields=problems)
    return AdminBookingRepository().stream_export_rows(_criteria(filters))


def _criteria(filters: BookingFilters) -> BookingCriteria:
    lower, upper = london_day_bounds(filters.date_from, filters.date_to)
    by_course = filters.date_field == "course"
    return BookingCriteria(
        text=filters.text or None,
        status=BookingStatus(filters.status) if filters.status else None,
        session_id=filters.session_id,
        starts_from=lower if by_course else None, starts_before=upper if by_course else None,
        booked_from=None if by_course else lower, booked_before=None if by_course else upper)


def recent_bookings(limit: int = 10) -> list[Booking]:
    return AdminBookingRepository().recent(limit)


# -- detail and timeline --------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str         # event, change, payment, refund, email
    title: str
    detail: str = ""
    actor: str | None = None


@dataclass(frozen=True)
class BookingDetail:
    booking: Booking
    timeline: list[TimelineEntry]
    payments: list
    refunds: list
    refundable_pence: int
    transfer_targets: list
    target_seats: dict[int, int]
    changes: Changes  # what staff may do to it now, and why not


_EVENT_TITLES = {
    events.BOOKING_HELD: "Seats held", events.BOOKING_CONFIRMED: "Booking confirmed",
    events.BOOKING_CANCELLED: "Booking cancelled", events.HOLD_EXPIRED: "Hold expired",
    events.PAYMENT_FAILED: "Payment failed", events.REFUND_ISSUED: "Refund issued",
    events.LATE_PAYMENT_REFUNDED: "Late payment refunded",
    events.SESSION_CHANGED: "Session moved", events.SESSION_CANCELLED: "Session cancelled",
    events.BOOKING_TRANSFERRED: "Transferred to another date",
    events.CONFIRMATION_RESEND_REQUESTED: "Confirmation resend requested",
    events.MANAGE_LINK_REISSUED: "New manage link sent",
    events.SESSION_MESSAGE_SENT: "Message to everyone on the session",
}


def _words(code: str | None) -> str:
    return (code or "").replace("_", " ")


def _place(facts: dict) -> str:
    return f"{uk_short_date(datetime.fromisoformat(facts['starts_at']))}, {facts['town']}"


def _timeline(booking: Booking, payments: list, refunds: list) -> list[TimelineEntry]:
    """Events, changes, `payments`, `refunds` and emails in time order (the payments
    and refunds are the ones the detail page already loaded)."""
    repo = AdminBookingRepository()
    entries: list[TimelineEntry] = []
    for event in repo.events_about(booking.reference, booking.session_id,
                                   session_event_types=SESSION_EVENT_TYPES):
        if event.event_type in SESSION_EVENT_TYPES and event.created_at < booking.created_at:
            continue
        detail = event.payload.get("summary") or event.payload.get("reason") or ""
        if event.event_type == events.BOOKING_CANCELLED and event.payload.get("refund_due_pence"):
            detail = f"Refund due {pounds(event.payload['refund_due_pence'])}"
        if event.event_type == events.BOOKING_TRANSFERRED and "to" in event.payload:
            detail = (f"From {_place(event.payload['from'])} "
                      f"to {_place(event.payload['to'])}")
        if event.event_type == events.SESSION_MESSAGE_SENT:
            detail = f"Subject: {event.payload.get('subject', '')}"
        entries.append(TimelineEntry(event.created_at, "event",
                                     _EVENT_TITLES.get(event.event_type, event.event_type),
                                     str(detail)))
    describer = Describer()
    for entry in search_audit(entity_type="booking", entity_id=booking.reference,
                              per_page=100).items:
        entries.append(TimelineEntry(entry.created_at, "change", action_words(entry.action),
                                     _changes(describer.changes(entry.before, entry.after)),
                                     entry.actor.full_name if entry.actor else None))
    for payment in payments:
        entries.append(TimelineEntry(
            payment.paid_at or payment.created_at, "payment",
            f"Payment {payment.status.value} ({_words(payment.provider)})",
            pounds(payment.amount_pence)))
    for refund in refunds:
        entries.append(TimelineEntry(
            refund.created_at, "refund",
            f"Refund {refund.status.value} ({_words(refund.reason)})",
            pounds(refund.amount_pence) + (f": {refund.last_error}" if refund.last_error else "")))
    for email in repo.emails_about(booking.id):
        entries.append(TimelineEntry(email.sent_at or email.created_at, "email",
                                     f"Email {email.status}", email.subject))
    order = {"event": 0, "change": 1, "payment": 2, "refund": 3, "email": 4}
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))


def _changes(changes: list[Change]) -> str:
    """"Refund due: £0.00 → £60.00; Status: Confirmed → Cancelled" for one line."""
    parts = []
    for change in changes:
        if change.before is None:
            parts.append(f"{change.label}: {change.after}")
        elif change.after is None:
            parts.append(f"{change.label}: {change.before} → removed")
        else:
            parts.append(f"{change.label}: {change.before} → {change.after}")
    return "; ".join(parts)


def booking_detail(reference: str, *, actor: Actor, policy: BookingPolicy,
                   now: datetime | None = None) -> BookingDetail:
    now = now or utcnow()
    booking = get_booking(reference)
    payments = PaymentRepository()
    payment = payments.card_payment_for(booking.id)
    paid, refunds = payments.for_booking(booking.id), RefundRepository().for_booking(booking.id)
    targets = AdminSessionRepository().transfer_targets(booking.session.course_id, now,
                                                        excluding=booking.session_id)
    taken = BookingRepository().seats_taken_by_session([t.id for t in targets], now)
    return BookingDetail(
        booking=booking, timeline=_timeline(booking, paid, refunds),
        payments=paid, refunds=refunds,
        refundable_pence=payments.refundable_pence(payment) if payment else 0,
        transfer_targets=targets,
        target_seats={t.id: max(0, t.capacity - taken.get(t.id, 0)) for t in targets},
        changes=allowed_changes(booking, actor=actor, policy=policy, now=now))


# -- changes ------------------------------------------------------------------------------------
def resend_confirmation(actor_id: int, reference: str) -> Booking:
    """Ask for the confirmation email to go out again (a new email, not deduplicated
    against the first)."""
    with unit_of_work():
        booking = get_booking(reference)
        if booking.status != BookingStatus.CONFIRMED:
            raise InvalidState("Only a confirmed booking has a confirmation to resend.")
        event = events.record_event(events.CONFIRMATION_RESEND_REQUESTED, booking.reference,
                                    {"reference": booking.reference, "requested_by": actor_id})
        record_audit(actor_id, "booking.resend_confirmation", "booking", booking.reference,
                     after={"event_id": event.id, "to": booking.contact_email})
    return booking


def refund_preview(booking: Booking, policy: BookingPolicy, *,
                   now: datetime | None = None) -> dict[str, int]:
    """What cancelling now would owe the customer under each refund choice, in pence."""
    now = now or utcnow()
    return {choice: refund_due(booking, RefundRule(choice), policy=policy, now=now)
            for choice in REFUND_CHOICES}

