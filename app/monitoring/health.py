"""Readiness: can this process serve bookings right now?"""
from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.services.payments.runtime import breaker_states


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # any database failure means not ready
        return False
    finally:
        db.session.rollback()


def readiness() -> tuple[bool, dict]:
    """(ready, checks). Without the database we are not ready; an open payment
    breaker only degrades us (seats are still held and customers told)."""
    checks: dict = {"database": "ok" if database_ok() else "unavailable"}
    breakers = breaker_states()
    checks["breakers"] = breakers
    ready = checks["database"] == "ok"
    status = "ok" if all(s == "closed" for s in breakers.values()) else "degraded"
    checks["status"] = status if ready else "unavailable"
    return ready, checks
