"""Domain errors raised by services and mapped to responses in one place (app.web.errors).

Each carries a stable machine `code`, a sentence for people, the HTTP
status it stands for, and its category and severity in the error taxonomy
(app.monitoring.errors), so the web layer never has to guess.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "error"
    # Where it sits in the error taxonomy (app.monitoring.errors) and how loud it is.
    category = "validation"
    severity = "info"
    status = 400
    message = "Something went wrong with that request."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}


class NotFound(DomainError):
    category, severity = "not_found", "info"
    code = "not_found"
    status = 404
    message = "We could not find that."


class InvalidInput(DomainError):
    category, severity = "validation", "info"
    code = "validation_error"
    status = 422
    message = "Some of the details need correcting."


class SeatsUnavailable(DomainError):
    """Not enough seats; `code` is sold_out (none left) or insufficient_seats."""

    category, severity = "conflict", "info"
    status = 409

    def __init__(self, seats_available: int, seats_requested: int):
        self.seats_available = seats_available
        self.seats_requested = seats_requested
        if seats_available <= 0:
            self.code = "sold_out"
            message = "Sorry, this session is fully booked."
        else:
            self.code = "insufficient_seats"
            noun = "seat is" if seats_available == 1 else "seats are"
            message = f"Only {seats_available} {noun} left on this session."
        super().__init__(message)


class SeatsAvailable(DomainError):
    """Someone asked to wait for seats that are free now: book them instead."""

    category, severity = "conflict", "info"
    code = "seats_available"
    status = 409
    message = "Those seats are free now, so there is no need to wait: book them instead."


class SessionNotBookable(DomainError):
    category, severity = "conflict", "info"
    code = "session_not_bookable"
    status = 409
    message = "This session can no longer be booked."


class HoldExpired(DomainError):
    category, severity = "conflict", "info"
    code = "hold_expired"
    status = 409
    message = "Your seats were held for a limited time and the hold has expired."


class InvalidState(DomainError):
    category, severity = "conflict", "info"
    code = "invalid_state"
    status = 409
    message = "That cannot be done to this booking now."


class InvalidToken(DomainError):
    category, severity = "permission", "warning"
    code = "invalid_token"
    status = 403
    message = ("This link is not valid or has expired. Please use the link in your latest "
               "booking email, or ask us for a new one.")


class IdempotencyConflict(DomainError):
    category, severity = "conflict", "info"
    code = "idempotency_key_reused"
    status = 422
    message = "This Idempotency-Key was already used with a different request body."


class PaymentUnavailable(DomainError):
    category, severity = "payment", "warning"
    code = "payment_unavailable"
    status = 503
    message = "Card payments are paused for a moment."


class TooManyHolds(DomainError):
    """One client address or email already holds as many unpaid seats as the policy
    allows; `retry_after_seconds` is when the oldest of those holds expires."""

    category, severity = "rate_limited", "warning"
    code = "too_many_holds"
    status = 429
    message = ("You already have seats held and waiting for payment. Please pay for or "
               "cancel those bookings, or try again when their holds expire.")

    def __init__(self, retry_after_seconds: int, message: str | None = None):
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__(message)
