"""Bookings: seat holds, confirmation, managing a booking (cancel, rename, transfer, refund rules), idempotency, waiting lists. Serves customers, the API, admins and jobs alike."""
