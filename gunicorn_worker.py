"""gunicorn's gthread worker with a read deadline on every request.

Stock gthread waits (off-thread) for a connection's first byte, but once a
request has started a thread reads its headers and body with a blocking
socket and no timeout: a client that sends half a body and stops holds that
thread until it hangs up, and `GUNICORN_THREADS` such clients stop the
process answering anything, `/health/live` included.

Here each request's headers and body must arrive within
`REQUEST_READ_TIMEOUT_SECONDS` of its first byte (a total, so trickling a
byte at a time does not help), and a send that makes no progress for that
long is abandoned too:

* headers not complete by then: the connection is closed (gunicorn treats it
  as a client that went away; nothing is logged above debug);
* body not complete by then: reading it raises `ReadDeadlineExceeded`, a
  werkzeug 408, so the app answers with its usual error object; it is not an
  OSError, which werkzeug would turn into a misleading 400 "client
  disconnected". The connection is then closed, not kept alive.

A WebSocket is a request whose reading never ends: the handshake route calls
`environ["gunicorn.socket"].release_read_deadline()` once it accepts the
upgrade, and its own
pings and read deadline take over (app/web/realtime.py).

Behind a buffering reverse proxy (nginx `proxy_request_buffering on`, the
default) the proxy absorbs slow clients and hands over whole requests; this
deadline is the backstop for direct exposure or a proxy that streams.
"""
from __future__ import annotations

import os
import socket
import time

from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import RequestTimeout

DEFAULT_READ_TIMEOUT_SECONDS = 30.0


class ReadDeadlineExceeded(RequestTimeout):
    """The request body did not arrive in time (408)."""

    description = ("The request took too long to arrive. Please check your connection "
                   "and try again.")


class DeadlineSocket(socket.socket):
    """A client socket whose reads share one deadline per request."""

    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS
    _deadline: float | None = None
    _headers_read = False
    _responded = False
    _released = False

    @classmethod
    def adopt(cls, sock: socket.socket, read_timeout: float) -> "DeadlineSocket":
        """The same connection (same file descriptor) as this class."""
        family, kind, proto = sock.family, sock.type, sock.proto
        adopted = cls(family, kind, proto, fileno=sock.detach())
        adopted.read_timeout = read_timeout
        return adopted

    def start_request(self) -> None:
        """A new request on this connection: its deadline starts at its first read."""
        self._deadline = None
        self._headers_read = False
        self._responded = False

    def headers_read(self) -> None:
        self._headers_read = True

    def responded(self) -> None:
        self._responded = True

    @property
    def expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def release_read_deadline(self) -> None:
        """No deadlines from now on: a plain blocking socket (WebSockets)."""
        self._released = True
        super().settimeout(None)

    # -- reads: one deadline for headers + body ------------------------------------------
    def _arm(self) -> bool:
        """Set the timeout for the next read; False once the deadline has passed."""
        if self._released:
            return True
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self.read_timeout
        remaining = self._deadline - now
        if remaining <= 0:
            return False
        super().settimeout(remaining)
        return True

    def _expired(self, empty):
        if self._responded:
            raise TimeoutError("request read deadline")  # gunicorn's drain gives up on it
        if self._headers_read:
            raise ReadDeadlineExceeded()  # the application is reading the body
        return empty  # gunicorn's parser takes end-of-stream as the client going away

    def recv(self, bufsize, flags=0):
        if not self._arm():
            return self._expired(b"")
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            if self._released:
                raise
            return self._expired(b"")

    def recv_into(self, buffer, nbytes=0, flags=0):
        if not self._arm():
            return self._expired(0)
        try:
            return super().recv_into(buffer, nbytes, flags)
        except TimeoutError:
            if self._released:
                raise
            return self._expired(0)

    # -- sends: give up on a client that reads nothing for `read_timeout` ------------------
    def send(self, data, flags=0):
        if not self._released:
            super().settimeout(self.read_timeout)
        return super().send(data, flags)

    def sendall(self, data, flags=0):
        if self._released:
            return super().sendall(data, flags)
        # send() in a loop: the timeout is per step of progress, not for the whole
        # response (socket.sendall's timeout is a total, too short for a big file).
        view = memoryview(data).cast("B")
        while view:
            sent = self.send(view, flags)
            view = view[sent:]
        return None

    def sendfile(self, file, offset=0, count=None):
        if not self._released:
            super().settimeout(self.read_timeout)
        return super().sendfile(file, offset, count)


class DeadlineThreadWorker(ThreadWorker):
    """gthread with `DeadlineSocket` connections (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = float(os.environ.get("REQUEST_READ_TIMEOUT_SECONDS")
                                  or DEFAULT_READ_TIMEOUT_SECONDS)

    def handle(self, conn):
        # Runs on a pool thread while the main loop does not watch this socket,
        # so swapping the object (same descriptor) is safe.
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket.adopt(conn.sock, self.read_timeout)
        conn.sock.start_request()
        return super().handle(conn)

    def handle_request(self, req, conn):
        conn.sock.headers_read()
        try:
            return super().handle_request(req, conn)
        finally:
            conn.sock.responded()

    def _keepalive_after(self, conn, keepalive):
        """A request whose body ran out of time ends its connection."""
        if conn.sock.expired:
            return False
        return super()._keepalive_after(conn, keepalive)
