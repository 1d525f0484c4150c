"""Imports every module that registers outbox event handlers, so that the
registry is complete before any event is recorded (create_app imports this).

Add a line here for each new module that uses ``@events.handles(...)``.
"""
from app.services.messaging import notifications  # noqa: F401  (emails for bookings, payments, alerts)
from app.services.messaging import staff_emails  # noqa: F401  (the staff password reset email)
from app.services.bookings import office  # noqa: F401  (emails for admin transfers and resends)
