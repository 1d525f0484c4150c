"""Distributed tracing with OpenTelemetry, off unless the standard OTEL_* variables ask for it.

Switched on by ``OTEL_TRACES_EXPORTER`` (``console``, ``otlp``, ``otlp_proto_http``)
or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, which imply ``otlp``);
``OTEL_SDK_DISABLED=true`` wins over both. Everything else is the SDK's own
reading of the environment: the exporter classes read their endpoint, headers
and timeout, ``BatchSpanProcessor`` its ``OTEL_BSP_*`` limits,
``TracerProvider`` its ``OTEL_TRACES_SAMPLER``, ``Resource`` the service name
and ``OTEL_RESOURCE_ATTRIBUTES``, the propagators ``OTEL_PROPAGATORS`` (W3C
``traceparent`` by default), the Flask instrumentation
``OTEL_PYTHON_FLASK_EXCLUDED_URLS``. Only the OTLP/HTTP exporter is installed,
so a bare ``otlp`` means ``http/protobuf`` (the specification's default) where
the Python SDK would pick gRPC.

When on, the Flask app, its SQLAlchemy engines and ``requests`` (the Stripe
SDK's HTTP client) are instrumented, and the helpers below add spans around
the booking service, the payment gateway and outbox handlers. When off the
helpers cost one attribute read: nothing from the SDK is imported.

One provider per process, built after fork: gunicorn's ``post_fork`` calls
`start_tracing`, so each worker has its own ``BatchSpanProcessor`` thread;
other processes (``flask run``, ``flask worker``) start it from `init_app`.

The helpers services call (`traced`, `span`, `trace_carrier`, `handling_event`)
need no Flask.
"""
from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

if TYPE_CHECKING:
    from flask import Flask
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

# OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) overrides it.
DEFAULT_SERVICE_NAME = "booking"
INSTRUMENTATION_NAME = "app"

F = TypeVar("F", bound=Callable[..., Any])


class _Active:
    """The process's tracing state; `tracer` is None while tracing is off."""

    provider: "TracerProvider | None" = None
    tracer: trace.Tracer | None = None
    pid: int | None = None   # the process that decided whether to trace


_active = _Active()
_start_lock = threading.Lock()


# -- switching it on -----------------------------------------------------------------------
def tracing_requested() -> bool:
    """Whether the environment asks for traces (OTEL_SDK_DISABLED=true says no to all)."""
    from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
    from opentelemetry.sdk.environment_variables import (
        OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SDK_DISABLED,
    )

    if os.environ.get(OTEL_SDK_DISABLED, "").strip().lower() == "true":
        return False
    exporters = os.environ.get(OTEL_TRACES_EXPORTER, "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
                or os.environ.get(OTEL_EXPORTER_OTLP_ENDPOINT))


def _exporter_classes() -> list[type]:
    """The span exporters OTEL_TRACES_EXPORTER names, resolved by the SDK's configurator
    (entry points, ``otlp`` and its protocol variables)."""
    from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
    from opentelemetry.sdk._configuration import (
        _get_exporter_entry_point, _get_exporter_names, _import_exporters,
    )
    from opentelemetry.sdk.environment_variables import (
        OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    )

    if os.environ.get(OTEL_TRACES_EXPORTER, "").strip():
        names = _get_exporter_names("traces")
    else:  # only an endpoint was given
        names = [_get_exporter_entry_point("otlp", "traces")]
    protocol_chosen = (os.environ.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
                       or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL))
    if not protocol_chosen:  # the SDK reads a bare "otlp" as gRPC, whose exporter we lack
        names = ["otlp_proto_http" if name == "otlp_proto_grpc" else name for name in names]
    trace_exporters, _, _ = _import_exporters(names, [], [])
    return list(trace_exporters.values())


class _SkipOrphanClientSpans:
    """Sampler: a database or HTTP call made outside any request, handler or service
    span (the worker's polling and scheduled jobs' queries, those of a request left out
    by OTEL_PYTHON_FLASK_EXCLUDED_URLS) is not a trace of its own; everything else is
    left to the configured sampler (OTEL_TRACES_SAMPLER, default parentbased_always_on)."""

    def __init__(self, delegate) -> None:
        from opentelemetry.sdk.trace.sampling import Decision, SamplingResult

        self._delegate = delegate
        self._drop = SamplingResult(Decision.DROP)

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None):
        if kind == trace.SpanKind.CLIENT and \
                not trace.get_current_span(parent_context).get_span_context().is_valid:
            return self._drop
        return self._delegate.should_sample(parent_context, trace_id, name, kind, attributes,
                                            links, trace_state)

    def get_description(self) -> str:
        return f"SkipOrphanClientSpans{{{self._delegate.get_description()}}}"


