"""WebSocket `/ws/availability`: live seat counts for htmx's ws extension.

`?session=ID&session=ID` watches those sessions, `?course=SLUG` a course's
upcoming sessions, nothing at all every upcoming session. The first message
is a snapshot of every watched count (so a reconnect repairs whatever was
missed), then one fragment per change, each an out-of-band swap of
``<span id="seats-ID" ...>`` (templates/fragments/_seat_count.html).

Each connection holds one gunicorn thread, which does all its sending: it
sleeps on the connection's wake-up event until the hub queues a fragment,
the client goes away or a keep-alive ping is due. The hub's thread only
queues (never sends), so a client that stops reading blocks nobody but its
own thread, and the hub drops it when its queue overflows or a send stays
blocked past WS_SEND_TIMEOUT_SECONDS: its socket is shut down, which also
frees the stuck thread. Every sent frame comes from this thread; the only
exception is simple-websocket's reader thread answering a client's ping or
close.

Before the upgrade (`_admit`, a before-request hook of this blueprint only):
a handshake without a valid `Sec-WebSocket-Key` or with a version other than
13 is answered 400 (wsproto would raise: a 500); an `Origin` that is not one
of ALLOWED_ORIGINS 403 (no Origin at all is let through: only browsers send
one, and the Origin check exists to stop other sites' pages using a
visitor's browser; the counts are public and the caps below still apply);
past WS_MAX_PER_CLIENT connections from one address 429, past
WS_MAX_PER_PROCESS in this process 503, both with Retry-After. htmx's ws
extension treats a refused handshake as close code 1006 and retries with
backoff.

Once open, the server pings every WS_PING_SECONDS whatever else it sends;
a client that has not answered the previous ping by the next one (a read
deadline of at most two intervals) is closed, counted as
`realtime_dropped_total{reason="ping_timeout"}`.

Frames are written here, not by wsproto, so that one frame serves every
subscriber of a change. This leans on simple-websocket's Server attributes
(`event`, `sock`, `connected`, `pong_received`, `input_buffer`), which is why
requirements.txt pins simple-websocket.
"""
from __future__ import annotations

import base64
import binascii
import functools
import socket
import struct
import time

from flask import Blueprint, Flask, current_app, g, make_response, render_template, request
from simple_websocket import ConnectionClosed

from app.extensions import db, sock
from app.monitoring import metrics
from app.services.core.errors import InvalidInput
from app.config import origin_of
from app.monitoring.errors import report
from app.services.core.errors import DomainError
from app.services.realtime import announce
from app.services.realtime.admission import PER_CLIENT, ConnectionLimits
from app.services.realtime.hub import Subscription
from app.web.errors import error_response

bp = Blueprint("realtime", __name__)

POLICY_VIOLATION = 1008
PING_FRAME = b"\x89\x00"  # an empty ping, unmasked as server frames are


LIMITS_KEY = "realtime.connection_limits"
RETRY_AFTER_SECONDS = 30


class BadHandshake(DomainError):
    code = "bad_websocket_handshake"
    status = 400
    message = "This address takes WebSocket connections (RFC 6455, version 13) only."


class ForeignOrigin(DomainError):
    category, severity = "permission", "warning"
    code = "origin_not_allowed"
    status = 403
    message = "Live seat counts are only available to this site's own pages."


class TooManyConnections(DomainError):
    category, severity = "rate_limited", "warning"
    code = "too_many_connections"
    status = 429
    message = "Too many live connections from your address. Close some tabs and try again."


class Busy(DomainError):
    category, severity = "rate_limited", "warning"
    code = "live_updates_busy"
    status = 503
    message = "Live seat counts are busy. The page will try again shortly."


def init_app(app: Flask) -> None:
    """Give the app its live-availability hub (threads start with the first client)
    and this process's connection caps."""
    announce.configure(app, render=render_seat_count)
    app.extensions[LIMITS_KEY] = ConnectionLimits(
        max_per_client=app.config["WS_MAX_PER_CLIENT"],
        max_per_process=app.config["WS_MAX_PER_PROCESS"])


@bp.before_request
def _admit():
    """Refuse, before the upgrade, a handshake that is malformed, from another
    site's page, or over a cap; otherwise take a connection slot."""
    refusal = _handshake_refusal()
    if refusal is None:
        limits: ConnectionLimits = current_app.extensions[LIMITS_KEY]
        slot = limits.admit(request.remote_addr or "")
        if isinstance(slot, str):
            metrics.REALTIME_DROPPED.labels(reason=slot).inc()
            refusal = TooManyConnections() if slot == PER_CLIENT else Busy()
        else:
            g.ws_slot = slot
            # From here on the connection's reads belong to the WebSocket: end the
            # request read deadline of gunicorn_worker.DeadlineSocket, if served by it.
            release = getattr(request.environ.get("gunicorn.socket"), "release_read_deadline",
                              None)
            if release is not None:
                release()
            return None
    response = make_response(error_response(refusal.status, refusal.code, refusal.message,
                                            error=report(refusal)))
    if refusal.status == 400:
        response.headers["Sec-WebSocket-Version"] = "13"
    if refusal.status in (429, 503):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@bp.teardown_request
