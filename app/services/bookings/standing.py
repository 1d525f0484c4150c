"""Where a booking stands, as its customer should be told on the manage page.

The page states facts, so they are worked out here from the rows, at `now`:
whether the course is still ahead, under way or over; what happened to money
owed (refund rows are the truth: a refund is "paid" only once the provider
said so); and which attendees have certificates. The template reads the
frozen result and touches no database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.models import Attendee, Booking, BookingStatus, RefundStatus, SessionStatus
from app.repositories.payments import RefundRepository
from app.services.core.ukformat import london

# What the customer is told about the booking as a whole.
AWAITING_PAYMENT = "awaiting_payment"   # a live hold
LAPSED = "lapsed"                       # the hold ran out unpaid
UPCOMING = "upcoming"                   # confirmed, the course is ahead
UNDER_WAY = "under_way"                 # confirmed, the course has started
TOOK_PLACE = "took_place"               # confirmed, the course is over
CANCELLED = "cancelled"
NOT_KEPT = "not_kept"                   # paid too late: the seats had gone, money returned

# What happened to one refund.
REFUND_PAID = "paid"                    # the provider confirmed it
REFUND_ON_ITS_WAY = "on_its_way"        # a row pending at the provider, or not yet made
REFUND_BY_HAND = "by_hand"              # the provider could not do it: the office will


@dataclass(frozen=True)
class RefundLine:
    amount_pence: int
    state: str
    paid_at: datetime | None = None     # when the provider confirmed it


@dataclass(frozen=True)
class CertificateLine:
    """One attendee's certificate, once the course is over."""

    full_name: str
    number: str | None
    issued_on: date | None
    expires_on: date | None
    attended: bool | None
    is_expired: bool = False

    @property
    def is_issued(self) -> bool:
        return self.number is not None


@dataclass(frozen=True)
class BookingStanding:
    state: str
    session_cancelled: bool = False     # we cancelled the course date
    register_done: bool = False         # the trainer completed the session: certificates issued
    is_paid: bool = False               # money was taken (confirmed, not on an unpaid invoice)
    refund_due_pence: int = 0           # what the cancellation policy owed
    refunds: tuple[RefundLine, ...] = ()
    certificates: tuple[CertificateLine, ...] = ()

    @property
    def is_live(self) -> bool:
        """Still in play: the customer may pay, rename or cancel (as the rules allow)."""
        return self.state in (AWAITING_PAYMENT, UPCOMING)

    @property
    def any_certificate(self) -> bool:
        return any(c.is_issued for c in self.certificates)


def _state(booking: Booking, now: datetime) -> str:
    course_session = booking.session
    if booking.status == BookingStatus.HELD:
        return LAPSED if booking.hold_has_lapsed(now) else AWAITING_PAYMENT
    if booking.status == BookingStatus.EXPIRED:
        return LAPSED
    if booking.status == BookingStatus.CANCELLED:
        return CANCELLED
    if booking.status == BookingStatus.REFUNDED:
        return NOT_KEPT
    if course_session.status == SessionStatus.COMPLETED or course_session.ends_at <= now:
        return TOOK_PLACE
    if course_session.starts_at <= now:
        return UNDER_WAY
    return UPCOMING


def _refund_lines(booking: Booking) -> tuple[RefundLine, ...]:
    """Every refund row of the booking, then whatever the cancellation policy owes
    that no row covers yet (the refund job has not picked it up): on its way too."""
    rows = RefundRepository().for_booking(booking.id)
    lines = []
    for row in rows:
        if row.status == RefundStatus.SUCCEEDED:
            lines.append(RefundLine(row.amount_pence, REFUND_PAID, paid_at=row.updated_at))
        elif row.status == RefundStatus.PENDING:
            lines.append(RefundLine(row.amount_pence, REFUND_ON_ITS_WAY))
        else:
            lines.append(RefundLine(row.amount_pence, REFUND_BY_HAND))
    if booking.status == BookingStatus.CANCELLED and not booking.is_invoice_unpaid:
        # (An unpaid invoice is credited instead: its credit notes say so.)
        queued = booking.refund_due_pence - sum(row.amount_pence for row in rows)
        if queued > 0:
            lines.append(RefundLine(queued, REFUND_ON_ITS_WAY))
    return tuple(lines)


def _certificate_line(attendee: Attendee, today: date) -> CertificateLine:
    expires_on = attendee.certificate_expires_on
    return CertificateLine(full_name=attendee.full_name, number=attendee.certificate_number,
                           issued_on=attendee.certificate_issued_on, expires_on=expires_on,
                           attended=attendee.attended,
                           is_expired=expires_on is not None and expires_on < today)


def booking_standing(booking: Booking, now: datetime) -> BookingStanding:
    """The facts the manage page states about `booking` at `now`."""
    state = _state(booking, now)
    today = london(now).date()
    certificates = (tuple(_certificate_line(a, today) for a in booking.attendees)
                    if state == TOOK_PLACE else ())
    return BookingStanding(
        state=state,
        session_cancelled=booking.session.status == SessionStatus.CANCELLED,
        register_done=booking.session.status == SessionStatus.COMPLETED,
        is_paid=booking.confirmed_at is not None and not booking.is_invoice_unpaid,
        refund_due_pence=booking.refund_due_pence,
        refunds=_refund_lines(booking),
        certificates=certificates,
    )
