"""/ws/availability against a real server: gunicorn, two worker processes,
PostgreSQL (LISTEN/NOTIFY between them). Bookings are made through the API
(in whichever worker takes the request) or by this test process, a third
process; subscribers are spread over both workers."""
from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
import struct
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from app_setup import make_test_config, migrate_database
from websockets.sync.client import connect

from app import create_app
from app.extensions import db
from app.models import CourseSession, utcnow
from app.repositories import unit_of_work
from app.services.bookings import holds as svc

from factories import CourseFactory, SessionFactory, VenueFactory, booking_request
from gunicorn_server import GunicornServer
from pg_server import PostgresServer

POLICY = svc.BookingPolicy(hold_minutes=30, max_seats=6)
WAIT = 10.0  # generous upper bounds: only a failure waits this long
PING_SECONDS = 1.0


# -- fixtures: one PostgreSQL database, one gunicorn with two workers -------------------
@pytest.fixture(scope="module")
def pg_url(private_postgres_server):
    """On a server of this worker's own: the last test restarts it."""
    if isinstance(private_postgres_server, PostgresServer):
        url = private_postgres_server.create_database("booking_ws")
    else:
        url = private_postgres_server  # a server the developer runs (TEST_POSTGRES_URL)
    migrate_database(url)
    return url


