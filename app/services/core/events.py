"""Domain events through a transactional outbox.

A service that changes state calls `record_event(...)` inside its own
transaction: the event row and one delivery row per subscribed handler commit
with the change or not at all, so nothing is lost between the services
(booking, payments, notifications, documents, analytics) that it joins. The
dispatcher delivers them later, at least once, to handlers that must be
idempotent.

Handlers subscribe with the `@handles("BookingConfirmed", name="email.confirmation")`
decorator; `app.services.background.handlers` imports every handler module so that the
registry is complete before any event is recorded.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.models import OutboxDelivery, OutboxEvent
from app.repositories.outbox import OutboxRepository

# The events other parts of the system care about.
BOOKING_HELD = "BookingHeld"
BOOKING_CONFIRMED = "BookingConfirmed"
BOOKING_CANCELLED = "BookingCancelled"
HOLD_EXPIRED = "HoldExpired"
PAYMENT_FAILED = "PaymentFailed"
REFUND_ISSUED = "RefundIssued"
LATE_PAYMENT_REFUNDED = "LatePaymentRefunded"
SESSION_CHANGED = "SessionChanged"
SESSION_CANCELLED = "SessionCancelled"
ATTENDANCE_MARKED = "AttendanceMarked"
ALERT_RAISED = "AlertRaised"


@dataclass(frozen=True)
class Handler:
    name: str
    event_types: frozenset[str]
    func: Callable[[OutboxEvent], None]


_registry: dict[str, Handler] = {}


def handles(*event_types: str, name: str):
    """Register the decorated function as the handler `name` for these event types."""
    def decorator(func: Callable[[OutboxEvent], None]):
        _registry[name] = Handler(name=name, event_types=frozenset(event_types), func=func)
        return func
    return decorator


def handlers_for(event_type: str) -> list[Handler]:
    return [h for h in _registry.values() if event_type in h.event_types]


def get_handler(name: str) -> Handler | None:
    return _registry.get(name)


def record_event(event_type: str, aggregate_id: str | int, payload: dict | None = None) -> OutboxEvent:
    """Write an event and its deliveries in the caller's transaction (call inside unit_of_work)."""
    event = OutboxEvent(
        event_type=event_type,
        aggregate_id=str(aggregate_id),
        payload=payload or {},
        deliveries=[OutboxDelivery(handler=h.name) for h in handlers_for(event_type)],
    )
    return OutboxRepository().add(event)
