"""Domain events through a transactional outbox.

A service that changes state calls `record_event(...)` inside its own
transaction: the event row and one delivery row per subscribed handler commit
with the change or not at all, so nothing is lost between the services
(booking, payments, notifications, documents, analytics) that it joins. The
dispatcher delivers them later, at least once, to handlers that must be
idempotent.

Registration is explicit, like Flask's blueprints: a module declares its
handlers on a `HandlerSet` of its own (``handlers = HandlerSet()``, then
``@handlers.on("BookingConfirmed", name="email.booking_confirmed")``), which
registers nothing; the app factory adds each module's set to `registry`
(``register_event_handlers`` in app/__init__.py), so that the registry is
complete before any event is recorded, in the web processes and in the worker
alike. Every event name is defined here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from app.models import OutboxDelivery, OutboxEvent
from app.monitoring.tracing import trace_carrier
from app.repositories.outbox import OutboxRepository

# The events other parts of the system care about.
BOOKING_HELD = "BookingHeld"
BOOKING_CONFIRMED = "BookingConfirmed"
BOOKING_CANCELLED = "BookingCancelled"
HOLD_EXPIRED = "HoldExpired"
# Staff moved a booking to another session; payload {"reference", "seats",
# "was_confirmed", "from_session_id", "to_session_id", "from" and "to" (each
# {"session_id", "starts_at", "ends_at" (ISO 8601 UTC), "venue", "town"})}.
BOOKING_TRANSFERRED = "BookingTransferred"
# Staff asked for the confirmation email again; payload {"reference", "requested_by"}.
CONFIRMATION_RESEND_REQUESTED = "ConfirmationResendRequested"
# The booking's manage link was reissued (earlier links revoked); payload
# {"reference", "version", "requested_by"} (requested_by None: the customer asked).
MANAGE_LINK_REISSUED = "ManageLinkReissued"
# Someone asked on "find my booking" for the link of booking `reference`; payload
# {"reference", "email_digest"} (the address asked with, hashed). Recorded whether or not
# the two match; only the handler looks, and emails the booking's current link on a match.
MANAGE_LINK_REQUESTED = "ManageLinkRequested"
PAYMENT_FAILED = "PaymentFailed"
# A booking's invoice was issued (payment due); payload {"invoice_number", "reference",
# "gross_pence", "due_on" (ISO date)}.
INVOICE_ISSUED = "InvoiceIssued"
REFUND_ISSUED = "RefundIssued"
LATE_PAYMENT_REFUNDED = "LatePaymentRefunded"
# A payment queued while card payments were paused can now be made; payload
# {"reference", "amount_pence", "hold_expires_at", "contact_name", "contact_email"}.
PAYMENT_LINK_READY = "PaymentLinkReady"
SESSION_CHANGED = "SessionChanged"
SESSION_CANCELLED = "SessionCancelled"
SESSION_COMPLETED = "SessionCompleted"
# Staff emailed a message to everyone booked on a session: one event per booking, so each
# recipient is one outbox delivery; payload {"message_id", "recipient_id", "reference",
# "session_id", "subject"}.
SESSION_MESSAGE_SENT = "SessionMessageSent"
ATTENDANCE_MARKED = "AttendanceMarked"
CERTIFICATE_ISSUED = "CertificateIssued"
# Staff asked for a certificate email again; payload {"certificate_number", "reference",
# "requested_by"}.
CERTIFICATE_RESEND_REQUESTED = "CertificateResendRequested"
# payload {"entry_id", "email", "name", "session_id", "seats", "reference" (the hold that
# is the offer), "offer_url", "leave_url", "expires_at" (ISO 8601 UTC)}.
WAITLIST_OFFER_MADE = "WaitlistOfferMade"
# An offer's seats were given back (declined, or the person left the list); payload
# {"entry_id", "session_id", "seats"}.
WAITLIST_OFFER_DECLINED = "WaitlistOfferDeclined"
# Staff changed a session's capacity; payload {"session_id", "capacity", "previous"}.
SESSION_CAPACITY_CHANGED = "SessionCapacityChanged"
# Someone asked for training at their own site; payload {"enquiry_id"}.
ENQUIRY_RECEIVED = "EnquiryReceived"
# Staff emailed an answer to an enquiry; payload {"enquiry_id", "reply_id"}.
ENQUIRY_ANSWERED = "EnquiryAnswered"
PASSWORD_RESET_REQUESTED = "PasswordResetRequested"
ALERT_RAISED = "AlertRaised"


@dataclass(frozen=True)
class Handler:
    name: str
    event_types: frozenset[str]
    func: Callable[[OutboxEvent], None]


class HandlerSet:
    """The handlers one module declares; collecting them registers nothing."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def on(self, *event_types: str, name: str):
        """Declare the decorated function as the handler `name` for these event types."""
        def decorator(func: Callable[[OutboxEvent], None]):
            self._handlers.append(Handler(name=name, event_types=frozenset(event_types),
                                          func=func))
            return func
        return decorator

    def __iter__(self) -> Iterator[Handler]:
        return iter(self._handlers)


class HandlerRegistry:
    """The handlers events are delivered to, by name (a delivery row stores the name)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, handlers: Iterable[Handler]) -> None:
        """Add handlers; adding the same one again (another app in the process) is a no-op,
        but two different functions under one name are refused."""
        for handler in handlers:
            known = self._handlers.get(handler.name)
            if known is not None and known != handler:
                raise ValueError(f"two outbox handlers are named {handler.name!r}")
            self._handlers[handler.name] = handler

    def unregister(self, *names: str) -> None:
        for name in names:
            self._handlers.pop(name, None)

    def names(self) -> set[str]:
        return set(self._handlers)

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def handlers_for(self, event_type: str) -> list[Handler]:
        return [h for h in self._handlers.values() if event_type in h.event_types]


# One per process: record_event (any service) and the dispatcher (web or worker process)
# read it; only the app factory fills it.
registry = HandlerRegistry()


def record_event(event_type: str, aggregate_id: str | int, payload: dict | None = None) -> OutboxEvent:
    """Write an event and its deliveries in the caller's transaction (call inside unit_of_work)."""
    event = OutboxEvent(
        event_type=event_type,
        aggregate_id=str(aggregate_id),
        payload=payload or {},
        trace_context=trace_carrier(),
        deliveries=[OutboxDelivery(handler=handler.name)
                    for handler in registry.handlers_for(event_type)],
    )
    return OutboxRepository().add(event)
