"""Seat holds, confirmation, expiry and capacity changes. (Cancelling, renaming
and moving a booking, for every audience, is app.services.bookings.manage.)

How overbooking is made impossible
----------------------------------
Every transaction that changes the seats of a session starts by UPDATE-ing
that session's row (bumping ``lock_version``, see ``SessionRepository.lock``)
and only then counts the seats taken and writes its booking:

* PostgreSQL (READ COMMITTED): the UPDATE takes a row lock held to commit, so
  seat changes on one session run one after another, and each statement after
  the lock sees every booking committed before it. Other sessions are not
  blocked, and readers never wait.
* SQLite (WAL, busy timeout): the UPDATE is the transaction's first write, so
  it takes the database's single writer lock, waiting under the busy timeout
  rather than failing; the driver starts the transaction at that statement, so
  nothing read earlier can be stale.

We chose the lock-then-count pattern over a counter column with a conditional
UPDATE because the bookings table stays the only record of who holds what:
an expired hold stops counting the moment its ``hold_expires_at`` passes (the
count filters on it), with no counter to repair when a cleanup job is late.
SERIALIZABLE with retries would also be correct on PostgreSQL but needs retry
loops everywhere and has no SQLite equivalent. The cost is that seat changes
on *one* session serialise, which for twelve-seat courses is no cost at all.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.models import Attendee, Booking, BookingStatus, CourseSession, SessionStatus, utcnow
from app.monitoring import metrics
from app.monitoring.tracing import traced
from app.repositories import BookingRepository, SessionRepository, unit_of_work
from app.repositories.locks import lock_names
from app.services.core import events
from app.services.core.errors import (
    InvalidInput, InvalidState, InvalidToken, NotFound, SeatsUnavailable, SessionNotBookable,
    TooManyHolds,
)
from app.services.core.tokens import check_manage_token, looks_like_token
from app.services import pricing
from app.services.pricing.price import GroupDiscount
from app.services.bookings import requalification
from app.services.realtime import announce
from app.validation import BookingRequest

# No 0/O, 1/I/L: references are read out over the phone.
# Manage links stop working this many days after the course ends (MANAGE_LINK_DAYS_AFTER_COURSE).
DEFAULT_MANAGE_LINK_DAYS_AFTER_COURSE = 42
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 10


@dataclass(frozen=True)
class BookingPolicy:
    """The rules a booking lives by, from configuration."""

    hold_minutes: int = 30
    max_seats: int = 12
    full_refund_days: int = 14
    no_refund_hours: int = 72
    name_change_cutoff_hours: int = 24
    # Open unpaid holds (and the seats in them) one client address or one contact email
    # may have at once; 0 = no limit. Far above what a customer needs: they stop one
    # visitor holding a catalogue's seats for nothing (see README "Security").
    hold_limit_per_client: int = 0
    hold_seats_limit_per_client: int = 0
    hold_limit_per_email: int = 0
    hold_seats_limit_per_email: int = 0
    # Keys the digest of a client address stored on a hold (never the address itself).
    client_key_secret: str = field(default="", repr=False)
    # A percentage off bookings of this many seats or more (app.services.pricing); 0 = none.
    group_discount_percent: int = 0
    group_discount_min_seats: int = 0
    # Days after a certificate's expiry that its holder may still book a requalification.
    requal_grace_days: int = 28

    @classmethod
    def from_config(cls, config: Mapping) -> "BookingPolicy":
        return cls(
            hold_minutes=config["HOLD_MINUTES"],
            max_seats=config["MAX_SEATS_PER_BOOKING"],
            full_refund_days=config["FULL_REFUND_DAYS"],
            no_refund_hours=config["NO_REFUND_HOURS"],
            name_change_cutoff_hours=config["NAME_CHANGE_CUTOFF_HOURS"],
            hold_limit_per_client=config.get("HOLD_LIMIT_PER_CLIENT", 0),
            hold_seats_limit_per_client=config.get("HOLD_SEATS_LIMIT_PER_CLIENT", 0),
            hold_limit_per_email=config.get("HOLD_LIMIT_PER_EMAIL", 0),
            hold_seats_limit_per_email=config.get("HOLD_SEATS_LIMIT_PER_EMAIL", 0),
            client_key_secret=config.get("SECRET_KEY") or "",
            group_discount_percent=config.get("GROUP_DISCOUNT_PERCENT", 0),
            group_discount_min_seats=config.get("GROUP_DISCOUNT_MIN_SEATS", 0),
            requal_grace_days=config.get("REQUAL_GRACE_DAYS", 28),
        )

    @property
    def group_discount(self) -> GroupDiscount:
        return GroupDiscount(self.group_discount_percent, self.group_discount_min_seats)

    def client_key(self, client_address: str) -> str:
        """The digest a hold stores for the address that asked for it."""
        return hmac.new(self.client_key_secret.encode("utf-8"),
                        b"hold-client:" + client_address.encode("utf-8"),
                        hashlib.sha256).hexdigest()

    def refund_due_pence(self, amount_pence: int, starts_at: datetime, now: datetime) -> int:
        """Full refund up to `full_refund_days` before the start, none inside
        `no_refund_hours`, half in between."""
        notice = starts_at - now
        if notice >= timedelta(days=self.full_refund_days):
            return amount_pence
        if notice < timedelta(hours=self.no_refund_hours):
            return 0
        return amount_pence // 2

    def can_change_names(self, starts_at: datetime, now: datetime) -> bool:
        return starts_at - now > timedelta(hours=self.name_change_cutoff_hours)


def new_reference() -> str:
    """An unguessable booking reference (about 50 bits of randomness)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def seats_available(course_session: CourseSession, now: datetime | None = None) -> int:
    """Seats that can still be held on a session right now."""
    taken = BookingRepository().seats_taken(course_session.id, now or utcnow())
    return max(0, course_session.capacity - taken)


