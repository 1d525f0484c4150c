"""Domain errors raised by services and mapped to responses in one place (app.web.errors).

Each carries a stable machine `code`, a sentence for people and the HTTP
status it stands for, so the web layer never has to guess.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400
    message = "Something went wrong with that request."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "We could not find that."


class InvalidInput(DomainError):
    code = "validation_error"
    status = 422
    message = "Some of the details need correcting."


class SeatsUnavailable(DomainError):
    """Not enough seats; `code` is sold_out (none left) or insufficient_seats."""

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


class SessionNotBookable(DomainError):
    code = "session_not_bookable"
    status = 409
    message = "This session can no longer be booked."


class HoldExpired(DomainError):
    code = "hold_expired"
    status = 409
    message = "Your seats were held for a limited time and the hold has expired."


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409
    message = "That cannot be done to this booking now."


class InvalidToken(DomainError):
    code = "invalid_token"
    status = 403
    message = "This link is not valid. Please use the link from your confirmation email."


class IdempotencyConflict(DomainError):
    code = "idempotency_key_reused"
    status = 422
    message = "This Idempotency-Key was already used with a different request body."


class PaymentUnavailable(DomainError):
    code = "payment_unavailable"
    status = 503
    message = "Card payments are paused for a moment."
