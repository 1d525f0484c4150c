"""No secret reaches a log line: the redactor, the filter on every handler, and the
JSON formatter (tracebacks included)."""
from __future__ import annotations

import io
import json
import logging

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.monitoring.logs import (
    REDACTED, JsonFormatter, RedactingFilter, TextFormatter, redact, request_id_from,
)
from app.services.core.tokens import invoice_pay_token, manage_token

MANAGE_TOKEN = manage_token("BK7Q2M", secret_key="log-test-key")
INVOICE_TOKEN = invoice_pay_token("INV-000042", secret_key="log-test-key")


class _SignedAtAFixedTime(TimestampSigner):
    """The tokens are test ids: every xdist worker must collect the same ones, so their
    timestamp cannot be the second each worker happened to import this module in."""

    def get_timestamp(self) -> int:
        return 1_764_000_000


RESET_TOKEN = URLSafeTimedSerializer("log-test-key", salt="reset",
                                     signer=_SignedAtAFixedTime).dumps({"u": 7, "p": "ab12"})
SHORT_RESET_TOKEN = URLSafeTimedSerializer("log-test-key",
                                           signer=_SignedAtAFixedTime).dumps(5)
STRIPE_SIGNATURE = ("t=1733330000,"
                    "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")

# (text that may be logged, the secret inside it)
SECRETS_IN_TEXT = [
    (f"GET /bookings/BK7Q2M?token={MANAGE_TOKEN} HTTP/1.1", MANAGE_TOKEN),
    (f"/bookings/BK7Q2M/pay?token={MANAGE_TOKEN}&x=1", MANAGE_TOKEN),
    (f"/api/v1/bookings/BK7Q2M?foo=1&token={MANAGE_TOKEN}", MANAGE_TOKEN),
    (f"https://example.com/bookings/BK7Q2M/payment-received?token={MANAGE_TOKEN}",
     MANAGE_TOKEN),
    (f"next=%2Fbookings%2FBK7Q2M%3Ftoken%3D{MANAGE_TOKEN}", MANAGE_TOKEN),
    (f"manage token {MANAGE_TOKEN} issued", MANAGE_TOKEN),
    (f"POST /invoices/INV-000042/pay?token={INVOICE_TOKEN} HTTP/1.1", INVOICE_TOKEN),
    (f"https://example.com/invoices/INV-000042/pay?returned=1&token={INVOICE_TOKEN}",
     INVOICE_TOKEN),
    (f"invoice pay link {INVOICE_TOKEN} sent", INVOICE_TOKEN),
    (f"/password/reset/{RESET_TOKEN}", RESET_TOKEN),
    (f"POST /password/reset/{SHORT_RESET_TOKEN} HTTP/1.1", SHORT_RESET_TOKEN),
    (f"reset link sent: {RESET_TOKEN}", RESET_TOKEN),
    (f"token {SHORT_RESET_TOKEN} rejected", SHORT_RESET_TOKEN),
    ("/checkout/fake/fk_cs_9Hq2LmXr?step=pay", "fk_cs_9Hq2LmXr"),
    ("/api?signature=abc123def&sig=zz99yy88&key=k-123456", "abc123def"),
    ("/api?signature=abc123def&sig=zz99yy88&key=k-123456", "zz99yy88"),
    ("/api?signature=abc123def&sig=zz99yy88&key=k-123456", "k-123456"),
    ("/x?password=hunter2&secret=s3kr1t&code=493021", "hunter2"),
    ("/x?password=hunter2&secret=s3kr1t&code=493021", "s3kr1t"),
    ("/x?password=hunter2&secret=s3kr1t&code=493021", "493021"),
    ("/x?access_token=at-998877&api_key=ak-554433", "at-998877"),
    ("/x?access_token=at-998877&api_key=ak-554433", "ak-554433"),
    (f"Stripe-Signature: {STRIPE_SIGNATURE}", STRIPE_SIGNATURE.split(",")[1]),
    (f"headers={{'Stripe-Signature': '{STRIPE_SIGNATURE}'}}", "t=1733330000"),
    (f"bad signature {STRIPE_SIGNATURE.split(',')[1]}", STRIPE_SIGNATURE.split(",")[1][3:]),
    ("stripe.api_key = sk_live_51HqLyjWDarjtT1zdp7dc", "sk_live_51HqLyjWDarjtT1zdp7dc"),
    ("using sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ("restricted rk_live_51Hq8Jd6TzQx", "rk_live_51Hq8Jd6TzQx"),
    ("webhook secret whsec_fake_0f1e2d3c4b5a69788796a5b4", "whsec_fake_0f1e2d3c4b5a69788796a5b4"),
    ("client_secret pi_3MtwBw_secret_YrKJUKribcBjcG8H", "YrKJUKribcBjcG8H"),
    ("Authorization: Bearer m3tr1cs-T0ken_value", "m3tr1cs-T0ken_value"),
    ("authorization=Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="),
    ('{"password": "correct horse battery", "email": "a@b.c"}', "correct horse battery"),
    ("{'token': 'tkn-1234567'}", "tkn-1234567"),
    ("METRICS_TOKEN=mt-0099887766", "mt-0099887766"),
]


@pytest.mark.parametrize("text, secret", SECRETS_IN_TEXT)
def test_every_known_secret_shape_is_redacted(text, secret):
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


# Lines that carry no secret come out as they went in: a log still has to be read.
KEPT = [
    "GET /password/reset/<token> 200",
    "GET /bookings/<reference>/pay 303",
    "/sessions?course=efaw&from=2026-01-01&page=2",
    "request 3f2c1d0e9b8a47f6a5e4d3c2b1a09f8e finished",
    "internal error ABCD2345EF: RuntimeError",
    "app.services.background.dispatcher delivered email.booking_confirmed",
    'File "/srv/app/services/bookings/holds.py", line 120, in hold_seats_for_booking',
    "sqlalchemy.exc.OperationalError: connection refused",
    "Booking BK7Q2M confirmed for priya@example.com, 2 seats, 2026-12-08T09:30:00Z",
    "GET /verify/RFT-2026-000123 404",
]


@pytest.mark.parametrize("text", KEPT)
def test_lines_without_secrets_are_left_alone(text):
    assert redact(text) == text


def record(msg, *args, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord("app.test", logging.ERROR, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_the_filter_redacts_arguments_and_extras_before_any_formatter_sees_them():
    rec = record("opened %s", f"/bookings/X?token={MANAGE_TOKEN}",
                 path=f"/password/reset/{RESET_TOKEN}", status=200)
    assert RedactingFilter().filter(rec) is True
    assert MANAGE_TOKEN not in rec.getMessage() and REDACTED in rec.getMessage()
    assert RESET_TOKEN not in rec.path
    assert rec.status == 200


def test_json_lines_carry_the_fields_and_a_redacted_traceback():
    try:
        raise RuntimeError(f"could not open /bookings/X?token={MANAGE_TOKEN}")
    except RuntimeError:
        import sys

        rec = record("failed %s", "here", exc_info=sys.exc_info(), request_id="r-1",
                     error_id="ABCDEF2345", route="/sessions")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    handler.handle(rec)
    line = json.loads(stream.getvalue())
    assert {"time", "level", "logger", "message", "request_id", "error_id",
            "route", "exc_info"} <= set(line)
    assert line["level"] == "ERROR" and line["logger"] == "app.test"
    assert line["time"].endswith("Z")
    assert "RuntimeError" in line["exc_info"] and "Traceback" in line["exc_info"]
    assert MANAGE_TOKEN not in stream.getvalue()


def test_the_text_format_is_redacted_too():
    rec = record("sent %s", f"Bearer {MANAGE_TOKEN}")
    assert MANAGE_TOKEN not in TextFormatter().format(rec)


@pytest.mark.parametrize("value", ["abc-123", "A.b_c-9", "x" * 128,
                                   "3f2c1d0e9b8a47f6a5e4d3c2b1a09f8e"])
def test_a_sane_request_id_is_kept(value):
    assert request_id_from(value) == value


@pytest.mark.parametrize("value", [None, "", "x" * 129, "has space", "semi;colon", "abc\n",
                                   "abc\r\nSet-Cookie: a=1", "ünïcode", "<script>"])
def test_any_other_request_id_is_replaced_by_a_new_one(value):
    new = request_id_from(value)
    assert new != value
    assert len(new) == 32 and all(c in "0123456789abcdef" for c in new)
