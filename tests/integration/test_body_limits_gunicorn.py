"""Body limits behind a real gunicorn: a chunked webhook body over its limit is answered
413 as soon as the limit is passed, while the client is still sending, so an unsigned
24 MB body is never read whole (gunicorn decodes the chunks; the app stops reading)."""
from __future__ import annotations

import select
import socket
import sqlite3
import time

import pytest
from app_setup import migrate_database

from gunicorn_server import GunicornServer

KIB = 1024
LIMIT = 128 * KIB
CHUNK = 64 * KIB
ANSWER_WITHIN = 10.0  # an upper bound: a passing test does not wait for it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("body-limits") / "db.sqlite3"
    migrate_database(f"sqlite:///{path}")
    gunicorn = GunicornServer(f"sqlite:///{path}", workers=1, threads=4, env={
        "WEBHOOK_MAX_BODY_BYTES": str(LIMIT),
        # Far longer than the test waits: only the size limit can produce the answer.
        "REQUEST_READ_TIMEOUT_SECONDS": "120",
        "GUNICORN_ACCESS_LOG": "",
        "RATELIMIT_ENABLED": "false",
    }).start()
    gunicorn.db_path = path
    yield gunicorn
    gunicorn.stop()


def start_chunked_post(server, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_WITHIN)
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                  "Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\n"
                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode())
    return sock


def send_chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    raw = b""
    deadline = time.monotonic() + ANSWER_WITHIN
    while time.monotonic() < deadline:
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not part:
            break
        raw += part
    assert raw, f"no answer within {ANSWER_WITHIN} s"
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def test_a_24_mb_chunked_unsigned_webhook_is_refused_while_it_is_still_being_sent(server):
    sock = start_chunked_post(server, "/webhooks/stripe")
    sent, total = 0, 24 * KIB * KIB
    try:
        while sent < total and not answered(sock):
            send_chunk(sock, b"x" * CHUNK)
            sent += CHUNK
            if sent >= 2 * KIB * KIB:
                break  # well past the limit: the answer must come without more body
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were sending: also a pass
    status, body = read_answer(sock)
    sock.close()
    assert status == 413
    assert sent < total  # the body was never finished, so it cannot have been read whole
    assert b'"code":"request_entity_too_large"' in body.replace(b" ", b"")
    with sqlite3.connect(server.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 0


def test_a_small_chunked_webhook_is_read_whole_and_its_signature_checked(server):
    """The control: chunked bodies within the limit reach the signature check."""
    sock = start_chunked_post(server, "/webhooks/stripe")
    send_chunk(sock, b'{"id": "evt_1", "type": "x", "pad": "' + b"y" * (10 * KIB) + b'"}')
    sock.sendall(b"0\r\n\r\n")
    status, body = read_answer(sock)
    sock.close()
    assert status == 400
    assert b"invalid_signature" in body
