"""Changing a booking once it is made: cancel it, correct attendee names, move it
to another date. One function per decision for every audience.

The customer's manage page, the API, the admin portal and the jobs all call
these functions and say who acts (`Actor`). What staff may do beyond a
customer is a parameter here, never a second copy of the rule: staff choose the
refund (`RefundRule` or an amount), may correct names after the customer's
cut-off and may move a booking; a staff change is audited by the same function.

Rules every audience shares:

* A booking whose session is completed or has started is history: it is part
  of the session's register (attendance, certificates) and is not cancelled,
  renamed or moved. Releasing an unpaid hold is still allowed (it never joined
  the register). Money can still be returned as a goodwill refund of an amount
  (refund_booking in the payments package), which leaves the booking as it is.
* A name on an issued certificate never changes.

`allowed_changes` answers "what may this actor do now?" from the same checks,
so pages offer exactly the actions the functions accept.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from app.models import Booking, BookingStatus, CourseSession, SessionStatus, utcnow
from app.monitoring import metrics
from app.monitoring.tracing import traced
from app.repositories import BookingRepository, SessionRepository, unit_of_work
from app.services.bookings.holds import BookingPolicy, event_payload, get_booking, lock_booking
from app.services.core import events
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidInput, InvalidState, NotFound, SeatsUnavailable
from app.services.core.inputs import checked
from app.services.core.ukformat import pounds
from app.services.realtime import announce
from app.validation import FieldError, validate_person_name
from app.validation.admin import validate_record_id

AUDITED_FIELDS = ("status", "session_id", "seats", "amount_pence", "refund_due_pence",
                  "cancelled_at", "confirmed_at", "payment_note")
SESSION_RULE = partial(validate_record_id, field_label="session")


# -- who acts and which refund applies ------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """Who is changing the booking: the customer (holder of the manage link or API
    token), a member of staff (audited under their user id) or the system (jobs,
    payment webhooks)."""

    kind: str
    user_id: int | None = None

    @classmethod
    def customer(cls) -> "Actor":
        return cls("customer")

    @classmethod
    def staff(cls, user_id: int) -> "Actor":
        return cls("staff", user_id)

    @classmethod
    def system(cls) -> "Actor":
        return cls("system")

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


class RefundRule(str, enum.Enum):
    """How much a cancellation owes: what the policy allows, everything or nothing.
    Staff may also give an amount in pence instead."""

    POLICY = "policy"
    FULL = "full"
    NONE = "none"


def _refund_rule(refund: object) -> RefundRule | int:
    if isinstance(refund, RefundRule):
        return refund
    if isinstance(refund, int) and not isinstance(refund, bool):
        return refund
    try:
        return RefundRule(refund)
    except ValueError:
        message = "Choose how much to refund."
        raise InvalidInput(message, fields={"refund": message}) from None


def refund_due(booking: Booking, refund: RefundRule | int, *, policy: BookingPolicy,
               now: datetime) -> int:
    """What cancelling `booking` now under `refund` would owe the customer, in pence.
    Nothing was paid for a hold, so nothing is owed for one."""
    if booking.status != BookingStatus.CONFIRMED:
        return 0
    if refund == RefundRule.POLICY:
        return policy.refund_due_pence(booking.amount_pence, booking.session.starts_at, now)
    if refund == RefundRule.FULL:
        return booking.amount_pence
    if refund == RefundRule.NONE:
        return 0
    if not 0 <= refund <= booking.amount_pence:
        paid = pounds(booking.amount_pence)
        message = f"The refund must be between £0 and what was paid ({paid})."
        raise InvalidInput(message, fields={"refund": message})
    return refund


# -- the checks, shared by the actions and by allowed_changes ------------------------------
def _history(booking: Booking, now: datetime, doing: str) -> str | None:
    """Why `doing` is refused because the booking's session is history, or None."""
    if not booking.session_is_history(now):
        return None
    when = ("has been completed" if booking.session.status == SessionStatus.COMPLETED
            else "has already started")
    return f"This course {when}, so {doing}."