def _release_slot(_exc) -> None:
    slot = g.pop("ws_slot", None)
    if slot is not None:
        current_app.extensions[LIMITS_KEY].release(slot)


def _handshake_refusal() -> DomainError | None:
    if request.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        metrics.REALTIME_DROPPED.labels(reason="bad_handshake").inc()
        return BadHandshake("Send Sec-WebSocket-Version: 13.")
    if not _valid_key(request.headers.get("Sec-WebSocket-Key", "")):
        metrics.REALTIME_DROPPED.labels(reason="bad_handshake").inc()
        return BadHandshake("Send a Sec-WebSocket-Key: 16 random bytes in base64.")
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        metrics.REALTIME_DROPPED.labels(reason="foreign_origin").inc()
        return ForeignOrigin()
    return None


def _valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _origin_allowed(origin: str) -> bool:
    """One of ALLOWED_ORIGINS; outside production also the origin of the Host
    asked for (a developer at http://localhost:5000 when PUBLIC_BASE_URL says
    127.0.0.1)."""
    normal = origin_of(origin)
    if normal is None:
        return False  # "null" (sandboxed frames, file://) and garbage
    if normal in current_app.config["ALLOWED_ORIGINS"]:
        return True
    if not current_app.config.get("IS_PRODUCTION"):
        return normal.split("://", 1)[1] == (origin_of(f"http://{request.host}") or "").split(
            "://", 1)[1]
    return False


def render_seat_count(state: announce.SeatState) -> str:
    return render_template("fragments/_seat_count.html", item=state, oob=True)


@sock.route("/ws/availability", bp=bp)
def availability(ws) -> None:
    try:
        rooms = announce.parse_rooms(request.args.getlist("session"), request.args.get("course"))
    except InvalidInput as exc:
        ws.close(reason=POLICY_VIOLATION, message=exc.message)
        return
    live = announce.live_availability()
    # Subscribe before reading the snapshot, so no change falls in between.
    subscription = live.subscribe(rooms, wakeup=ws.event, on_drop=lambda _: _abort(ws))
    metrics.WEBSOCKET_CONNECTIONS.inc()
    try:
        try:
            snapshot = live.snapshot(rooms)
        finally:
            db.session.remove()  # a connection may last hours: hold no pooled connection
        if snapshot:
            _send_frame(ws, subscription, _text_frame(snapshot))
        _serve(ws, subscription, live.settings.ping_seconds)
    except (ConnectionClosed, OSError):
        pass  # the client went away, or the hub dropped it
    finally:
        metrics.WEBSOCKET_CONNECTIONS.dec()
        live.unsubscribe(subscription)


def _serve(ws, subscription: Subscription, ping_seconds: float) -> None:
    """Send queued fragments until the connection ends; ping every
    `ping_seconds` (busy or not: the answer is how a live client shows itself),
    and close a client that did not answer the previous ping.

    This loop runs for every subscriber of every change: keep it lean.
    """
    event = ws.event
    next_ping = time.monotonic() + ping_seconds
    while True:
        event.wait(max(0.0, next_ping - time.monotonic()))
        event.clear()
        if subscription.is_dropped or not ws.connected:
            return
        messages = subscription.take()
        if len(messages) == 1:
            _send_frame(ws, subscription, _shared_text_frame(messages[0]))
        elif messages:
            _send_frame(ws, subscription, _text_frame("".join(messages)))
        if time.monotonic() >= next_ping:
            if not ws.pong_received:
                metrics.REALTIME_DROPPED.labels(reason="ping_timeout").inc()
                _close_silent(ws)
                return
            ws.pong_received = False
            _send_frame(ws, subscription, PING_FRAME)
            next_ping = time.monotonic() + ping_seconds
        if ws.input_buffer:
            ws.input_buffer.clear()  # clients have nothing to say; don't keep it


def _send_frame(ws, subscription: Subscription, frame: bytes) -> None:
    subscription.sending()  # the hub drops us if this takes too long
    try:
        ws.sock.sendall(frame)
    except OSError:
        if not subscription.is_dropped:  # the hub's drops are counted by their reason
            metrics.REALTIME_DROPPED.labels(reason="send_failed").inc()
        raise
    finally:
        subscription.sent()


@functools.lru_cache(maxsize=256)
def _shared_text_frame(message: str) -> bytes:
    """`_text_frame`, built once per change: every subscriber of a change is
    sent the same fragment, and this is the fan-out's hot path."""
    return _text_frame(message)


def _text_frame(message: str) -> bytes:
    """One unmasked, uncompressed text frame (RFC 6455 5.2; RFC 7692 allows an
    uncompressed message even when permessage-deflate was agreed), written
    here rather than by wsproto so that it can be shared."""
    payload = message.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def _close_silent(ws) -> None:
    """Close a client that stopped answering: a close frame (1011, which htmx's
    ws extension reconnects after, should it still be there), then shut the
    socket down so simple-websocket's reader thread, blocked reading, ends too."""
    try:
        ws.close(reason=1011, message="No answer to ping")
    except Exception:  # already closed, or the send failed: the shutdown still ends it
        pass
    _abort(ws)


def _abort(ws) -> None:
    """Called on the hub's thread: end the connection without sending anything."""
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    ws.event.set()
