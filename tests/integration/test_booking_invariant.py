"""Property: whatever happens, held (unexpired) + confirmed seats never exceed capacity."""
from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from app.extensions import db
from app.models import Booking, BookingStatus, utcnow
from app.services.bookings import holds as svc
from app.services.bookings import manage
from app.services.core.errors import DomainError, InvalidState, SeatsUnavailable

from factories import SessionFactory, booking_request

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=5)


class SeatLedger(RuleBasedStateMachine):
    """Random holds, confirmations, cancellations, expiries, clock jumps and capacity changes."""

    @initialize(capacity=st.integers(1, 8))
    def open_session(self, capacity):
        self.now = utcnow()
        self.session_id = SessionFactory(capacity=capacity,
                                         starts_at=self.now + timedelta(days=60)).id
        self.references: list[str] = []

    @rule(seats=st.integers(1, 5))
    def hold(self, seats):
        try:
            booking = svc.hold_seats(booking_request(self.session_id, seats), policy=POLICY,
                                     now=self.now)
        except SeatsUnavailable as exc:
            assert exc.seats_available < seats
        else:
            self.references.append(booking.reference)

    @rule(pick=st.integers(0, 100))
    def confirm(self, pick):
        if self.references:
            try:
                svc.confirm_booking(self.references[pick % len(self.references)], now=self.now)
            except (SeatsUnavailable, InvalidState):
                pass

    @rule(pick=st.integers(0, 100))
    def cancel(self, pick):
        if self.references:
            try:
                manage.cancel_booking(self.references[pick % len(self.references)],
                                      actor=manage.Actor.customer(), policy=POLICY, now=self.now)
            except InvalidState:
                pass

    @rule(minutes=st.integers(1, 45))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule()
    def cleanup_job(self):
        svc.expire_holds(now=self.now)

    @rule(capacity=st.integers(1, 10))
    def change_capacity(self, capacity):
        try:
            svc.change_capacity(self.session_id, capacity, now=self.now)
        except DomainError:
            pass

    @invariant()
    def never_overbooked(self):
        if not hasattr(self, "session_id"):
            return
        db.session.expire_all()
        bookings = db.session.scalars(
            db.select(Booking).where(Booking.session_id == self.session_id)).all()
        taken = sum(b.seats for b in bookings
                    if b.status == BookingStatus.CONFIRMED
                    or (b.status == BookingStatus.HELD and b.hold_expires_at > self.now))
        capacity = bookings[0].session.capacity if bookings else None
        if capacity is not None:
            assert taken <= capacity, f"{taken} seats taken of {capacity}"


def test_random_sequences_never_overbook(app):
    SeatLedger.TestCase.settings = settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    SeatLedger.TestCase().runTest()
