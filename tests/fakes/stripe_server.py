"""A fake Stripe API on loopback, for driving the real ``stripe`` SDK in tests.

Real HTTP (``ThreadingHTTPServer`` on 127.0.0.1, an ephemeral port), so the
SDK's own client, encoding, headers, timeouts and error mapping are what get
tested. It implements what the payment gateway calls:

    POST /v1/checkout/sessions              create (validated like Stripe: mode,
                                            line items, URLs, expires_at 30 min..24 h)
    GET  /v1/checkout/sessions/<id>         retrieve
    POST /v1/checkout/sessions/<id>/expire  expire
    POST /v1/refunds                        create (payment_intent, amount <= what is left)
    GET  /v1/refunds/<id>                   retrieve

and behaves like Stripe where it matters to us: a POST with an
``Idempotency-Key`` seen before (with the same parameters) gets the stored
answer back with ``Idempotent-Replayed: true``; the same key with other
parameters is an ``idempotency_error``; errors use Stripe's JSON shape and
status codes (402 card_error, 400 invalid_request_error, 429 rate limit, 5xx
api_error).

Every request is recorded (method, path, decoded parameters, headers,
idempotency key). It can be told to fail (`fail_next`, `fail_all`: 500, 503,
429, card declined, invalid request, a connection reset, or hanging past the
client's timeout), or to answer slowly (`delay`: the work is done, then the
answer waits, like a Stripe whose reply is lost to a timeout).

The module also holds the test side of webhooks: `event()` builds an event
body and `sign()` a ``Stripe-Signature`` header computed the way Stripe
documents it (``t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``),
independently of the SDK that verifies it.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

WEBHOOK_SECRET = "whsec_test_0123456789abcdef0123456789abcdef"
SECRET_KEY = "sk_test_fake_0123456789"

FAILURES = {
    # kind: (status, error type, code, message)
    "server_error": (500, "api_error", None, "An unknown error occurred (fake)."),
    "unavailable": (503, "api_error", None, "Service unavailable (fake)."),
    "rate_limit": (429, "invalid_request_error", "rate_limit", "Too many requests (fake)."),
    "card_declined": (402, "card_error", "card_declined", "Your card was declined."),
    "invalid": (400, "invalid_request_error", "parameter_invalid", "Invalid request (fake)."),
}
HANG_KINDS = ("timeout", "reset")


# -- webhook helpers -----------------------------------------------------------------------------
def sign(payload: str | bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for `payload`."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode("utf-8"), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


_event_ids = itertools.count(1)


def event(event_type: str, obj: dict, *, event_id: str | None = None) -> str:
    """A webhook event body (JSON text) carrying `obj`."""
    return json.dumps({
        "id": event_id or f"evt_test_{next(_event_ids):06d}_{secrets.token_hex(4)}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    })


def post_event(client, body: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
               signature: str | None = None):
    """POST a signed event to the app's webhook endpoint, as Stripe does."""
    headers = {"Stripe-Signature": signature if signature is not None else sign(body, secret, timestamp)}
    return client.post("/webhooks/stripe", data=body, headers=headers,
                       content_type="application/json")


# -- form decoding (the SDK sends application/x-www-form-urlencoded, nested with [..]) ---------------
_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def decode_params(body: str) -> dict:
    """``a[b][0][c]=1`` -> ``{"a": {"b": [{"c": "1"}]}}`` (values stay strings)."""
    root: dict = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        parts = [m.group(1) if m.group(1) is not None else m.group(2) for m in _KEY.finditer(raw_key)]
        node = root
        for part, nxt in zip(parts, parts[1:]):
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


# -- the server ----------------------------------------------------------------------------------
@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict
    headers: dict
    idempotency_key: str | None
    replayed: bool = False
    failed_with: str | None = None


@dataclass
class _Plan:
    kind: str
    remaining: int | None          # None: until told otherwise


@dataclass
class FakeStripeState:
    sessions: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    idempotent: dict = field(default_factory=dict)   # key -> (method, path, params, status, body)


