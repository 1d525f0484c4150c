"""Provider webhooks.

    webhooks.stripe   POST /webhooks/stripe   (CSRF-exempt: Stripe signs instead)

The raw body and the ``Stripe-Signature`` header go to the payments service
untouched (the signature covers the exact bytes). The body is read through
WEBHOOK_MAX_BODY_BYTES (app.web.limits): past it, 413 while reading, before
the signature is checked. Answers: 200 for an applied, waiting, ignored,
duplicate or rejected (signed but malformed) event; 400 for a bad signature
or a body that is not an event at all; 503 while the
webhook breaker is open and 500 if applying failed (Stripe retries both).
Errors are JSON, from app.web.errors.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.services import payments

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/stripe")
def stripe_webhook():
    outcome = payments.receive_webhook(request.get_data(cache=False),
                                       request.headers.get("Stripe-Signature"))
    return jsonify(received=True, id=outcome.event_id, type=outcome.event_type,
                   result=outcome.result)
