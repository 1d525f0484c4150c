"""OpenTelemetry tracing: off unless OTEL_* asks; when on, a paid webhook and the
confirmation email it causes are one trace, a caller's `traceparent` is continued,
and calls to Stripe carry it on.

The app under test gets its own provider (``TRACER_PROVIDER`` in its config,
recording into an InMemorySpanExporter) instead of OpenTelemetry's global one,
which a process can set only once; `tracing.uninstrument_app` undoes the
instrumentation after each test.
"""
from __future__ import annotations

import json
import logging
import re
import time
import urllib.request
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingStatus, OutboxEvent, Payment, utcnow
from app.monitoring import tracing
from app.services import payments
from app.services.bookings import holds as booking_service
from app.services.bookings import manage
from app.services.core import events

from factories import SessionFactory, booking_request
from fakes.stripe_server import event, sign, stripe_config, stripe_server  # noqa: F401
from gunicorn_server import GunicornServer
from notify_helpers import deliver_all

LINKS = payments.CheckoutLinks(success_url="https://booking.example.test/done",
                               cancel_url="https://booking.example.test/pay")
# A caller's W3C trace context (the example from the Trace Context specification).
CALLER_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN_ID = "b7ad6b7169203331"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


class Recorder:
    """A provider built as production builds it, exporting to memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = tracing.build_provider(exporters=[self.exporter])

    def clear(self) -> None:
        self.provider.force_flush()
        self.exporter.clear()

    def finished(self) -> list:
        self.provider.force_flush()
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list:
        return [s for s in self.finished() if s.name == name]


@pytest.fixture
def tracing_on() -> bool:
    """Parametrize with [False] for a test of the app with tracing off."""
    return True


@pytest.fixture
def recorder():
    recorder = Recorder()
    yield recorder
    recorder.provider.shutdown()


@pytest.fixture
def app_config(stripe_server, tracing_on, recorder, monkeypatch):
    if tracing_on:
        return stripe_config(stripe_server, TRACER_PROVIDER=recorder.provider)
    # Off the way production is off, even with an exporter named: the process decides
    # afresh from the environment (and decides "no").
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setattr(tracing._active, "pid", None)
    return stripe_config(stripe_server)


@pytest.fixture
def app(app):
    yield app
    tracing.uninstrument_app(app)
    assert tracing._active.tracer is None


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def held_with_checkout() -> Booking:
    starts_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    course_session = SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    booking = booking_service.hold_seats(booking_request(course_session.id, 1),
                                         policy=booking_service.BookingPolicy())
    payments.start_checkout(booking.reference, LINKS)
    return booking


def checkout_id_of(booking: Booking) -> str:
    return db.session.scalars(select(Payment.provider_checkout_id)
                              .where(Payment.booking_id == booking.id)).one()


def post_paid_webhook(client, stripe_server, booking: Booking, **headers):
    body = event("checkout.session.completed",
                 stripe_server.complete_session(checkout_id_of(booking)))
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body), **headers})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def confirmation_event(booking: Booking) -> OutboxEvent:
    return db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == events.BOOKING_CONFIRMED,
        OutboxEvent.aggregate_id == booking.reference)).one()


def ancestors(span, spans) -> list:
    """`span`'s parent, grandparent, ... as far as the recorded spans go."""
    by_id = {s.context.span_id: s for s in spans}
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