class FakeStripeServer:
    """Start with `start()` (returns self), stop with `stop()`; `url` is the API base."""

    def __init__(self, *, hang_seconds: float = 3.0):
        self.state = FakeStripeState()
        self.requests: list[RecordedRequest] = []
        self.delay = 0.0                    # seconds to wait before answering (work already done)
        self.hang_seconds = hang_seconds    # how long a "timeout" failure hangs
        self.refund_status = "succeeded"
        self._plans: list[_Plan] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "FakeStripeServer":
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-stripe", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- telling it how to behave -------------------------------------------------------------
    def fail_next(self, count: int = 1, *, kind: str = "server_error") -> None:
        """The next `count` requests fail with `kind` (see FAILURES and HANG_KINDS)."""
        assert kind in FAILURES or kind in HANG_KINDS, kind
        with self._lock:
            self._plans.append(_Plan(kind, count))

    def fail_all(self, kind: str = "server_error") -> None:
        with self._lock:
            self._plans = [_Plan(kind, None)]

    def recover(self) -> None:
        with self._lock:
            self._plans = []

    def _take_failure(self) -> str | None:
        with self._lock:
            while self._plans:
                plan = self._plans[0]
                if plan.remaining is None:
                    return plan.kind
                if plan.remaining > 0:
                    plan.remaining -= 1
                    if plan.remaining == 0:
                        self._plans.pop(0)
                    return plan.kind
                self._plans.pop(0)
            return None

    # -- what tests look at and do ------------------------------------------------------------
    def calls(self, method: str | None = None, path_prefix: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and r.path.startswith(path_prefix)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}{secrets.token_hex(4)}"

    def complete_session(self, session_id: str, *, payment_status: str = "paid") -> dict:
        """The customer pays on Stripe's page: the session completes. Returns it."""
        with self._lock:
            session = self.state.sessions[session_id]
            session["status"] = "complete"
            session["payment_status"] = payment_status
            session["payment_intent"] = session["payment_intent"] or self.new_id("pi")
            return json.loads(json.dumps(session))

    def expire_session(self, session_id: str) -> dict:
        with self._lock:
            session = self.state.sessions[session_id]
            session["status"] = "expired"
            return json.loads(json.dumps(session))

    def session(self, session_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self.state.sessions[session_id]))

    # -- the API --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path):
            if method == "GET":
                return self._get(self.state.sessions, match.group(1), "checkout.session")
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)/expire", path):
            if method == "POST":
                return self._expire(match.group(1))
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        if match := re.fullmatch(r"/v1/refunds/([^/]+)", path):
            if method == "GET":
                return self._get(self.state.refunds, match.group(1), "refund")
        return _error(404, "invalid_request_error", "resource_missing",
                      f"Unrecognized request URL ({method}: {path}).")

    def _get(self, table: dict, object_id: str, kind: str) -> tuple[int, dict]:
        with self._lock:
            obj = table.get(object_id)
            if obj is None:
                return _error(404, "invalid_request_error", "resource_missing",
                              f"No such {kind}: '{object_id}'")
            return 200, json.loads(json.dumps(obj))

    def _create_session(self, p: dict) -> tuple[int, dict]:
        now = int(time.time())
        for name in ("mode", "success_url", "line_items"):
            if not p.get(name):
                return _error(400, "invalid_request_error", "parameter_missing",
                              f"Missing required param: {name}.", param=name)
        expires_at = int(p["expires_at"]) if p.get("expires_at") else now + 24 * 3600
        if not now + 30 * 60 <= expires_at <= now + 24 * 3600:
            return _error(400, "invalid_request_error", "parameter_invalid_integer",
                          "The `expires_at` timestamp must be between 30 minutes and 24 hours "
                          "from Checkout Session creation.", param="expires_at")
        amount = sum(int(item["price_data"]["unit_amount"]) * int(item["quantity"])
                     for item in p["line_items"])
        session_id = self.new_id("cs")
        session = {
            "id": session_id, "object": "checkout.session", "mode": p["mode"],
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "amount_total": amount, "currency": p.get("currency", "gbp"),
            "client_reference_id": p.get("client_reference_id"),
            "customer_email": p.get("customer_email"), "metadata": p.get("metadata") or {},
            "expires_at": expires_at, "success_url": p["success_url"],
            "cancel_url": p.get("cancel_url"), "created": now, "livemode": False,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        with self._lock:
            self.state.sessions[session_id] = session
        return 200, json.loads(json.dumps(session))

    def _expire(self, session_id: str) -> tuple[int, dict]:
        with self._lock:
            session = self.state.sessions.get(session_id)
            if session is None:
                return _error(404, "invalid_request_error", "resource_missing",
                              f"No such checkout.session: '{session_id}'")
            if session["status"] != "open":
                return _error(400, "invalid_request_error", "checkout_session_not_open",
                              "Only Checkout Sessions with a status of `open` can be expired.")
            session["status"] = "expired"
            return 200, json.loads(json.dumps(session))

    def _create_refund(self, p: dict) -> tuple[int, dict]:
        payment_intent = p.get("payment_intent")
        with self._lock:
            paid = [s for s in self.state.sessions.values()
                    if s["payment_intent"] == payment_intent and s["payment_status"] == "paid"]
            if not paid:
                return _error(404, "invalid_request_error", "resource_missing",
                              f"No such payment_intent: '{payment_intent}'", param="payment_intent")
            refunded = sum(r["amount"] for r in self.state.refunds.values()
                           if r["payment_intent"] == payment_intent and r["status"] != "failed")
            left = paid[0]["amount_total"] - refunded
            amount = int(p.get("amount") or left)
            if left <= 0:
                return _error(400, "invalid_request_error", "charge_already_refunded",
                              "Charge has already been refunded.")
            if amount > left:
                return _error(400, "invalid_request_error", "amount_too_large",
                              f"Refund amount ({amount}) is greater than unrefunded amount "
                              f"on charge ({left})", param="amount")
            refund = {"id": self.new_id("re"), "object": "refund", "amount": amount,
                      "currency": paid[0]["currency"], "payment_intent": payment_intent,
                      "charge": "ch_for_" + payment_intent, "status": self.refund_status,
                      "reason": p.get("reason"), "metadata": p.get("metadata") or {},
                      "created": int(time.time())}
            self.state.refunds[refund["id"]] = refund
            return 200, json.loads(json.dumps(refund))


def _error(status: int, error_type: str, code: str | None, message: str,
           param: str | None = None) -> tuple[int, dict]:
    error = {"type": error_type, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return status, {"error": error}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        url = urlsplit(self.path)
        params = decode_params(body if method == "POST" else url.query)
        key = self.headers.get("Idempotency-Key")
        record = RecordedRequest(method, url.path, params, dict(self.headers.items()), key)
        with fake._lock:
            fake.requests.append(record)

        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_test_"):
            return self._send(*_error(401, "invalid_request_error", None, "Invalid API Key provided."))
        failure = fake._take_failure()
        if failure in HANG_KINDS:
            record.failed_with = failure
            if failure == "timeout":
                time.sleep(fake.hang_seconds)
            self.close_connection = True
            return  # no answer at all: the client times out or sees the connection drop
        if failure:
            record.failed_with = failure
            status, error_type, code, message = FAILURES[failure]
            return self._send(*_error(status, error_type, code, message))

        replayed = False
        if method == "POST" and key:
            with fake._lock:
                stored = fake.state.idempotent.get(key)
            if stored is not None:
                if stored[:3] != (method, url.path, params):
                    return self._send(*_error(
                        400, "idempotency_error", None,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with."))
                status, answer = stored[3], stored[4]
                replayed = record.replayed = True
            else:
                status, answer = fake.handle(method, url.path, params)
                if status < 500:
                    with fake._lock:
                        fake.state.idempotent.setdefault(key, (method, url.path, params, status, answer))
        else:
            status, answer = fake.handle(method, url.path, params)
        if fake.delay:
            time.sleep(fake.delay)
        self._send(status, answer, replayed=replayed)

    def _send(self, status: int, body: dict, *, replayed: bool = False) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(6))
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass


# -- pytest fixtures --------------------------------------------------------------------------------
@pytest.fixture
def stripe_server():
    """A running fake Stripe; point the app at it with `stripe_config(stripe_server)`."""
    server = FakeStripeServer().start()
    yield server
    server.stop()


def stripe_config(server: FakeStripeServer, **overrides) -> dict:
    """App config for PAYMENT_PROVIDER=stripe against `server` (short timeouts)."""
    config = {
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_BASE": server.url,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_CONNECT_TIMEOUT_SECONDS": 1.0,
        "STRIPE_TIMEOUT_SECONDS": 1.0,
        "PUBLIC_BASE_URL": "https://booking.example.test",
    }
    config.update(overrides)
    return config
