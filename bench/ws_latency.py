"""Commit-to-subscriber latency of live seat counts with many WebSocket subscribers.

Starts a throwaway PostgreSQL (tests/pg_server.py), migrates it, creates one
session, starts gunicorn (gunicorn.conf.py, WORKERS processes on PostgreSQL,
so LISTEN/NOTIFY carries every change to both), connects SUBSCRIBERS bare
WebSocket clients to /ws/availability?session=ID from CLIENT_PROCS separate
processes, then makes BOOKINGS bookings of one seat each from this process,
INTERVAL seconds apart.

For every booking it notes the wall-clock time just after its transaction's
commit returned; every client notes when the fragment with the new seat count
arrived: the kernel's receive timestamp of the packet (SO_TIMESTAMPNS, so the
clients' own slowness in reading 1,000 sockets is not counted) and, for
comparison, when the client process read it. All clocks are CLOCK_REALTIME
on one machine.

Reports p50/p95/p99/max over every (booking, subscriber) pair, the same for
the slowest subscriber of each booking, fragments that never arrived, the
load average (other work on the machine skews every figure) and the gunicorn
workers' memory and threads.

    .venv/bin/python bench/ws_latency.py [--subscribers 1000] [--bookings 40]
        [--interval 0.5] [--workers 2] [--threads 1000] [--client-procs 2]
"""
from __future__ import annotations

import argparse
import base64
import multiprocessing as mp
import os
import re
import selectors
import socket
import struct
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gunicorn_server import GunicornServer  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

CAPACITY = 1_000_000


# -- the subscribers (child processes) -------------------------------------------------
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: kernel receive time


class Subscriber:
    """A bare WebSocket client that notes when each seat count arrived: the
    kernel's receive timestamp of the packet, and when this process read it."""

    def __init__(self, sock: socket.socket, pattern: re.Pattern):
        self.sock = sock
        self.pattern = pattern
        self.buffer = bytearray()
        self.arrivals: dict[int, tuple[float, float]] = {}  # seats -> (kernel, read)

    def on_readable(self) -> None:
        data, ancdata, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        read_at = time.time()
        kernel_at = read_at
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = struct.unpack("qq", value[:16])
                kernel_at = seconds + nanos / 1e9
        if not data:
            raise ConnectionError("server closed the connection")
        self.buffer += data
        while (frame := self._frame()) is not None:
            opcode, payload = frame
            if opcode == 0x1:
                for match in self.pattern.finditer(payload):
                    self.arrivals.setdefault(int(match.group(1)), (kernel_at, read_at))
            elif opcode == 0x9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)

    def _frame(self):
        if len(self.buffer) < 2:
            return None
        opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        header = 2 + {126: 2, 127: 8}.get(length, 0)
        if len(self.buffer) < header:
            return None
        if length == 126:
            length = struct.unpack(">H", self.buffer[2:4])[0]
        elif length == 127:
            length = struct.unpack(">Q", self.buffer[2:10])[0]
        if len(self.buffer) < header + length:
            return None
        payload = bytes(self.buffer[header:header + length])
        del self.buffer[:header + length]
        return opcode, payload


def _open(port: int, session_id: int, pattern: re.Pattern, batch: int) -> list[Subscriber]:
    """`batch` connections: handshakes sent together, then each snapshot read."""
    subs = []
    for _ in range(batch):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws/availability?session={session_id} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        subs.append(Subscriber(sock, pattern))
    for sub in subs:
        while b"\r\n\r\n" not in sub.buffer:
            sub.buffer += sub.sock.recv(65536)
        head, rest = bytes(sub.buffer).split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head[:80])
        sub.buffer = bytearray(rest)
        while True:  # the snapshot (it may have come with the handshake's answer)
            while (frame := sub._frame()) is not None:
                for match in pattern.finditer(frame[1]):
                    sub.arrivals.setdefault(int(match.group(1)), (0.0, 0.0))
            if sub.arrivals:
                break
            sub.buffer += sub.sock.recv(65536)
        sub.sock.setblocking(False)
    return subs


def client_process(port: int, session_id: int, count: int, pipe) -> None:
    pattern = re.compile(rb'id="seats-%d" hx-swap-oob="true" data-seats-available="(\d+)"'
                         % session_id)
    subs = []
    while len(subs) < count:
        subs += _open(port, session_id, pattern, min(50, count - len(subs)))
    selector = selectors.DefaultSelector()
    for sub in subs:
        selector.register(sub.sock, selectors.EVENT_READ, sub)
    pipe.send("ready")
    while not pipe.poll():
        for key, _ in selector.select(timeout=0.05):
            key.data.on_readable()
    pipe.recv()
    pipe.send([sub.arrivals for sub in subs])
    for sub in subs:
        sub.sock.close()