def _why_not_cancel(booking: Booking, now: datetime) -> str | None:
    if booking.status not in Booking.LIVE_STATUSES:
        return f"A {booking.status.value} booking cannot be cancelled."
    if booking.status == BookingStatus.HELD:
        return None  # releasing an unpaid hold is always allowed
    return _history(booking, now, "the booking is part of its record and can no longer "
                                  "be cancelled")


def _why_not_rename(booking: Booking, actor: Actor, policy: BookingPolicy,
                    now: datetime) -> str | None:
    if booking.status not in Booking.LIVE_STATUSES:
        return "Names can only be changed on a held or confirmed booking."
    # Until the session is completed staff may still correct a name on its register
    # (certificates are printed at completion); customers stop at the cut-off.
    if booking.session.status == SessionStatus.COMPLETED or not actor.is_staff:
        history = _history(booking, now, "the names on its register can no longer be changed")
        if history:
            return history
    if not actor.is_staff and not policy.can_change_names(booking.session.starts_at, now):
        return (f"Names can be changed up to {policy.name_change_cutoff_hours} hours before "
                "the course. Please call us.")
    return None


def _why_not_transfer(booking: Booking, actor: Actor, now: datetime) -> str | None:
    if not actor.is_staff:
        return "To move your booking to another date, please call us."
    if not booking.occupies_seats(now):
        return f"A {_state(booking, now)} booking cannot be transferred."
    return _history(booking, now, "the booking is part of its record and can no longer "
                                  "be moved to another date")


def _state(booking: Booking, now: datetime) -> str:
    return "expired" if booking.hold_has_lapsed(now) else booking.status.value


@dataclass(frozen=True)
class Changes:
    """What an actor may do to a booking now, and why not (for pages to explain)."""

    can_cancel: bool
    can_rename: bool
    can_transfer: bool
    why_not_cancel: str | None = None
    why_not_rename: str | None = None
    why_not_transfer: str | None = None


def allowed_changes(booking: Booking, *, actor: Actor, policy: BookingPolicy,
                    now: datetime | None = None) -> Changes:
    now = now or utcnow()
    cancel = _why_not_cancel(booking, now)
    rename = _why_not_rename(booking, actor, policy, now)
    transfer = _why_not_transfer(booking, actor, now)
    return Changes(can_cancel=cancel is None, can_rename=rename is None,
                   can_transfer=transfer is None, why_not_cancel=cancel,
                   why_not_rename=rename, why_not_transfer=transfer)


# -- cancel --------------------------------------------------------------------------------
@traced("booking.cancel", arguments={"booking.reference": "reference"})
def cancel_booking(reference: str, *, actor: Actor, policy: BookingPolicy,
                   refund: RefundRule | int | str = RefundRule.POLICY,
                   now: datetime | None = None) -> Booking:
    """Cancel a held or confirmed booking (its seats are free at once) and record
    what is owed in `refund_due_pence`; the payments handler refunds it, once.

    Customers and the system get what the cancellation policy allows; staff may
    choose FULL, NONE or an amount in pence. Cancelling twice is harmless.
    """
    now = now or utcnow()
    rule = _refund_rule(refund)
    if rule != RefundRule.POLICY and not actor.is_staff:
        message = "Only our office can choose a different refund."
        raise InvalidInput(message, fields={"refund": message})
    with unit_of_work():
        booking = lock_booking(reference)
        if booking.status == BookingStatus.CANCELLED:
            return booking
        refused = _why_not_cancel(booking, now)
        if refused:
            raise InvalidState(refused)
        before = snapshot(booking, AUDITED_FIELDS)
        was_confirmed = booking.status == BookingStatus.CONFIRMED
        booking.refund_due_pence = refund_due(booking, rule, policy=policy, now=now)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.hold_expires_at = None
        events.record_event(events.BOOKING_CANCELLED, booking.reference, event_payload(
            booking, was_confirmed=was_confirmed, refund_due_pence=booking.refund_due_pence))
        metrics.count_booking(BookingRepository().session, "cancelled", booking.seats)
        if actor.is_staff:
            after = snapshot(booking, AUDITED_FIELDS)
            after["refund_choice"] = rule.value if isinstance(rule, RefundRule) else "amount"
            record_audit(actor.user_id, "booking.cancel", "booking", booking.reference,
                         before=before, after=after)
        announce.announce_seats_changed(booking.session_id)
    return booking