def get_booking(reference: str) -> Booking:
    """The booking with this reference (spaces and letter case forgiven); NotFound
    for anything else, including text that cannot be a reference."""
    reference = (reference or "").strip().upper()
    if not reference.isalnum() or len(reference) > 16:
        raise NotFound("We could not find that booking.")
    booking = BookingRepository().get_by_reference(reference)
    if booking is None:
        raise NotFound("We could not find that booking.")
    return booking


def get_booking_by_link(reference: str, token: object, *, secret_key: str,
                        days_after_course: int = DEFAULT_MANAGE_LINK_DAYS_AFTER_COURSE,
                        now: datetime | None = None) -> Booking:
    """The booking a signed manage link opens.

    A link opens its booking while its token is signed for the booking's current
    link version and until `days_after_course` days after the course ends. A
    malformed token is refused before anything is read; an unknown reference, a
    wrong token, a link replaced by a newer one and an expired link all raise the
    same InvalidToken: no oracle for references or for which links once worked.
    """
    if not looks_like_token(token):
        raise InvalidToken()
    try:
        booking = get_booking(reference)
    except NotFound:
        raise InvalidToken() from None
    check_manage_token(reference, token, secret_key=secret_key,
                       version=booking.manage_link_version)
    if (now or utcnow()) >= booking.manage_link_expires_at(days_after_course):
        raise InvalidToken()
    return booking