def build_provider(service_name: str = DEFAULT_SERVICE_NAME,
                   exporters: list | None = None) -> "TracerProvider":
    """A provider with one BatchSpanProcessor per exporter (default: those the
    environment names). Reads the environment; sets nothing global."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    provider.sampler = _SkipOrphanClientSpans(provider.sampler)
    for exporter in exporters if exporters is not None else \
            [cls() for cls in _exporter_classes()]:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def start_tracing(service_name: str = DEFAULT_SERVICE_NAME) -> "TracerProvider | None":
    """Decide once per process whether to trace and, if so, install the provider (also
    as OpenTelemetry's global one). Called by gunicorn's post_fork in each worker, and by
    `init_app` for processes gunicorn did not fork. A bad OTEL_* setting is logged and
    leaves tracing off: it never stops the site."""
    with _start_lock:
        if _active.pid == os.getpid():
            return _active.provider
        _active.pid = os.getpid()
        if not tracing_requested():
            return None
        try:
            provider = build_provider(service_name)
        except Exception:
            log.exception("tracing is off: the OTEL_* settings could not be used")
            return None
        trace.set_tracer_provider(provider)
        use_provider(provider)
        return provider


def use_provider(provider: "TracerProvider | None") -> None:
    """Make the helpers below record with `provider` (None: stop recording)."""
    _active.provider = provider
    _active.tracer = provider.get_tracer(INSTRUMENTATION_NAME) if provider is not None else None


def init_app(app: "Flask") -> None:
    """Instrument `app` when tracing is on. ``TRACER_PROVIDER`` in the app's config
    (tests) is used instead of the environment's provider."""
    provider = app.config.get("TRACER_PROVIDER") or start_tracing()
    if provider is not None:
        instrument_app(app, provider)


def instrument_app(app: "Flask", provider: "TracerProvider") -> None:
    """Flask (incoming ``traceparent`` extracted, ``traceresponse`` sent back), the
    app's SQLAlchemy engines and ``requests`` (``traceparent`` sent out)."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator, set_global_response_propagator,
    )
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from app.extensions import db

    use_provider(provider)
    set_global_response_propagator(TraceResponsePropagator())
    FlaskInstrumentor.instrument_app(app, tracer_provider=provider)
    with app.app_context():
        engines = list(db.engines.values())
    sqlalchemy = SQLAlchemyInstrumentor()
    if sqlalchemy.is_instrumented_by_opentelemetry:  # another app of this process had it
        sqlalchemy.uninstrument()
    # Its declared range stops below SQLAlchemy 2.1 (no release covers 2.1 yet); the event
    # hooks it uses are unchanged in 2.1, and tests/integration/test_tracing.py checks
    # that statements are traced.
    sqlalchemy.instrument(engines=engines, tracer_provider=provider, skip_dep_check=True)
    http = RequestsInstrumentor()
    if http.is_instrumented_by_opentelemetry:
        http.uninstrument()
    http.instrument(tracer_provider=provider)
    app.extensions["tracing"] = provider


def uninstrument_app(app: "Flask") -> None:
    """Undo `instrument_app` and stop the helpers recording (tests)."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.propagators import set_global_response_propagator
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if app.extensions.pop("tracing", None) is None:
        return
    FlaskInstrumentor.uninstrument_app(app)
    SQLAlchemyInstrumentor().uninstrument()
    RequestsInstrumentor().uninstrument()
    set_global_response_propagator(None)
    use_provider(None)


# -- what services call (no Flask) -----------------------------------------------------------
def traced(name: str, *, attributes: Mapping[str, Any] | None = None,
           arguments: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Decorator: run the function inside a span `name`. `attributes` are fixed span
    attributes; `arguments` maps an attribute name to a parameter whose (str) value
    it records, e.g. ``{"booking.reference": "reference"}``."""
    def decorator(func: F) -> F:
        signature = inspect.signature(func) if arguments else None

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            tracer = _active.tracer
            if tracer is None:
                return func(*args, **kwargs)
            values = dict(attributes or {})
            if signature is not None:
                bound = signature.bind_partial(*args, **kwargs).arguments
                values.update({attribute: str(bound[param])
                               for attribute, param in arguments.items() if param in bound})
            with tracer.start_as_current_span(name, attributes=values):
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorator


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[trace.Span | None]:
    """``with span("name", {"key": value}):`` a span, the child of the current one."""
    tracer = _active.tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span being recorded now, for log lines; None
    when tracing is off or nothing is being recorded."""
    if _active.tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def trace_carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (``traceparent``, ``tracestate``), to
    store with an outbox event; None when no span is recording."""
    if _active.tracer is None or not trace.get_current_span().is_recording():
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


@contextmanager
def handling_event(name: str, carrier: Mapping[str, str] | None,
                   attributes: Mapping[str, Any] | None = None) -> Iterator[trace.Span | None]:
    """A consumer span for one outbox delivery, the child of the span that recorded
    the event (`carrier`, from `trace_carrier`), or a new trace when there is none.
    Whatever is current in the worker is not its parent."""
    tracer = _active.tracer
    if tracer is None:
        yield None
        return
    parent = propagate.extract(dict(carrier or {}), context=otel_context.Context())
    token = otel_context.attach(parent)
    try:
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CONSUMER,
                                          attributes=attributes) as current:
            yield current
    finally:
        otel_context.detach(token)
