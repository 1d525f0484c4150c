"""Joining a session's waiting list through the API.

    POST /api/v1/sessions/<id>/waitlist  {"name", "email", "seats"}
      201 {"position", "seats", "leave_url"}  joined
      200 (the same body)                      this email is on the list already
      409 seats_available                      the seats are free now: book them
      404 waitlist_disabled                    the public waiting list is switched off
"""
from __future__ import annotations

from flask import current_app, jsonify

from app.services.bookings import waitlist as waitlist_service
from app.web.api import bp
from app.web.api.body import json_object


@bp.post("/sessions/<id:session_id>/waitlist")
def join_waitlist(session_id: int):
    body = json_object()
    joined = waitlist_service.join(session_id, body,
                                   max_seats=current_app.config["MAX_SEATS_PER_BOOKING"])
    response = jsonify({"position": joined.position, "seats": joined.entry.seats,
                        "leave_url": joined.leave_url})
    response.status_code = 201 if joined.is_new else 200
    return response