# -- the database and the bookings (this process) ------------------------------------
def prepare(url: str):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Course, CourseSession, Venue, utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO": False})
    ctx = app.app_context()
    ctx.push()
    upgrade()
    course = Course(slug="bench", title="Bench course", category="Bench", duration_hours=6,
                    price_pence=10000)
    venue = Venue(name="Bench hall", address_line1="1 Road", town="Leeds", postcode="LS1 4AP")
    starts = utcnow() + timedelta(days=30)
    session = CourseSession(course=course, venue=venue, starts_at=starts,
                            ends_at=starts + timedelta(hours=6), capacity=CAPACITY)
    db.session.add(session)
    db.session.commit()
    return app, session.id


def book_one(session_id: int) -> float:
    """Hold one seat; returns the time just after its commit returned."""
    from app.services.bookings import holds as svc
    from app.validation import AttendeeInput, BookingRequest, ContactInput

    request = BookingRequest(
        session_id=session_id,
        contact=ContactInput(name="Bench Client", email="bench@example.com",
                             phone="+447700900123", postcode="LS1 4AP", company=None),
        attendees=(AttendeeInput(name="Bench Learner", email=None, access_needs=None),))
    svc.hold_seats(request, policy=svc.BookingPolicy(hold_minutes=60))
    return time.time()


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def at(pct: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000

    return (f"p50 {at(50):.1f} ms, p95 {at(95):.1f} ms, p99 {at(99):.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms")


def worker_stats(pids: list[int]) -> str:
    parts = []
    for pid in pids:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                      .splitlines() if ":" in line)
        parts.append(f"pid {pid}: RSS {status['VmRSS'].strip()}, "
                     f"{status['Threads'].strip()} threads")
    return "; ".join(parts)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes."""
    return sum(cpu_split(pids))


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by these processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / ticks, system / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=2)
    args = parser.parse_args()

    pg = PostgresServer().start()
    url = pg.create_database("ws_bench")
    _app, session_id = prepare(url)
    server = GunicornServer(url, workers=args.workers, threads=args.threads,
                            env={"GUNICORN_ACCESS_LOG": ""}).start()
    clients = []
    try:
        started = time.monotonic()
        share = [args.subscribers // args.client_procs] * args.client_procs
        share[0] += args.subscribers - sum(share)
        for count in share:
            parent, child = mp.Pipe()
            proc = mp.Process(target=client_process, args=(server.port, session_id, count, child))
            proc.start()
            clients.append((proc, parent))
        for _, pipe in clients:
            if not pipe.poll(300) or pipe.recv() != "ready":
                raise RuntimeError("subscribers did not connect")
        print(f"{args.subscribers} subscribers connected in {time.monotonic() - started:.1f}s "
              f"({worker_stats(server.worker_pids())})", flush=True)

        seats_left = CAPACITY
        for _ in range(3):  # warm-up, not measured
            book_one(session_id)
            seats_left -= 1
            time.sleep(args.interval)
        workers = server.worker_pids()
        idle_started, idle_cpu = time.monotonic(), cpu_seconds(workers)
        time.sleep(3)  # what the workers burn with nothing to send (pings, pollers)
        idle_rate = (cpu_seconds(workers) - idle_cpu) / (time.monotonic() - idle_started)
        committed: dict[int, float] = {}  # seats left after a booking -> its commit time
        cpu_before, measured_from = cpu_seconds(workers), time.monotonic()
        split_before = cpu_split(workers)
        for _ in range(args.bookings):
            committed_at = book_one(session_id)
            seats_left -= 1
            committed[seats_left] = committed_at
            time.sleep(args.interval)
        time.sleep(2)
        cpu_used = (cpu_seconds(workers) - cpu_before
                    - idle_rate * (time.monotonic() - measured_from))
        split_after = cpu_split(workers)
        user_share = ((split_after[0] - split_before[0])
                      / max(1e-9, sum(split_after) - sum(split_before)))

        stats = worker_stats(server.worker_pids())
        arrivals = []
        for _, pipe in clients:
            pipe.send("report")
            arrivals += pipe.recv()
    finally:
        for proc, _ in clients:
            proc.join(10)
        server.stop()
        pg.destroy()

    kernel, read, slowest, missing = [], [], [], 0
    for seats, at in committed.items():
        per_booking = []
        for got in arrivals:
            if seats in got:
                kernel_at, read_at = got[seats]
                per_booking.append(kernel_at - at)
                read.append(read_at - at)
            else:
                missing += 1
        kernel += per_booking
        if per_booking:
            slowest.append(max(per_booking))
    print(f"workers: {args.workers} x gthread/{args.threads} threads; "
          f"{len(arrivals)} subscribers; {len(committed)} bookings, {args.interval}s apart; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"commit -> fragment at the subscriber's socket ({len(kernel)} deliveries): "
          f"{percentiles(kernel)}")
    print(f"commit -> last subscriber of each booking: {percentiles(slowest)}")
    print(f"commit -> read by the client processes: {percentiles(read)}")
    print(f"fragments missing: {missing}")
    print(f"gunicorn CPU per booking broadcast to all {len(arrivals)} subscribers "
          f"(both workers, idle use subtracted): {1000 * cpu_used / len(committed):.1f} ms, "
          f"{100 * user_share:.0f}% of it in user space")
    print(f"gunicorn workers at the end: {stats}")


if __name__ == "__main__":
    main()
