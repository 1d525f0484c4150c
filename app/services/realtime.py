"""Live seat counts (stub: the WebSocket issue fills this in).

`announce_seats_changed(session_id)` is called by the booking service inside
the transaction that changed the seats; the announcement must go out only
after that transaction commits, and never for one that rolls back.
"""
from __future__ import annotations


def announce_seats_changed(session_id: int) -> None:
    """Queue a seat-count broadcast for `session_id`, sent after commit."""