# -- attendee names --------------------------------------------------------------------------
def rename_attendees(reference: str, names: Mapping[int, object], *, actor: Actor,
                     policy: BookingPolicy, now: datetime | None = None) -> Booking:
    """Correct attendee names, as they will appear on certificates.

    `names` maps an attendee's position in the booking to the new name; unknown
    positions are ignored. Customers may do this up to the policy's cut-off,
    staff until the session is completed; a name on an issued certificate never
    changes.
    """
    now = now or utcnow()
    with unit_of_work():
        # Under the seat lock: completing the session (certificates) takes it too.
        booking = lock_booking(reference)
        refused = _why_not_rename(booking, actor, policy, now)
        if refused:
            raise InvalidState(refused)
        by_position = {a.position: a for a in booking.attendees}
        cleaned, errors = {}, {}
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
        if actor.is_staff and before != after:
            record_audit(actor.user_id, "booking.rename_attendees", "booking", booking.reference,
                         before=before, after=after)
    return booking


# -- transfer --------------------------------------------------------------------------------
def _where_and_when(course_session: CourseSession) -> dict:
    """The facts a "moved from ... to ..." message needs, frozen in the event."""
    return {"session_id": course_session.id,
            "starts_at": course_session.starts_at.isoformat(),
            "ends_at": course_session.ends_at.isoformat(),
            "venue": course_session.venue.name, "town": course_session.venue.town}


def transfer_booking(reference: str, target_session_id: object, *, actor: Actor,
                     now: datetime | None = None) -> Booking:
    """Move a live booking, all its seats, to another scheduled, not yet started
    session of the same course, in one transaction.

    Both sessions' seat locks are taken together (app.repositories.locks takes
    them in ascending id order, so two transfers in opposite directions, or a
    transfer and a hold, never deadlock), then the sessions and the booking are
    read again and the target's seats counted after the lock: the
    source only loses seats and the target gains them only if they are free.
    SeatsUnavailable if they are not. BookingTransferred carries where the
    booking was and where it is now, for the customer's email.
    """
    now = now or utcnow()
    target_id = checked(SESSION_RULE, target_session_id, "session_id")
    booking = get_booking(reference)
    source_id = booking.session_id
    if target_id == source_id:
        message = "The booking is already on that session."
        raise InvalidInput(message, fields={"session_id": message})
    sessions, bookings = SessionRepository(), BookingRepository()
    with unit_of_work():
        if not sessions.lock(source_id, target_id):
            raise NotFound("We could not find that session.",
                           fields={"session_id": "Choose a session from the list."})
        source, target = sessions.get_fresh(source_id), sessions.get_fresh(target_id)
        bookings.refresh(booking)
        if booking.session_id != source_id:
            raise InvalidState("Someone else moved this booking a moment ago. "
                               "Reload the page and try again.")
        refused = _why_not_transfer(booking, actor, now)
        if refused:
            raise InvalidState(refused)
        if target.course_id != source.course_id:
            message = "Choose a session of the same course."
            raise InvalidInput(message, fields={"session_id": message})
        if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
            message = "That session is cancelled, completed or has already started."
            raise InvalidInput(message, fields={"session_id": message})
        available = target.capacity - bookings.seats_taken(target_id, now)
        if booking.seats > available:
            raise SeatsUnavailable(max(0, available), booking.seats)
        before = snapshot(booking, AUDITED_FIELDS)
        bookings.move_to_session(booking, target_id)
        events.record_event(events.BOOKING_TRANSFERRED, booking.reference, {
            "reference": booking.reference, "seats": booking.seats,
            "was_confirmed": booking.status == BookingStatus.CONFIRMED,
            "from_session_id": source_id, "to_session_id": target_id,
            "from": _where_and_when(source), "to": _where_and_when(target)})
        if actor.is_staff:
            record_audit(actor.user_id, "booking.transfer", "booking", booking.reference,
                         before=before, after=snapshot(booking, AUDITED_FIELDS))
        announce.announce_seats_changed(source_id)
        announce.announce_seats_changed(target_id)
    return booking
