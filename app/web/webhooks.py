"""Provider webhooks.

    webhooks.stripe   POST /webhooks/stripe   (CSRF-exempt: Stripe signs instead)

The raw body and the ``Stripe-Signature`` header go to the payments service
untouched (the signature covers the exact bytes). Answers: 200 for an applied,
waiting, ignored or duplicate event; 400 for a bad signature (nothing
changed); 503 while the webhook breaker is open and 500 if applying failed
(Stripe retries both). Errors are JSON, from app.web.errors.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from app.services import payments

bp = Blueprint("webhooks", __name__)

# Stripe's events are a few kilobytes; refuse anything absurd before reading it.
MAX_BODY_BYTES = 1024 * 1024


@bp.post("/webhooks/stripe")
def stripe_webhook():
    if (request.content_length or 0) > MAX_BODY_BYTES:
        abort(413)
    outcome = payments.receive_webhook(request.get_data(cache=False),
                                       request.headers.get("Stripe-Signature"))
    return jsonify(received=True, id=outcome.event_id, type=outcome.event_type,
                   result=outcome.result)
