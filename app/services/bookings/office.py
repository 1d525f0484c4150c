"""Admin: bookings. Search and filter, the booking's timeline, resend the
confirmation, correct attendee names, transfer to another date, cancel,
refund, and bookings taken by phone and paid by invoice or bank transfer.

A transfer is one atomic seat move: it locks both sessions' seat locks in
ascending id order (so two transfers in opposite directions, or a transfer
and a hold, can never deadlock), re-reads the booking, counts the target's
seats after the lock and moves the booking. Both sessions keep the invariant
"held + confirmed <= capacity": the source only loses seats, the target gains
them only if they are free.

Customers hear about an admin's change through the outbox: a transfer records
BookingTransferred and a resend records ConfirmationResendRequested; the
handlers at the end of this module send the confirmation (for the new date,
with a new calendar file) under a dedupe key made from the event id, so each
request sends exactly one email however often the event is delivered.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial

from app.extensions import db
from app.models import Booking, BookingStatus, CourseSession, OutboxEvent, SessionStatus, utcnow
from app.repositories import BookingRepository, Page, SessionRepository, unit_of_work
from app.repositories.admin import AdminBookingRepository, AdminSessionRepository, BookingCriteria
from app.repositories.payments import PaymentRepository, RefundRepository
from app.services.core import events
from app.services.messaging import notifications
from app.services.realtime import announce
from app.services.core.inputs import (
    DEFAULT_PER_PAGE, checked, london_day_bounds, page_number, parse_date_range,
)
from app.services.core.audit import record_audit, search_audit, snapshot
from app.services.bookings.holds import BookingPolicy, get_booking, hold_seats
from app.services.bookings.holds import cancel_booking as cancel_customer_booking
from app.services.core.errors import InvalidInput, InvalidState, NotFound, SeatsUnavailable
from app.services.payments import refunds as payment_refunds
from app.services.payments.checkout import OFFLINE_METHODS, mark_paid_offline
from app.validation import (
    FieldError, ValidationFailed, clean_text, parse_booking_request, validate_person_name,
)
from app.validation.admin import validate_choice, validate_notes, validate_pounds, validate_record_id

BOOKING_TRANSFERRED = "BookingTransferred"
CONFIRMATION_RESEND_REQUESTED = "ConfirmationResendRequested"

LIVE = (BookingStatus.HELD, BookingStatus.CONFIRMED)
STATUS_FILTERS = {"": "Any status", **{s.value: s.value.capitalize() for s in BookingStatus}}
DATE_FIELDS = {"course": "Course date", "booked": "Date booked"}
REFUND_CHOICES = {"policy": "What the cancellation policy allows", "full": "A full refund",
                  "none": "No refund"}
AUDITED_FIELDS = ("status", "session_id", "seats", "amount_pence", "refund_due_pence",
                  "cancelled_at", "confirmed_at", "payment_note")
SESSION_EVENT_TYPES = (events.SESSION_CHANGED, events.SESSION_CANCELLED)

METHOD_RULE = partial(validate_choice, choices=OFFLINE_METHODS, field_label="payment method")
NOTE_RULE = partial(validate_notes, field_label="payment note", max_length=500)
SESSION_RULE = partial(validate_record_id, field_label="session")
REFUND_AMOUNT_RULE = partial(validate_pounds, field_label="refund amount", required=False,
                             allow_zero=False)


# -- search ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookingFilters:
    text: str = ""
    status: str = ""
    session_id: int | None = None
    date_field: str = "course"
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def query_params(self, **overrides) -> dict[str, str]:
        params = {
            "q": self.text, "status": self.status, "session": self.session_id,
            "dates": self.date_field if self.date_field != "course" else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "page": self.page,
        }
        params.update(overrides)
        if str(params.get("page")) == "1":
            del params["page"]
        return {k: str(v) for k, v in params.items() if v not in (None, "")}


@dataclass(frozen=True)
class BookingTable:
    filters: BookingFilters
    results: Page[Booking]
    problems: dict[str, str] = field(default_factory=dict)


def parse_filters(params: Mapping) -> tuple[BookingFilters, dict[str, str]]:
    """Search and filters from a query string; a bad value is dropped with a message."""
    first, last, problems = parse_date_range(params)
    try:
        text = clean_text(params.get("q"), field_label="search", max_length=100,
                          required=False) or ""
    except FieldError as exc:
        problems["q"] = exc.message
        text = ""
    status = params.get("status") or ""
    if status not in STATUS_FILTERS:
        problems["status"] = "Choose a status from the list."
        status = ""
    date_field = params.get("dates") or "course"
    if date_field not in DATE_FIELDS:
        problems["dates"] = "Choose course date or date booked."
        date_field = "course"
    session_id = None
    if params.get("session"):
        try:
            session_id = SESSION_RULE(params.get("session"))
        except FieldError as exc:
            problems["session"] = exc.message
    return BookingFilters(text=text, status=status, session_id=session_id,
                          date_field=date_field, date_from=first, date_to=last,
                          page=page_number(params.get("page"))), problems


def search_bookings(params: Mapping, *, per_page: int = DEFAULT_PER_PAGE) -> BookingTable:
    """Bookings by reference, contact name, email or company, filtered by status,
    session and a date range (course date or date booked), newest first."""
    filters, problems = parse_filters(params)
    lower, upper = london_day_bounds(filters.date_from, filters.date_to)
    by_course = filters.date_field == "course"
    criteria = BookingCriteria(
        text=filters.text or None,
        status=BookingStatus(filters.status) if filters.status else None,
        session_id=filters.session_id,
        starts_from=lower if by_course else None, starts_before=upper if by_course else None,
        booked_from=None if by_course else lower, booked_before=None if by_course else upper)
    repo = AdminBookingRepository()
    return BookingTable(filters=filters,
                        results=repo.paginate(repo.search(criteria), page=filters.page,
                                              per_page=per_page),
                        problems=problems)


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

    @property
    def is_live(self) -> bool:
        return self.booking.status in LIVE


_EVENT_TITLES = {
    events.BOOKING_HELD: "Seats held", events.BOOKING_CONFIRMED: "Booking confirmed",
    events.BOOKING_CANCELLED: "Booking cancelled", events.HOLD_EXPIRED: "Hold expired",
    events.PAYMENT_FAILED: "Payment failed", events.REFUND_ISSUED: "Refund issued",
    events.LATE_PAYMENT_REFUNDED: "Late payment refunded",
    events.SESSION_CHANGED: "Session moved", events.SESSION_CANCELLED: "Session cancelled",
    BOOKING_TRANSFERRED: "Transferred to another date",
    CONFIRMATION_RESEND_REQUESTED: "Confirmation resend requested",
}


def _pounds(pence: int) -> str:
    whole, rest = divmod(int(pence), 100)
    return f"£{whole:,}.{rest:02d}"


def _timeline(booking: Booking) -> list[TimelineEntry]:
    repo = AdminBookingRepository()
    entries: list[TimelineEntry] = []
    for event in repo.events_about(booking.reference, booking.session_id,
                                   session_event_types=SESSION_EVENT_TYPES):
        if event.event_type in SESSION_EVENT_TYPES and event.created_at < booking.created_at:
            continue
        detail = event.payload.get("summary") or event.payload.get("reason") or ""
        if event.event_type == events.BOOKING_CANCELLED and event.payload.get("refund_due_pence"):
            detail = f"Refund due {_pounds(event.payload['refund_due_pence'])}"
        entries.append(TimelineEntry(event.created_at, "event",
                                     _EVENT_TITLES.get(event.event_type, event.event_type),
                                     str(detail)))
    for entry in search_audit(entity_type="booking", entity_id=booking.reference,
                              per_page=100).items:
        entries.append(TimelineEntry(entry.created_at, "change", entry.action,
                                     _changes(entry.before, entry.after),
                                     entry.actor.full_name if entry.actor else None))
    for payment in PaymentRepository().for_booking(booking.id):
        entries.append(TimelineEntry(
            payment.paid_at or payment.created_at, "payment",
            f"Payment {payment.status.value} ({payment.provider})", _pounds(payment.amount_pence)))
    for refund in RefundRepository().for_booking(booking.id):
        entries.append(TimelineEntry(
            refund.created_at, "refund", f"Refund {refund.status.value} ({refund.reason})",
            _pounds(refund.amount_pence) + (f": {refund.last_error}" if refund.last_error else "")))
    for email in repo.emails_about(booking.id):
        entries.append(TimelineEntry(email.sent_at or email.created_at, "email",
                                     f"Email {email.status}", email.subject))
    order = {"event": 0, "change": 1, "payment": 2, "refund": 3, "email": 4}
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))


def _changes(before: dict | None, after: dict | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        if key in before and key in after:
            parts.append(f"{key}: {before[key]!s} → {after[key]!s}")
        elif key in after:
            parts.append(f"{key}: {after[key]!s}")
    return "; ".join(parts)


def booking_detail(reference: str, *, now: datetime | None = None) -> BookingDetail:
    now = now or utcnow()
    booking = _get(reference)
    payment = payment_refunds.card_payment_for(booking)
    targets = AdminSessionRepository().transfer_targets(booking.session.course_id, now,
                                                        excluding=booking.session_id)
    taken = BookingRepository().seats_taken_by_session([t.id for t in targets], now)
    return BookingDetail(
        booking=booking, timeline=_timeline(booking),
        payments=PaymentRepository().for_booking(booking.id),
        refunds=RefundRepository().for_booking(booking.id),
        refundable_pence=payment_refunds.refundable_pence(payment) if payment else 0,
        transfer_targets=targets,
        target_seats={t.id: max(0, t.capacity - taken.get(t.id, 0)) for t in targets})


def _get(reference: str) -> Booking:
    reference = (reference or "").strip().upper()
    if not reference.isalnum() or len(reference) > 16:
        raise NotFound("We could not find that booking.")
    return get_booking(reference)


# -- changes ------------------------------------------------------------------------------------
def resend_confirmation(actor_id: int, reference: str) -> Booking:
    """Ask for the confirmation email to go out again (a new email, not deduplicated
    against the first)."""
    with unit_of_work():
        booking = _get(reference)
        if booking.status != BookingStatus.CONFIRMED:
            raise InvalidState("Only a confirmed booking has a confirmation to resend.")
        event = events.record_event(CONFIRMATION_RESEND_REQUESTED, booking.reference,
                                    {"reference": booking.reference, "requested_by": actor_id})
        record_audit(actor_id, "booking.resend_confirmation", "booking", booking.reference,
                     after={"event_id": event.id, "to": booking.contact_email})
    return booking


def rename_attendees(actor_id: int, reference: str, names: Mapping[int, object]) -> Booking:
    """Correct attendee names as they will appear on certificates. Unlike the
    customer's manage page, an admin may do this after the cut-off; a name on a
    certificate already issued is not changed here."""
    with unit_of_work():
        booking = _get(reference)
        if booking.status not in LIVE:
            raise InvalidState("Names can only be changed on a held or confirmed booking.")
        cleaned, errors = {}, {}
        by_position = {a.position: a for a in booking.attendees}
        for position, name in names.items():
            attendee = by_position.get(position)
            if attendee is None:
                continue
            try:
                cleaned[position] = validate_person_name(name)
            except FieldError as exc:
                errors[f"attendees.{position}.name"] = exc.message
                continue
            if attendee.certificate_number and cleaned[position] != attendee.full_name:
                errors[f"attendees.{position}.name"] = (
                    f"Certificate {attendee.certificate_number} has been issued in this name.")
        if errors:
            raise InvalidInput(fields=errors)
        before = {str(a.position): a.full_name for a in booking.attendees}
        for position, name in cleaned.items():
            by_position[position].full_name = name
        after = {str(a.position): a.full_name for a in booking.attendees}
        if before != after:
            record_audit(actor_id, "booking.rename_attendees", "booking", booking.reference,
                         before=before, after=after)
    return booking


def transfer_booking(actor_id: int, reference: str, target_session_id: object, *,
                     now: datetime | None = None) -> Booking:
    """Move a live booking, all its seats, to another scheduled, not yet started
    session of the same course, in one transaction. SeatsUnavailable if the
    target has not got the seats."""
    now = now or utcnow()
    target_id = checked(SESSION_RULE, target_session_id, "session_id")
    booking = _get(reference)
    source_id = booking.session_id
    if target_id == source_id:
        message = "The booking is already on that session."
        raise InvalidInput(message, fields={"session_id": message})
    sessions = SessionRepository()
    with unit_of_work():
        for session_id in sorted((source_id, target_id)):
            if not sessions.lock(session_id):
                raise NotFound("We could not find that session.",
                               fields={"session_id": "Choose a session from the list."})
        db.session.refresh(booking)
        if booking.session_id != source_id:
            raise InvalidState("Someone else moved this booking a moment ago. "
                               "Reload the page and try again.")
        if booking.status not in LIVE or (booking.status == BookingStatus.HELD
                                          and booking.hold_expires_at <= now):
            raise InvalidState(f"A {booking.status.value} booking cannot be transferred.")
        source = db.session.get(CourseSession, source_id, populate_existing=True)
        target = db.session.get(CourseSession, target_id, populate_existing=True)
        if target.course_id != source.course_id:
            message = "Choose a session of the same course."
            raise InvalidInput(message, fields={"session_id": message})
        if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
            message = "That session is cancelled, completed or has already started."
            raise InvalidInput(message, fields={"session_id": message})
        available = target.capacity - BookingRepository().seats_taken(target_id, now)
        if booking.seats > available:
            raise SeatsUnavailable(max(0, available), booking.seats)
        before = snapshot(booking, AUDITED_FIELDS)
        booking.session_id = target_id
        db.session.flush()
        db.session.expire(booking, ["session"])
        events.record_event(BOOKING_TRANSFERRED, booking.reference, {
            "reference": booking.reference, "from_session_id": source_id,
            "to_session_id": target_id, "seats": booking.seats,
            "was_confirmed": booking.status == BookingStatus.CONFIRMED})
        record_audit(actor_id, "booking.transfer", "booking", booking.reference,
                     before=before, after=snapshot(booking, AUDITED_FIELDS))
        announce.announce_seats_changed(source_id)
        announce.announce_seats_changed(target_id)
    return booking


def _policy_for(refund: str, policy: BookingPolicy) -> BookingPolicy:
    """The cancellation policy, or one that always owes everything or nothing."""
    if refund == "full":
        return replace(policy, full_refund_days=-100_000)
    if refund == "none":
        return replace(policy, full_refund_days=100_000, no_refund_hours=100_000 * 24)
    return policy


def refund_preview(booking: Booking, policy: BookingPolicy, *, now: datetime | None = None) -> dict[str, int]:
    """What each cancellation choice would owe the customer, in pence."""
    now = now or utcnow()
    if booking.status != BookingStatus.CONFIRMED:
        return {choice: 0 for choice in REFUND_CHOICES}
    return {choice: _policy_for(choice, policy).refund_due_pence(
        booking.amount_pence, booking.session.starts_at, now) for choice in REFUND_CHOICES}


def cancel_booking(actor_id: int, reference: str, *, policy: BookingPolicy,
                   refund: object = "policy", now: datetime | None = None) -> Booking:
    """Cancel a held or confirmed booking (its seats are free at once). `refund` is
    "policy" (what the cancellation policy allows), "full" or "none"; the payments
    handler refunds what is owed through the provider, once."""
    now = now or utcnow()
    choice = checked(partial(validate_choice, choices=REFUND_CHOICES, field_label="refund"),
                     refund, "refund")
    with unit_of_work():
        booking = _get(reference)
        if booking.status not in LIVE:
            raise InvalidState(f"A {booking.status.value} booking cannot be cancelled.")
        before = snapshot(booking, AUDITED_FIELDS)
        booking = cancel_customer_booking(booking.reference, policy=_policy_for(choice, policy),
                                          now=now)
        after = snapshot(booking, AUDITED_FIELDS)
        after["refund_choice"] = choice
        record_audit(actor_id, "booking.cancel", "booking", booking.reference,
                     before=before, after=after)
    return booking


def refund_booking(actor_id: int, reference: str, amount: object = None, *,
                   now: datetime | None = None):
    """Refund part (an amount in pounds) or, with no amount, all of what is left of the
    booking's card payment (payments.refunds.refund_booking). The booking itself
    is unchanged. Returns the Refund."""
    amount_pence = checked(REFUND_AMOUNT_RULE, amount, "amount")
    booking = _get(reference)
    try:
        refund = payment_refunds.refund_booking(booking.reference, amount_pence,
                                                requested_by_id=actor_id, now=now)
    except InvalidInput as exc:
        message = exc.fields.get("amount_pence") or exc.message
        raise InvalidInput(message, fields={"amount": message}) from None
    with unit_of_work():
        record_audit(actor_id, "booking.refund", "booking", booking.reference, after={
            "refund_id": refund.id, "amount_pence": refund.amount_pence,
            "status": refund.status.value})
    return refund


def mark_paid(actor_id: int, reference: str, method: object, note: object = None, *,
              now: datetime | None = None) -> Booking:
    """Confirm a held booking paid by invoice or bank transfer (when card payments
    are down, or the customer asked to pay that way)."""
    method = checked(METHOD_RULE, method, "method")
    note = checked(NOTE_RULE, note, "note")
    with unit_of_work():
        booking = _get(reference)
        before = snapshot(booking, AUDITED_FIELDS)
        booking = mark_paid_offline(booking.reference, method, note=note or None, now=now)
        record_audit(actor_id, "booking.mark_paid", "booking", booking.reference,
                     before=before, after=snapshot(booking, AUDITED_FIELDS))
    return booking


# -- manual bookings ------------------------------------------------------------------------
def manual_booking_data(data: Mapping) -> dict:
    """Form-shaped values (contact-name, attendees-0-name, ...) in the shape the
    booking validation layer reads. Attendee rows left blank are ignored."""
    attendees = []
    for index in range(100):
        name = data.get(f"attendees-{index}-name")
        if name is None:
            break
        email = data.get(f"attendees-{index}-email")
        if (name or "").strip() or (email or "").strip():
            attendees.append({"name": name, "email": email,
                              "access_needs": data.get(f"attendees-{index}-access_needs")})
    return {
        "session_id": data.get("session_id"),
        "contact": {key: data.get(f"contact-{key}")
                    for key in ("name", "email", "phone", "postcode", "company")},
        "attendees": attendees,
    }


def create_manual_booking(actor_id: int, data: Mapping, *, policy: BookingPolicy,
                          now: datetime | None = None) -> Booking:
    """A booking taken by phone or email and paid by invoice or bank transfer: the
    seats are held and confirmed in one transaction, with a Payment row for the
    method (payments.checkout.mark_paid_offline). `data` is the admin form's
    values (see manual_booking_data); the booking rules are the customer's."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    request = None
    try:
        request = parse_booking_request(manual_booking_data(data), max_seats=policy.max_seats)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    method = note = None
    try:
        method = METHOD_RULE(data.get("method"))
    except FieldError as exc:
        errors["method"] = exc.message
    try:
        note = NOTE_RULE(data.get("note"))
    except FieldError as exc:
        errors["note"] = exc.message
    if errors:
        raise InvalidInput(fields=errors)
    with unit_of_work():
        booking = hold_seats(request, policy=policy, now=now)
        booking = mark_paid_offline(booking.reference, method, note=note or None, now=now)
        after = snapshot(booking, AUDITED_FIELDS)
        after["method"] = method
        record_audit(actor_id, "booking.create_manual", "booking", booking.reference, after=after)
    return booking


# -- outbox handlers: the customer hears about an admin's change -------------------------------
def _confirmed_booking_for(event: OutboxEvent) -> Booking | None:
    booking = BookingRepository().get_by_reference(
        str(event.payload.get("reference") or event.aggregate_id))
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return None
    return booking


@events.handles(BOOKING_TRANSFERRED, name="email.booking_transferred")
def email_booking_transferred(event: OutboxEvent) -> None:
    """The confirmation again, for the new date (with its calendar file and receipt)."""
    booking = _confirmed_booking_for(event)
    if booking is not None:
        notifications.send_booking_confirmation(
            booking, dedupe_key=f"booking-confirmed:{booking.reference}:transfer:{event.id}")


@events.handles(CONFIRMATION_RESEND_REQUESTED, name="email.confirmation_resend")
def email_confirmation_resend(event: OutboxEvent) -> None:
    booking = _confirmed_booking_for(event)
    if booking is not None:
        notifications.send_booking_confirmation(
            booking, dedupe_key=f"booking-confirmed:{booking.reference}:resend:{event.id}")