@pytest.fixture(scope="module")
def pg_app(pg_url):
    """This test process's own app: it writes test data and books as a third process."""
    app = create_app(make_test_config(pg_url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def server(pg_url, pg_app):
    gunicorn = GunicornServer(pg_url, workers=2, threads=64, env={
        "WS_PING_SECONDS": str(PING_SECONDS),
        "WS_SEND_TIMEOUT_SECONDS": "3",
        "GUNICORN_ACCESS_LOG": "",
        # Every client here is 127.0.0.1: caps and rate limits have tests of their own.
        "WS_MAX_PER_CLIENT": "64",
        "RATELIMIT_ENABLED": "false",
        # One client and one email make every hold in this module, which stays open.
        "HOLD_LIMIT_PER_CLIENT": "0", "HOLD_SEATS_LIMIT_PER_CLIENT": "0",
        "HOLD_LIMIT_PER_EMAIL": "0", "HOLD_SEATS_LIMIT_PER_EMAIL": "0",
    }).start()
    yield gunicorn
    gunicorn.stop()
    log = gunicorn.read_log(tail=10**7)
    print(log[-3000:])
    assert "Traceback" not in log, log


def ws_connect(server, query: str = ""):
    return connect(f"{server.ws_url}/ws/availability{query}", open_timeout=WAIT,
                   close_timeout=1)


def seats_in(message: str, session_id: int) -> list[int]:
    return [int(n) for n in re.findall(
        rf'<span id="seats-{session_id}" hx-swap-oob="true" data-seats-available="(\d+)"', message)]


def receive_until(ws, wanted, timeout: float = WAIT) -> str:
    """Messages received until `wanted(all_text)` holds; fails after `timeout`."""
    received = ""
    deadline = time.monotonic() + timeout
    while not wanted(received):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; received {received[-500:]!r}")
        try:
            received += ws.recv(timeout=remaining)
        except TimeoutError:
            pass
    return received


def receive_for(ws, seconds: float) -> str:
    received = ""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            received += ws.recv(timeout=remaining)
        except TimeoutError:
            break
    return received


def worker_of(ws, server) -> int | None:
    """The gunicorn worker process holding this client's connection (from /proc)."""
    client_port = ws.socket.getsockname()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == server.port and remote_port == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in server.worker_pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


def clients_on_both_workers(server, query: str, stack: contextlib.ExitStack, *,
                            at_most: int = 30) -> list:
    """Open clients until both workers hold at least one (then every booking,
    whichever worker or process makes it, must cross to another process)."""
    clients, workers = [], set()
    for _ in range(at_most):
        ws = stack.enter_context(ws_connect(server, query))
        ws.recv(timeout=WAIT)  # the snapshot
        clients.append(ws)
        workers.add(worker_of(ws, server))
        if len(workers - {None}) == 2:
            return clients
    raise AssertionError(f"{at_most} clients all landed on {workers}")


def api_booking(server, session_id: int, seats: int = 1) -> requests.Response:
    return requests.post(f"{server.http_url}/api/v1/bookings", timeout=WAIT, json={
        "session_id": session_id,
        "contact": {"name": "Priya Shah", "email": "priya@example.com", "phone": "07700 900123",
                    "postcode": "LS1 4AP", "company": ""},
        "attendees": [{"name": f"Learner {chr(65 + i)}", "email": ""} for i in range(seats)],
        "accept_terms": True,
    })


class RawClient:
    """A bare WebSocket client that reads (or doesn't) exactly when told to."""

    def __init__(self, server, query: str, *, receive_buffer: int | None = None):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(WAIT)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws/availability{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def frame(self, timeout: float = WAIT) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; opcode -1 when the server hung up."""
        self.sock.settimeout(timeout)
        try:
            self._fill(2)
            opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
            header = 2 + {126: 2, 127: 8}.get(length, 0)
            self._fill(header)
            if length == 126:
                length = struct.unpack(">H", self.buffer[2:4])[0]
            elif length == 127:
                length = struct.unpack(">Q", self.buffer[2:10])[0]
            self._fill(header + length)
        except ConnectionError:
            return -1, b""
        payload = self.buffer[header:header + length]
        self.buffer = self.buffer[header + length:]
        return opcode, payload

    def _fill(self, size: int) -> None:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk

    def read_until_closed(self, timeout: float) -> int:
        """Bytes read until the server closes the connection; fails after `timeout`."""
        total = len(self.buffer)
        self.sock.settimeout(timeout)
        try:
            while chunk := self.sock.recv(65536):
                total += len(chunk)
        except ConnectionResetError:
            pass
        return total

    def close(self) -> None:
        self.sock.close()


# -- the contract --------------------------------------------------------------------------
def test_the_first_message_is_a_snapshot_of_every_watched_count(server):
    session = SessionFactory(capacity=9)
    svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
    other = SessionFactory(capacity=4)

    with ws_connect(server, f"?session={session.id}&session={other.id}") as ws:
        snapshot = ws.recv(timeout=WAIT)

    assert seats_in(snapshot, session.id) == [7] and seats_in(snapshot, other.id) == [4]
    assert "1 person is booking this session right now" in snapshot


def test_a_booking_through_the_api_reaches_subscribers_on_both_workers(server):
    session = SessionFactory(capacity=12)
    with contextlib.ExitStack() as stack:
        clients = clients_on_both_workers(server, f"?session={session.id}", stack)
        response = api_booking(server, session.id, seats=3)
        assert response.status_code == 201, response.text
        for ws in clients:
            message = receive_until(ws, lambda t: 9 in seats_in(t, session.id))
            assert "1 person is booking this session right now" in message


def test_a_booking_committed_by_another_process_reaches_both_workers(server):
    session = SessionFactory(capacity=5)
    with contextlib.ExitStack() as stack:
        clients = clients_on_both_workers(server, f"?session={session.id}", stack)
        svc.hold_seats(booking_request(session.id, 3), policy=POLICY)  # this test process
        for ws in clients:
            message = receive_until(ws, lambda t: 2 in seats_in(t, session.id))
            assert "Only 2 seats left" in message


def test_subscribers_get_only_the_rooms_they_asked_for(server):
    course = CourseFactory()
    watched = SessionFactory(course=course, capacity=12)
    same_course = SessionFactory(course=course, capacity=12)
    elsewhere = SessionFactory(capacity=12)

    with ws_connect(server, f"?session={watched.id}") as by_session, \
            ws_connect(server, f"?course={course.slug}") as by_course, \
            ws_connect(server) as everything:
        for ws in (by_session, by_course, everything):
            ws.recv(timeout=WAIT)
        # Delivery follows commit order: the last booking is the sentinel.
        svc.hold_seats(booking_request(elsewhere.id), policy=POLICY)
        svc.hold_seats(booking_request(same_course.id), policy=POLICY)
        svc.hold_seats(booking_request(watched.id), policy=POLICY)

        got = {name: receive_until(ws, lambda t: seats_in(t, watched.id))
               for name, ws in (("session", by_session), ("course", by_course),
                                ("all", everything))}

    assert seats_in(got["session"], same_course.id) == [] == seats_in(got["session"], elsewhere.id)
    assert seats_in(got["course"], same_course.id) == [11]
    assert seats_in(got["course"], elsewhere.id) == []
    assert seats_in(got["all"], same_course.id) == [11] == seats_in(got["all"], elsewhere.id)


def test_a_rolled_back_booking_broadcasts_nothing(server):
    rolled_back, sentinel = SessionFactory(capacity=12), SessionFactory(capacity=12)
    with ws_connect(server, f"?session={rolled_back.id}&session={sentinel.id}") as ws:
        ws.recv(timeout=WAIT)
        with pytest.raises(RuntimeError):
            with unit_of_work():
                svc.hold_seats(booking_request(rolled_back.id, 4), policy=POLICY)
                raise RuntimeError("the payment step failed")
        svc.hold_seats(booking_request(sentinel.id, 1), policy=POLICY)

        received = receive_until(ws, lambda t: seats_in(t, sentinel.id))
        received += receive_for(ws, 0.5)

    assert seats_in(received, sentinel.id) == [11]
    assert seats_in(received, rolled_back.id) == []


def test_a_client_that_stops_reading_does_not_delay_the_others(server, pg_app):
    # Enough upcoming sessions that the stuck client's snapshot overflows its
    # socket buffers, so its own thread blocks in send.
    course, venue = CourseFactory(), VenueFactory()
    starts = utcnow() + timedelta(days=20)
    db.session.add_all([CourseSession(course=course, venue=venue, capacity=12, starts_at=starts,
                                      ends_at=starts + timedelta(hours=6)) for _ in range(400)])
    db.session.commit()
    session = SessionFactory(capacity=12)

    stuck = RawClient(server, "", receive_buffer=4096)  # all upcoming; never reads
    try:
        with ws_connect(server, f"?session={session.id}") as reader:
            reader.recv(timeout=WAIT)
            for seats in (11, 10, 9):
                started = time.monotonic()
                svc.hold_seats(booking_request(session.id), policy=POLICY)
                receive_until(reader, lambda t, s=seats: s in seats_in(t, session.id))
                assert time.monotonic() - started < 2.0
        # The server gave up on the stuck client (send timeout): its socket is
        # closed before the whole snapshot (~150 KB) was delivered.
        assert stuck.read_until_closed(timeout=WAIT) < 100_000
    finally:
        stuck.close()


def test_idle_connections_get_pings_and_a_client_that_never_answers_is_dropped(server):
    session = SessionFactory()
    client = RawClient(server, f"?session={session.id}")  # reads, but never answers a ping
    try:
        opcodes = []
        deadline = time.monotonic() + 5 * PING_SECONDS + WAIT
        while time.monotonic() < deadline:
            opcode, _ = client.frame()
            opcodes.append(opcode)
            if opcode in (-1, 0x8):  # hung up, or a close frame
                break
        assert opcodes[0] == 0x1  # the snapshot, as text
        assert 0x9 in opcodes  # ping
        assert opcodes[-1] in (-1, 0x8)
    finally:
        client.close()


def test_bad_subscriptions_are_closed_with_a_policy_violation(server):
    with ws_connect(server, "?session=not-a-number") as ws:
        with pytest.raises(Exception):
            ws.recv(timeout=WAIT)
        assert ws.close_code == 1008


# Last: it restarts the database under everything else.
def test_the_listener_survives_a_postgresql_restart(server, private_postgres_server):
    if not isinstance(private_postgres_server, PostgresServer):
        pytest.skip("needs the suite's own PostgreSQL to restart")
    session = SessionFactory(capacity=12)
    with contextlib.ExitStack() as stack:
        clients = clients_on_both_workers(server, f"?session={session.id}", stack)
        private_postgres_server.restart(down_seconds=1.0)
        booked = False
        deadline = time.monotonic() + 30
        while not booked:
            try:
                svc.hold_seats(booking_request(session.id, 2), policy=POLICY)
                booked = True
            except Exception:  # the pool's connections died with the server
                db.session.rollback()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Either the NOTIFY (listener back in time) or the resync after the
        # listener reconnects brings the new count to every worker's clients.
        for ws in clients:
            receive_until(ws, lambda t: 10 in seats_in(t, session.id), timeout=30)
        response = api_booking(server, session.id, seats=1)
        assert response.status_code == 201, response.text
        for ws in clients:
            receive_until(ws, lambda t: 9 in seats_in(t, session.id))
