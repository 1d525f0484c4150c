"""Waiting-list offers that hold seats.

An offer IS a hold
------------------
When seats free up, the first entries on the session's list that fit are
offered them, and an offer is a Booking in the held state made for the entry
(contact name and email from the entry, no attendees yet), created under the
same session row lock as every hold (app.services.bookings.holds), with a
longer expiry. So:

* The seats are taken the moment the offer is made, by the one rule that counts
  seats everywhere (``Booking.occupies_seats``): ``seats_available``, the
  booking form, the API and the WebSocket live counts all see them as taken,
  and nobody else can hold them.
* "Never offer one seat twice" and "never overbook" are the hold invariant
  itself: offers are made by counting the free seats after taking the session's
  lock, exactly like ``hold_seats``, so two frees handled at once offer
  serially, each after seeing the other's offers.
* An unanswered offer expires like any hold (its expiry stops it counting; the
  expire-holds job marks it expired and records HoldExpired), and a declined
  one is closed at once; either way the seats are free and offered on.

We chose this over a separate "offered seats" count (a second table the seat
rule would have to add up, in SQL and in the live counts) because that would
make the invariant two rules that must always agree.

When offers are made: one place
-------------------------------
`settle_and_offer(session_id)` is the only code that makes automatic offers.
It runs as the outbox handler ``waitlist.offer_freed_seats`` for every event
that can free seats on a session (HoldExpired, BookingCancelled,
BookingTransferred (its source session), SessionCapacityChanged,
WaitlistOfferDeclined) and for BookingConfirmed, which only settles an offer
that was paid (it frees nothing, so it offers nothing). A refund is money only and frees no seat; a refunded booking was
cancelled first. The handler is idempotent (it recounts under the lock), so
at-least-once delivery and duplicate events offer nothing twice. Between a
seat freeing and the handler running (seconds, or until the next expire-holds
run for a lapsed hold) the seat is on open sale; that is the price of keeping
the rule in one place rather than in every service that frees seats.

How long an offer lasts
-----------------------
``WAITLIST_OFFER_HOURS`` (default 12), but at most a quarter of the time left
before the course starts (24 hours before: 6 hours; 2 hours before: 30
minutes), at least ``HOLD_MINUTES``, and never past the start
(`OfferPolicy.offer_expiry`). Automatic offers are made only while the
``WAITLIST_ENABLED`` switch is on; staff can always offer by hand.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from itsdangerous import Signer

from app.models import (
    Attendee, Booking, BookingStatus, CourseSession, OutboxEvent, SessionStatus, WaitlistEntry,
    WaitlistStatus, utcnow,
)
from app.monitoring import metrics
from app.repositories import BookingRepository, SessionRepository, unit_of_work
from app.repositories.admin import WaitlistRepository
from app.services.bookings.holds import event_payload, new_reference
from app.services.core import events, links, switches
from app.services.core.audit import record_audit, snapshot
from app.services.core.errors import InvalidInput, InvalidState, InvalidToken
from app.services.core.installed import Installed
from app.services.core.tokens import looks_like_token
from app.services.realtime import announce
from app.validation import BookingRequest

DEFAULT_OFFER_HOURS = 12
AUDITED_FIELDS = ("session_id", "name", "email", "phone", "seats", "status", "offered_at",
                  "offer_expires_at", "booking_id")


@dataclass(frozen=True)
class OfferPolicy:
    """How long offers last, and the key that signs offer and leave links."""

    offer_hours: int = DEFAULT_OFFER_HOURS
    hold_minutes: int = 30
    secret_key: str = field(default="", repr=False)

    @classmethod
    def from_config(cls, config: Mapping) -> "OfferPolicy":
        return cls(offer_hours=int(config.get("WAITLIST_OFFER_HOURS", DEFAULT_OFFER_HOURS)),
                   hold_minutes=int(config.get("HOLD_MINUTES", 30)),
                   secret_key=config.get("SECRET_KEY") or "")

    def offer_expiry(self, starts_at: datetime, now: datetime, *,
                     hours: int | None = None) -> datetime:
        """`hours` (default offer_hours), at most a quarter of the time left before
        the start, at least hold_minutes, never past the start."""
        length = min(timedelta(hours=hours or self.offer_hours), (starts_at - now) / 4)
        length = max(length, timedelta(minutes=self.hold_minutes))
        return min(now + length, starts_at)

    # -- signed links: an offer link names its hold, so a newer offer retires it --
    def _signer(self, salt: str) -> Signer:
        return Signer(self.secret_key, salt=salt, digest_method=hashlib.sha256)

    def offer_token(self, entry_id: int, reference: str) -> str:
        return self._signer("waitlist-offer").get_signature(
            f"{entry_id}.{reference}").decode("ascii")

    def leave_token(self, entry_id: int) -> str:
        return self._signer("waitlist-leave").get_signature(str(entry_id)).decode("ascii")



def token_matches(token: object, expected: str) -> bool:
    """A constant-time comparison of a presented token with the expected one."""
    return looks_like_token(token) and hmac.compare_digest(
        expected.encode("ascii"), token.encode("utf-8", "replace"))


_policy: Installed[OfferPolicy] = Installed("waiting-list offer policy")
install = _policy.install


def policy() -> OfferPolicy:
    return _policy.get()


def offer_url(entry: WaitlistEntry, reference: str) -> str:
    return links.current().url("waitlist.offer", entry_id=entry.id,
                               token=policy().offer_token(entry.id, reference))


def leave_url(entry: WaitlistEntry) -> str:
    return links.current().url("waitlist.leave", entry_id=entry.id,
                               token=policy().leave_token(entry.id))


# -- the one rule ------------------------------------------------------------------------
def _is_bookable(course_session: CourseSession, now: datetime) -> bool:
    course = course_session.course
    return (course_session.status == SessionStatus.SCHEDULED and course_session.starts_at > now
            and course.is_active and course.deleted_at is None)


def settle(entries: list[WaitlistEntry], now: datetime) -> None:
    """Mark offered entries whose hold was paid as booked and whose hold ended as
    lapsed (call under the session's lock)."""
    for entry in entries:
        outcome = entry.offer_outcome(now)
        if outcome != entry.status:
            entry.status = outcome


def free_seats(course_session: CourseSession, now: datetime) -> int:
    """Seats nobody holds: counted under the session's lock by the hold rule."""
    return course_session.capacity - BookingRepository().seats_taken(course_session.id, now)


def hold_for(entry: WaitlistEntry, course_session: CourseSession, now: datetime, *,
             hours: int | None = None, actor_id: int | None = None) -> Booking:
    """Offer `entry` its seats: hold them in a booking of its own and email the
    offer link. Call under the session's lock, with the seats counted free."""
    before = snapshot(entry, AUDITED_FIELDS)
    expires_at = policy().offer_expiry(course_session.starts_at, now, hours=hours)
    booking = BookingRepository().add(Booking(
        reference=new_reference(), session_id=course_session.id,
        contact_name=entry.name, contact_email=entry.email, contact_phone=entry.phone or "",
        contact_postcode="", seats=entry.seats,
        amount_pence=entry.seats * course_session.price_pence,
        status=BookingStatus.HELD, hold_expires_at=expires_at, attendees=[]))
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.offer_expires_at = expires_at
    entry.booking_id = booking.id
    entry.booking = booking
    WaitlistRepository().flush()
    events.record_event(events.WAITLIST_OFFER_MADE, entry.id, {
        "entry_id": entry.id, "email": entry.email, "name": entry.name,
        "session_id": entry.session_id, "seats": entry.seats, "reference": booking.reference,
        "offer_url": offer_url(entry, booking.reference), "leave_url": leave_url(entry),
        "expires_at": expires_at.isoformat(),
    })
    metrics.count_booking(BookingRepository().session, "held", booking.seats)
    record_audit(actor_id, "waitlist.offer", "waitlist", entry.id,
                 before=before, after=snapshot(entry, AUDITED_FIELDS))
    return booking


def settle_and_offer(session_id: int, *, now: datetime | None = None,
                     make_offers: bool = True) -> list[WaitlistEntry]:
    """Under the session's seat lock: settle ended offers, then (`make_offers`) offer
    the free seats to the waiting entries in order, each one whose request fits what
    is left. Returns the entries offered seats now."""
    now = now or utcnow()
    with unit_of_work():
        course_session = SessionRepository().lock_and_get(session_id)
        if course_session is None:
            return []
        entries = WaitlistRepository().for_session(session_id)
        settle(entries, now)
        if not make_offers or not entries or not _is_bookable(course_session, now) \
                or not switches.is_on("WAITLIST_ENABLED"):
            return []
        free = free_seats(course_session, now)
        offered = []
        for entry in entries:
            if free <= 0:
                break
            if entry.status == WaitlistStatus.WAITING and entry.seats <= free:
                hold_for(entry, course_session, now)
                free -= entry.seats
                offered.append(entry)
        if offered:
            announce.announce_seats_changed(session_id)
    return offered


handlers = events.HandlerSet()

# Every event after which a session's list may need settling or its free seats offering.
OFFER_TRIGGERS = (events.HOLD_EXPIRED, events.BOOKING_CANCELLED, events.BOOKING_TRANSFERRED,
                  events.SESSION_CAPACITY_CHANGED, events.WAITLIST_OFFER_DECLINED,
                  events.BOOKING_CONFIRMED)


@handlers.on(*OFFER_TRIGGERS, name="waitlist.offer_freed_seats")
def offer_freed_seats(event: OutboxEvent) -> None:
    """Outbox handler: settle the session's list and offer its free seats."""
    payload = event.payload or {}
    session_id = payload.get("from_session_id") or payload.get("session_id")
    if isinstance(session_id, int) or (isinstance(session_id, str) and session_id.isdigit()):
        # A confirmation frees nothing: it only settles an offer that was paid.
        settle_and_offer(int(session_id),
                         make_offers=event.event_type != events.BOOKING_CONFIRMED)


# -- the customer's side of an offer --------------------------------------------------------
@dataclass(frozen=True)
class Offer:
    entry: WaitlistEntry
    booking: Booking
    is_live: bool

    @property
    def details_given(self) -> bool:
        return bool(self.booking.attendees)


def _check_offer_token(entry: WaitlistEntry | None, token: object) -> WaitlistEntry:
    if entry is None or entry.booking is None or \
            not token_matches(token, policy().offer_token(entry.id, entry.booking.reference)):
        raise InvalidToken()
    return entry


def get_offer(entry_id: int, token: object, *, now: datetime | None = None) -> Offer:
    """The offer a signed offer link opens; InvalidToken for anything else (an
    unknown entry and a wrong token answer alike)."""
    if not looks_like_token(token):
        raise InvalidToken()
    entry = _check_offer_token(WaitlistRepository().get(entry_id), token)
    now = now or utcnow()
    return Offer(entry, entry.booking, entry.offer_outcome(now) == WaitlistStatus.OFFERED)


def _locked_offer(entry_id: int, token: object, now: datetime) -> tuple[WaitlistEntry, Booking]:
    entry = _check_offer_token(WaitlistRepository().get(entry_id), token)
    SessionRepository().lock_and_get(entry.session_id)
    entry = WaitlistRepository().refresh(entry)
    booking = BookingRepository().refresh(entry.booking)
    return entry, booking


def take_offer(entry_id: int, token: object, request: BookingRequest, *,
               hold_minutes: int = 30, now: datetime | None = None) -> Booking:
    """The booking form, filled in on an offer: the held seats become this
    booking's, with its contact details and one attendee per held seat, ready to
    pay. The hold is kept at least `hold_minutes` from now (never past the
    start) so that filling in the form never loses the seats.

    InvalidState if the offer has ended (lapsed, declined, or paid already);
    InvalidInput at `attendees` for a different number of seats than held."""
    now = now or utcnow()
    with unit_of_work():
        entry, booking = _locked_offer(entry_id, token, now)
        if booking.status == BookingStatus.CONFIRMED:
            raise InvalidState("These seats are booked and paid for already.")
        if entry.status != WaitlistStatus.OFFERED or not booking.hold_is_live(now):
            raise InvalidState("Sorry, this offer has ended and the seats have gone to the "
                               "next person waiting.")
        if len(request.attendees) != booking.seats:
            noun = "seat" if booking.seats == 1 else "seats"
            message = f"This offer holds {booking.seats} {noun}: name one attendee per seat."
            raise InvalidInput(message, fields={"attendees": message})
        contact = request.contact
        booking.contact_name, booking.contact_email = contact.name, contact.email
        booking.contact_phone, booking.contact_postcode = contact.phone, contact.postcode
        booking.company = contact.company
        booking.amount_pence = booking.seats * booking.session.price_pence
        if request.terms_accepted:
            booking.terms_accepted_at = now
        booking.attendees = [Attendee(position=i, full_name=a.name, email=a.email,
                                      access_needs=a.access_needs)
                             for i, a in enumerate(request.attendees)]
        keep_until = min(now + timedelta(minutes=hold_minutes), booking.session.starts_at)
        booking.hold_expires_at = max(booking.hold_expires_at, keep_until)
        entry.offer_expires_at = booking.hold_expires_at
        events.record_event(events.BOOKING_HELD, booking.reference,
                            event_payload(booking, waitlist_entry_id=entry.id))
    return booking


def give_back(entry: WaitlistEntry, booking: Booking | None, now: datetime,
              status: WaitlistStatus) -> bool:
    """Close an entry (under the session's lock); a live offer's hold is ended and
    its seats go on to the next entry. True if seats were given back."""
    entry.status = status
    if booking is None or not booking.hold_is_live(now):
        return False
    booking.status = BookingStatus.EXPIRED
    booking.hold_expires_at = now
    events.record_event(events.WAITLIST_OFFER_DECLINED, entry.id, {
        "entry_id": entry.id, "session_id": entry.session_id, "seats": booking.seats})
    announce.announce_seats_changed(entry.session_id)
    return True


def decline_offer(entry_id: int, token: object, *, now: datetime | None = None) -> WaitlistEntry:
    """"No thanks": the held seats go to the next entry that fits. Harmless twice;
    InvalidState once the seats are paid for."""
    now = now or utcnow()
    with unit_of_work():
        entry, booking = _locked_offer(entry_id, token, now)
        if booking.status == BookingStatus.CONFIRMED:
            raise InvalidState("These seats are booked and paid for already: cancel the "
                               "booking from its manage link instead.")
        if entry.status == WaitlistStatus.OFFERED:
            give_back(entry, booking, now, WaitlistStatus.DECLINED)
    return entry