# -- when it is on --------------------------------------------------------------------------------
def test_a_paid_webhook_and_its_confirmation_email_are_one_trace(
        app, client, stripe_server, recorder, outbox):
    booking = held_with_checkout()
    recorder.clear()

    post_paid_webhook(client, stripe_server, booking)
    assert confirmation_event(booking).trace_context["traceparent"].startswith("00-")
    result = deliver_all()
    assert result.delivered >= 1 and len(outbox) == 1

    spans = recorder.finished()
    [request] = [s for s in spans if s.kind == SpanKind.SERVER]
    assert request.attributes["http.route"] == "/webhooks/stripe"
    [email] = [s for s in spans if s.name == "outbox email.booking_confirmed"]
    assert email.kind == SpanKind.CONSUMER
    assert email.attributes["outbox.event_type"] == events.BOOKING_CONFIRMED
    assert email.context.trace_id == request.context.trace_id
    # The email's span hangs under the confirmation, which hangs under the webhook request.
    chain = ancestors(email, spans)
    assert [s.name for s in chain][0] == "booking.confirm"
    assert chain[-1] is request and request.parent is None
    [confirm] = recorder.named("booking.confirm")
    assert confirm.attributes["booking.reference"] == booking.reference
    # The handler's own database work is inside its span.
    assert any(s.kind == SpanKind.CLIENT and s.parent.span_id == email.context.span_id
               for s in spans if s.parent is not None)


def test_a_callers_traceparent_is_continued_through_the_webhook_to_the_email(
        app, client, stripe_server, recorder, outbox):
    booking = held_with_checkout()
    recorder.clear()

    response = post_paid_webhook(client, stripe_server, booking, traceparent=CALLER_TRACEPARENT)
    deliver_all()

    [request] = [s for s in recorder.finished() if s.kind == SpanKind.SERVER]
    assert format(request.context.trace_id, "032x") == CALLER_TRACE_ID
    assert format(request.parent.span_id, "016x") == CALLER_SPAN_ID and request.parent.is_remote
    # The caller learns which span answered it.
    assert response.headers["traceresponse"] == \
        f"00-{CALLER_TRACE_ID}-{format(request.context.span_id, '016x')}-01"
    [email] = recorder.named("outbox email.booking_confirmed")
    assert format(email.context.trace_id, "032x") == CALLER_TRACE_ID
    assert len(outbox) == 1


def test_a_call_to_stripe_carries_the_traceparent_of_its_gateway_span(app, stripe_server, recorder):
    held_with_checkout()

    [gateway] = recorder.named("payments.create_checkout")
    assert gateway.attributes["payment.provider"] == "stripe"
    [http] = [s for s in recorder.finished()
              if s.kind == SpanKind.CLIENT and s.parent is not None
              and s.parent.span_id == gateway.context.span_id]
    [call] = stripe_server.calls("POST", "/v1/checkout/sessions")
    headers = {k.lower(): v for k, v in call.headers.items()}
    version, trace_id, parent_id, flags = headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (format(http.context.trace_id, "032x"),
                                     format(http.context.span_id, "016x"))
    assert int(flags, 16) & 1  # sampled


def test_holding_and_cancelling_are_spans_naming_the_booking(app, recorder):
    booking = held_with_checkout()
    manage.cancel_booking(booking.reference, actor=manage.Actor.customer(),
                          policy=booking_service.BookingPolicy())

    [hold] = recorder.named("booking.hold")
    [cancel] = recorder.named("booking.cancel")
    assert cancel.attributes["booking.reference"] == booking.reference
    # Statements run inside the service span they belong to.
    assert any(s.parent is not None and s.parent.span_id == hold.context.span_id
               and s.kind == SpanKind.CLIENT for s in recorder.finished())


def test_database_calls_outside_any_span_start_no_trace_of_their_own(app, recorder):
    """The worker's polling queries would otherwise be a trace each, every poll."""
    recorder.clear()
    deliver_all()  # nothing is due: only the claim query runs
    db.session.execute(select(Booking.id)).all()
    assert recorder.finished() == []


def test_each_gunicorn_worker_exports_its_own_spans(database_url, app, tmp_path):
    """The provider and its export thread are made in each worker after the fork."""
    server = GunicornServer(database_url, workers=2, threads=8, env={
        "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel,process",
        "OTEL_SERVICE_NAME": "booking-under-test"}).start()
    try:
        workers = set(server.worker_pids())
        sent = []
        for n in range(200):
            trace_id = f"{n + 1:032x}"
            request = urllib.request.Request(f"{server.http_url}/api/v1/courses", headers={
                "traceparent": f"00-{trace_id}-{CALLER_SPAN_ID}-01"})
            with urllib.request.urlopen(request, timeout=10) as response:  # a new connection
                assert response.headers["traceresponse"].startswith(f"00-{trace_id}-")
            sent.append(trace_id)
            if n % 20 == 19 and exporting_pids(server, sent) == workers:
                break
        deadline = time.monotonic() + 10
        while exporting_pids(server, sent) != workers and time.monotonic() < deadline:
            time.sleep(0.1)  # BatchSpanProcessor exports every 50 ms here
        assert exporting_pids(server, sent) == workers, server.read_log()
    finally:
        server.stop()
    assert '"service.name": "booking-under-test"' in server.read_log(tail=10**7)


