"""Every exception that reaches the edge has one category and one severity; the
ones someone should look at (error, critical) get a reference."""
from __future__ import annotations

import re
import smtplib

import pybreaker
import pytest
import requests
import stripe
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug import exceptions as http

from app.monitoring.errors import CATEGORIES, SEVERITIES, classify
from app.services.core import errors as domain
from app.services.payments.breakers import GatewayOutage
from app.services.payments.errors import (
    CardPaymentsPaused, InvalidWebhookSignature, WebhooksPaused,
)
from app.services.payments.gateway import GatewayRejected, GatewayUnavailable
from app.validation.errors import ValidationFailed

CLASSIFICATION = [
    # our domain errors: the facts live on the classes
    (domain.InvalidInput(), "validation", "info"),
    (ValidationFailed({"contact.email": "Enter an email address."}), "validation", "info"),
    (domain.NotFound(), "not_found", "info"),
    (domain.SeatsUnavailable(0, 2), "conflict", "info"),
    (domain.HoldExpired(), "conflict", "info"),
    (domain.InvalidState(), "conflict", "info"),
    (domain.SessionNotBookable(), "conflict", "info"),
    (domain.IdempotencyConflict(), "conflict", "info"),
    (domain.InvalidToken(), "permission", "warning"),
    (domain.PaymentUnavailable(), "payment", "warning"),
    (CardPaymentsPaused("BK1", None), "payment", "warning"),
    (InvalidWebhookSignature(), "auth", "warning"),
    (WebhooksPaused(), "database", "error"),
    (GatewayUnavailable("timeout"), "external_service", "error"),
    (GatewayRejected("declined"), "payment", "warning"),
    (GatewayOutage("down"), "external_service", "error"),
    # HTTP errors by status
    (http.BadRequest(), "validation", "info"),
    (http.MethodNotAllowed(["GET"]), "validation", "info"),
    (http.RequestEntityTooLarge(), "validation", "info"),
    (http.UnprocessableEntity(), "validation", "info"),
    (http.Unauthorized(), "auth", "info"),
    (http.Forbidden(), "permission", "warning"),
    (http.NotFound(), "not_found", "info"),
    (http.Gone(), "not_found", "info"),
    (http.Conflict(), "conflict", "info"),
    (http.TooManyRequests(), "rate_limited", "warning"),
    (http.InternalServerError(), "internal", "error"),
    (http.ServiceUnavailable(), "external_service", "error"),
    (CSRFError(), "permission", "warning"),
    # libraries
    (sa_exc.OperationalError("SELECT 1", {}, Exception("server closed")), "database", "critical"),
    (sa_exc.InterfaceError("SELECT 1", {}, Exception("gone")), "database", "critical"),
    (sa_exc.TimeoutError("QueuePool limit reached"), "database", "critical"),
    (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate")), "database", "error"),
    (pybreaker.CircuitBreakerError("open"), "payment", "error"),
    (stripe.CardError("declined", None, "card_declined"), "payment", "info"),
    (stripe.APIConnectionError("no route"), "external_service", "error"),
    (stripe.AuthenticationError("bad key"), "payment", "critical"),
    (stripe.InvalidRequestError("bad param", None), "payment", "error"),
    (stripe.SignatureVerificationError("bad", "t=1,v1=00"), "auth", "warning"),
    (requests.ConnectionError("refused"), "external_service", "error"),
    (smtplib.SMTPServerDisconnected("gone"), "external_service", "error"),
    (ConnectionRefusedError(), "external_service", "error"),
    # everything else is a bug
    (RuntimeError("secret detail"), "internal", "error"),
    (KeyError("x"), "internal", "error"),
]


@pytest.mark.parametrize("exc, category, severity", CLASSIFICATION,
                         ids=[type(e).__name__ for e, _, _ in CLASSIFICATION])
def test_each_error_has_its_category_and_severity(exc, category, severity):
    info = classify(exc)
    assert (info.category, info.severity) == (category, severity)


@pytest.mark.parametrize("exc, category, severity", CLASSIFICATION,
                         ids=[type(e).__name__ for e, _, _ in CLASSIFICATION])
def test_only_errors_and_criticals_get_a_short_readable_reference(exc, category, severity):
    info = classify(exc)
    if severity in ("error", "critical"):
        assert re.fullmatch(r"[A-Z2-7]{10}", info.id)
    else:
        assert info.id is None


def test_every_category_and_severity_is_one_of_the_taxonomy():
    seen = {(classify(exc).category, classify(exc).severity) for exc, _, _ in CLASSIFICATION}
    assert {c for c, _ in seen} == set(CATEGORIES)
    assert {s for _, s in seen} == set(SEVERITIES)


def test_two_errors_never_share_a_reference():
    assert len({classify(RuntimeError()).id for _ in range(200)}) == 200
