"""A throwaway Redis for tests: Debian's `redis-server` on a free loopback port, no
persistence, stopped at the end. Outside CI a machine without it skips the tests
that need it (apt-get install redis-server); in CI (CI=true) that is an error."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

from pg_server import free_port


class RedisUnavailable(RuntimeError):
    """No redis-server binary to start."""


class RedisServer:
    def __init__(self):
        self.binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        if not self.binary:
            raise RedisUnavailable("no redis-server found; install Debian's redis-server")
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="redis-test-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.root, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)