def exporting_pids(server: GunicornServer, trace_ids: list[str]) -> set[int]:
    """Processes whose exporter printed a server span of one of `trace_ids`."""
    pids = set()
    for span in re.findall(r"^{\n.*?^}$", server.read_log(tail=10**7), re.S | re.M):
        data = json.loads(span)
        if data["kind"] == "SpanKind.SERVER" and data["context"]["trace_id"][2:] in trace_ids:
            pids.add(data["resource"]["attributes"]["process.pid"])
    return pids


# -- when it is off -------------------------------------------------------------------------------
@pytest.mark.parametrize("tracing_on", [False])
def test_with_tracing_off_nothing_is_traced_and_the_chain_still_works(
        app, client, stripe_server, outbox, capsys):
    booking = held_with_checkout()
    response = post_paid_webhook(client, stripe_server, booking, traceparent=CALLER_TRACEPARENT)
    deliver_all()

    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert len(outbox) == 1
    assert "traceresponse" not in response.headers
    assert confirmation_event(booking).trace_context is None
    [call] = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert "traceparent" not in {k.lower() for k in call.headers}
    assert tracing._active.tracer is None and "tracing" not in app.extensions
    assert CALLER_TRACE_ID not in capsys.readouterr().out  # the console exporter printed nothing


# -- which variables switch it on (no database) ------------------------------------------------------
@pytest.mark.parametrize("environ, wanted", [
    ({}, False),
    ({"OTEL_SERVICE_NAME": "booking"}, False),
    ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
])
def test_only_the_standard_otel_variables_switch_tracing_on(monkeypatch, environ, wanted):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert tracing.tracing_requested() is wanted


SDK_EXPORT = "opentelemetry.sdk.trace.export"
OTLP_HTTP = "opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter"


@pytest.mark.parametrize("environ, exporter", [
    ({"OTEL_TRACES_EXPORTER": "console"}, f"{SDK_EXPORT}.ConsoleSpanExporter"),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, OTLP_HTTP),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, OTLP_HTTP),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
      "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, OTLP_HTTP),
])
def test_the_named_exporter_is_built_and_the_service_is_named(monkeypatch, environ, exporter):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME",
                 "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert [f"{cls.__module__}.{cls.__name__}" for cls in tracing._exporter_classes()] == [exporter]
    provider = tracing.build_provider(exporters=[])
    assert provider.resource.attributes["service.name"] == tracing.DEFAULT_SERVICE_NAME
    monkeypatch.setenv("OTEL_SERVICE_NAME", "booking-eu")
    assert tracing.build_provider(exporters=[]).resource.attributes["service.name"] == "booking-eu"


def test_a_setting_the_sdk_cannot_use_leaves_tracing_off_and_the_site_up(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")  # that exporter is not installed
    monkeypatch.setattr(tracing._active, "pid", None)
    assert tracing.start_tracing() is None
    assert tracing._active.tracer is None
    assert "tracing is off" in caplog.text


def test_log_lines_written_inside_a_span_carry_its_trace_and_span_ids(app, recorder):
    from app.monitoring.logs import JsonFormatter, RequestContextFilter

    def line(message: str) -> dict:
        record = logging.LogRecord("app.test", logging.INFO, __file__, 1, message, None, None)
        RequestContextFilter().filter(record)
        return json.loads(JsonFormatter().format(record))

    with tracing.span("work") as current:
        inside = line("inside")
    context = current.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in line("outside")
