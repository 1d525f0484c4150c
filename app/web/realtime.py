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

Frames are written here, not by wsproto, so that one frame serves every
subscriber of a change. This leans on simple-websocket's Server attributes
(`event`, `sock`, `connected`, `pong_received`, `input_buffer`), which is why
requirements.txt pins simple-websocket.
"""
from __future__ import annotations

import functools
import socket
import struct

from flask import Blueprint, Flask, render_template, request
from simple_websocket import ConnectionClosed

from app.extensions import db, sock
from app.monitoring import metrics
from app.services.core.errors import InvalidInput
from app.services.realtime import announce
from app.services.realtime.hub import Subscription

bp = Blueprint("realtime", __name__)

POLICY_VIOLATION = 1008
PING_FRAME = b"\x89\x00"  # an empty ping, unmasked as server frames are


def init_app(app: Flask) -> None:
    """Give the app its live-availability hub (threads start with the first client)."""
    announce.configure(app, render=render_seat_count)


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
    """Send queued fragments until the connection ends; ping after a quiet
    `ping_seconds`, and give up on a client that did not answer the last ping.

    This loop runs for every subscriber of every change: keep it lean.
    """
    event = ws.event
    while True:
        woken = event.wait(ping_seconds)
        event.clear()
        if subscription.is_dropped or not ws.connected:
            return
        messages = subscription.take()
        if len(messages) == 1:
            _send_frame(ws, subscription, _shared_text_frame(messages[0]))
        elif messages:
            _send_frame(ws, subscription, _text_frame("".join(messages)))
        elif not woken:
            if not ws.pong_received:
                return
            ws.pong_received = False
            _send_frame(ws, subscription, PING_FRAME)
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


def _abort(ws) -> None:
    """Called on the hub's thread: end the connection without sending anything."""
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    ws.event.set()