@traced("booking.hold")
def hold_seats(request: BookingRequest, *, policy: BookingPolicy,
               client_address: str | None = None, now: datetime | None = None,
               private_token: str | None = None, staff: bool = False) -> Booking:
    """Hold one seat per attendee on a session until the hold expires.

    `client_address` is the customer's network address (the web layer's, behind
    trusted proxies); with it the hold counts against the policy's limits per client
    address and per contact email. Staff bookings pass none and are not limited.

    A private session is booked only with its private link's `private_token`
    (or by `staff`); without it the session is NotFound, as on its public pages.

    Raises NotFound, SessionNotBookable, InvalidInput, SeatsUnavailable
    (code sold_out or insufficient_seats) or TooManyHolds.
    """
    now = now or utcnow()
    seats = len(request.attendees)
    if not 1 <= seats <= policy.max_seats:
        raise InvalidInput(fields={"attendees": f"You can book 1 to {policy.max_seats} seats at once."})
    # Everything the caller reads of the new hold was written here, under the lock.
    with unit_of_work(keep_loaded=True):
        course_session = SessionRepository().lock_and_get(request.session_id)
        if course_session is None or not (staff or _opens(course_session, private_token)):
            raise NotFound("We could not find that session.", fields={"session_id": "Unknown session."})
        _check_bookable(course_session, now)
        prior_expiry = requalification.check_attendees(course_session, request.attendees,
                                                       grace_days=policy.requal_grace_days)
        client_key = policy.client_key(client_address) if client_address is not None else None
        if client_key is not None:
            _check_hold_limits(policy, client_key, request.contact.email, seats, now)
        available = course_session.capacity - BookingRepository().seats_taken(course_session.id, now)
        if seats > available:
            raise SeatsUnavailable(max(0, available), seats)
        price = pricing.price_hold(course_session, seats, code_text=request.discount_code,
                                   email=request.contact.email, group=policy.group_discount,
                                   now=now)
        booking = Booking(
            reference=new_reference(),
            session_id=course_session.id,
            contact_name=request.contact.name,
            contact_email=request.contact.email,
            contact_phone=request.contact.phone,
            contact_postcode=request.contact.postcode,
            company=request.contact.company,
            seats=seats,
            amount_pence=price.amount_pence,
            discount_pence=price.discount_pence,
            discount_code_id=price.code.id if price.code is not None else None,
            terms_accepted_at=now if request.terms_accepted else None,
            status=BookingStatus.HELD,
            hold_expires_at=now + timedelta(minutes=policy.hold_minutes),
            hold_client_key=client_key,
            attendees=[
                Attendee(position=i, full_name=a.name, email=a.email, access_needs=a.access_needs,
                         prior_certificate_expires_on=prior_expiry[i])
                for i, a in enumerate(request.attendees)
            ],
        )
        BookingRepository().add(booking)
        events.record_event(events.BOOKING_HELD, booking.reference, event_payload(booking))
        metrics.count_booking(BookingRepository().session, "held", seats)
        announce.announce_seats_changed(course_session.id, seats_available=available - seats)
    return booking


def _check_hold_limits(policy: BookingPolicy, client_key: str, email: str, seats: int,
                       now: datetime) -> None:
    """Refuse a hold that would take this client address or email over its limits.
    Counted in the database (every process agrees) after locking their names, so two
    holds racing from one client cannot both slip under the limit. Only limits in
    force are locked: every hold from one address (an office behind one router)
    waits for that address's lock."""
    candidates = (
        (policy.hold_limit_per_client, policy.hold_seats_limit_per_client,
         f"hold-client:{client_key}", {"client_key": client_key}),
        (policy.hold_limit_per_email, policy.hold_seats_limit_per_email,
         f"hold-email:{email.strip().lower()}", {"email": email}),
    )
    limits = [limit for limit in candidates if limit[0] or limit[1]]
    lock_names([name for _, _, name, _ in limits])
    bookings = BookingRepository()
    for holds_limit, seats_limit, _name, who in limits:
        holds, seats_held, earliest = bookings.open_holds(now, **who)
        if (holds_limit and holds + 1 > holds_limit) or \
                (seats_limit and seats_held + seats > seats_limit):
            wait = (earliest - now).total_seconds() if earliest is not None else 60
            raise TooManyHolds(math.ceil(wait))


def event_payload(booking: Booking, **extra) -> dict:
    """What every booking event carries, plus `extra`."""
    return {"reference": booking.reference, "session_id": booking.session_id,
            "seats": booking.seats, "amount_pence": booking.amount_pence, **extra}


def _opens(course_session: CourseSession, private_token: str | None) -> bool:
    """Whether a customer may book this session: any listed one; a private one
    only with the token of its private link."""
    if course_session.is_listed:
        return True
    return (private_token is not None and course_session.private_token is not None
            and hmac.compare_digest(private_token.encode("utf-8", "replace"),
                                    course_session.private_token.encode("utf-8")))


