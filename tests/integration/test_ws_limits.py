"""Thread exhaustion and handshakes against a real gunicorn (one gthread worker,
GUNICORN_THREADS=20, SQLite): WebSocket caps per client address and per process,
silent sockets closed, malformed or foreign handshakes refused before the
upgrade, and request bodies that never finish cut off by the read deadline.

Other client addresses come from the rest of 127.0.0.0/8 (all loopback on Linux)."""
from __future__ import annotations

import base64
import contextlib
import os
import socket
import time

import pytest
import requests
from app_setup import migrate_database
from websockets.sync.client import connect

from gunicorn_server import GunicornServer

THREADS = 20
PER_CLIENT = 8
PER_PROCESS = THREADS - max(4, THREADS // 4)  # the default: 15
READ_TIMEOUT = 2.0
PING_SECONDS = 1.0
WAIT = 10.0  # upper bounds only: a passing test never waits this long
ORIGIN = "http://book.example.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('ws-limits') / 'db.sqlite3'}"
    migrate_database(url)
    gunicorn = GunicornServer(url, workers=1, threads=THREADS, env={
        "WS_PING_SECONDS": str(PING_SECONDS),
        "REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "ALLOWED_ORIGINS": ORIGIN,
        "GUNICORN_ACCESS_LOG": "",
        "RATELIMIT_ENABLED": "false",  # the caps under test, not the connect rate limit
    }).start()
    yield gunicorn
    gunicorn.stop()
    log = gunicorn.read_log(tail=10**7)
    assert "Traceback" not in log, log[-3000:]


def raw_socket(server, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.settimeout(WAIT)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def handshake(server, *, source: str = "127.0.0.1", version: str | None = "13",
              key: str | None = "", origin: str | None = None) -> tuple[socket.socket, bytes]:
    """(the socket, the response head) of a hand-written upgrade request."""
    sock = raw_socket(server, source)
    lines = ["GET /ws/availability HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key or base64.b64encode(os.urandom(16)).decode()}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head.split(b"\r\n\r\n", 1)[0]


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def idle_client(server, source: str, stack: contextlib.ExitStack):
    """A well-behaved client (it answers pings) that just sits there, open until
    `stack` closes; the HTTP status if it is refused."""
    try:
        return stack.enter_context(connect(
            f"{server.ws_url}/ws/availability", sock=raw_socket(server, source),
            open_timeout=WAIT, close_timeout=1))
    except Exception as exc:  # websockets' InvalidStatus: the refusal
        return getattr(getattr(exc, "response", None), "status_code", None) or exc


def metric(server, name: str) -> float:
    text = requests.get(f"{server.http_url}/metrics", timeout=WAIT).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name))


def live_status(server) -> int:
    return requests.get(f"{server.http_url}/health/live", timeout=WAIT).status_code


# -- caps -----------------------------------------------------------------------------------
def test_twenty_idle_sockets_from_one_address_leave_threads_for_plain_requests(server):
    with contextlib.ExitStack() as stack:
        results = [idle_client(server, "127.0.0.1", stack) for _ in range(THREADS)]
        opened = [r for r in results if hasattr(r, "recv")]
        assert live_status(server) == 200
    assert len(opened) == PER_CLIENT
    assert [r for r in results if not hasattr(r, "recv")] == [429] * (THREADS - PER_CLIENT)


def test_the_per_process_cap_refuses_with_503_whoever_asks(server):
    sources = [f"127.0.0.{n}" for n in range(2, 2 + THREADS // 4) for _ in range(4)]
    with contextlib.ExitStack() as stack:
        results = [idle_client(server, source, stack) for source in sources]
        opened = [r for r in results if hasattr(r, "recv")]
        assert live_status(server) == 200
        assert len(opened) == PER_PROCESS
        assert [r for r in results if not hasattr(r, "recv")] == [503] * (THREADS - PER_PROCESS)
    assert metric(server, 'realtime_dropped_total{reason="per_process_limit"}') >= 5


def test_a_refused_connection_is_answered_with_retry_after(server):
    with contextlib.ExitStack() as stack:
        for _ in range(PER_CLIENT):
            assert hasattr(idle_client(server, "127.0.0.40", stack), "recv")
        sock, head = handshake(server, source="127.0.0.40")
        sock.close()
    assert status_of(head) == 429
    assert b"\r\nRetry-After: " in head


def test_closed_connections_give_their_slot_back(server):
    for _ in range(2 * PER_CLIENT):
        with contextlib.ExitStack() as stack:
            ws = idle_client(server, "127.0.0.50", stack)
            assert hasattr(ws, "recv"), ws
        # The slot is released when the server's thread notices; the next
        # connect may race it, so wait for the close to be seen.
        deadline = time.monotonic() + WAIT
        while metric(server, "websocket_connections") > 0 and time.monotonic() < deadline:
            time.sleep(0.05)


# -- silent sockets ----------------------------------------------------------------------------
def test_a_client_that_never_answers_pings_is_closed_and_counted(server):
    before = metric(server, 'realtime_dropped_total{reason="ping_timeout"}')
    sock, head = handshake(server, source="127.0.0.60")
    assert status_of(head) == 101
    received = b""
    try:
        while chunk := sock.recv(65536):  # never answers: closed within ~2 pings
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    assert b"\x89\x00" in received  # a ping was sent
    assert b"\x88" in received and (1011).to_bytes(2, "big") in received  # close, 1011
    assert metric(server, 'realtime_dropped_total{reason="ping_timeout"}') == before + 1


# -- handshakes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [
    {"key": None}, {"key": "not base64!"}, {"key": base64.b64encode(b"short").decode()},
    {"version": "8"}, {"version": None},
], ids=["no-key", "key-not-base64", "key-not-16-bytes", "version-8", "no-version"])
def test_a_malformed_handshake_is_a_400_not_a_500(server, change):
    sock, head = handshake(server, **change)
    sock.close()
    assert status_of(head) == 400, head
    assert b"\r\nSec-WebSocket-Version: 13" in head


@pytest.mark.parametrize("origin", ["https://evil.example", "null",
                                    "http://book.example.test.evil.example"])
def test_a_foreign_origin_is_refused_with_403(server, origin):
    sock, head = handshake(server, origin=origin)
    sock.close()
    assert status_of(head) == 403, head


@pytest.mark.parametrize("origin", [ORIGIN, "HTTP://Book.Example.Test:80", None,
                                    "http://127.0.0.1"],
                         ids=["allowed", "allowed-spelt-differently", "none", "same-host-dev"])
def test_the_sites_own_origin_and_non_browser_clients_are_accepted(server, origin):
    sock, head = handshake(server, origin=origin, source="127.0.0.70")
    sock.close()
    assert status_of(head) == 101, head


# -- request bodies ---------------------------------------------------------------------------------
def test_bodies_that_never_finish_are_cut_off_and_liveness_still_answers(server):
    slow = []
    try:
        for _ in range(THREADS):  # one per thread: without a deadline, nothing else runs
            sock = raw_socket(server)
            sock.sendall(b"POST /api/v1/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            slow.append(sock)
        time.sleep(0.2)  # every thread is now reading a body
        assert live_status(server) == 200
        answers = [sock.recv(4096) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[0][:200]


def test_headers_that_never_finish_are_cut_off(server):
    sock = raw_socket(server)
    try:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert sock.recv(4096) == b""  # closed by the server (our own timeout would raise)
    finally:
        sock.close()