def _check_bookable(course_session: CourseSession, now: datetime) -> None:
    if course_session.status != SessionStatus.SCHEDULED:
        raise SessionNotBookable("This session has been cancelled." if
                                 course_session.status == SessionStatus.CANCELLED else None)
    if course_session.starts_at <= now:
        raise SessionNotBookable("This session has already started.")
    course = course_session.course
    if not course.is_active or course.deleted_at is not None:
        raise SessionNotBookable()


def lock_booking(reference: str) -> Booking:
    """Take the seat lock of the booking's session, then read the booking fresh
    (call inside unit_of_work)."""
    booking = get_booking(reference)
    SessionRepository().lock_and_get(booking.session_id)
    return BookingRepository().refresh(booking)


@traced("booking.confirm", arguments={"booking.reference": "reference"})
def confirm_booking(reference: str, *, now: datetime | None = None,
                    payment_note: str | None = None) -> Booking:
    """Confirm a paid booking. Confirming twice is harmless.

    A payment that lands after its hold expired still confirms if the seats
    are free; otherwise SeatsUnavailable is raised and the caller refunds.
    """
    now = now or utcnow()
    with unit_of_work():
        booking = lock_booking(reference)
        if booking.status == BookingStatus.CONFIRMED:
            return booking
        if booking.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
            raise InvalidState(f"A {booking.status.value} booking cannot be confirmed.")
        hold_is_live = booking.hold_is_live(now)
        if not hold_is_live:
            taken = BookingRepository().seats_taken(booking.session_id, now, excluding=booking.id)
            available = booking.session.capacity - taken
            if booking.seats > available:
                raise SeatsUnavailable(max(0, available), booking.seats)
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
        booking.hold_expires_at = None
        if payment_note:
            booking.payment_note = payment_note
        events.record_event(events.BOOKING_CONFIRMED, booking.reference,
                            event_payload(booking, late=not hold_is_live))
        metrics.count_booking(BookingRepository().session, "confirmed", booking.seats)
        announce.announce_seats_changed(booking.session_id)
    return booking


def expire_holds(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Mark holds past their expiry as expired; safe to run twice or concurrently.

    Expired holds already stop counting the moment they pass their expiry;
    this only tidies their status. Returns how many were expired.
    """
    now = now or utcnow()
    bookings = BookingRepository()
    expired = 0
    while True:
        with unit_of_work():
            stale = bookings.stale_holds(now, limit=batch_size)
            for booking in stale:
                # Conditional per row: a concurrent run or a late confirmation wins cleanly.
                if bookings.mark_expired([booking.id], now):
                    expired += 1
                    events.record_event(events.HOLD_EXPIRED, booking.reference,
                                        event_payload(booking))
                    metrics.count_booking(bookings.session, "expired", booking.seats)
                    announce.announce_seats_changed(booking.session_id)
        if len(stale) < batch_size:
            return expired


def change_capacity(session_id: int, capacity: int, *, now: datetime | None = None) -> CourseSession:
    """Set a session's capacity; never below the seats already taken."""
    now = now or utcnow()
    with unit_of_work():
        course_session = SessionRepository().lock_and_get(session_id)
        if course_session is None:
            raise NotFound("We could not find that session.")
        taken = BookingRepository().seats_taken(session_id, now)
        if capacity < max(1, taken):
            message = (f"{taken} seats are already taken; capacity cannot go below that."
                       if taken else "Capacity must be at least 1.")
            raise InvalidInput(message, fields={"capacity": message})
        previous, course_session.capacity = course_session.capacity, capacity
        if capacity > previous:  # seats freed: the waiting list hears of it
            events.record_event(events.SESSION_CAPACITY_CHANGED, session_id, {
                "session_id": session_id, "capacity": capacity, "previous": previous})
        announce.announce_seats_changed(session_id)
    return course_session
