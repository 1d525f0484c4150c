"""A real gunicorn for tests and benchmarks: `python -m gunicorn -c gunicorn.conf.py
wsgi:app` in a subprocess, on a free loopback port, with the same Python that
runs the tests (so it works from .venv in CI)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from pg_server import free_port

ROOT = Path(__file__).resolve().parent.parent


class GunicornServer:
    def __init__(self, database_url: str, *, workers: int = 2, threads: int = 64,
                 env: dict[str, str] | None = None, app: str = "wsgi:app"):
        self.app = app
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="gunicorn-")
        self.log_path = os.path.join(self.root, "server.log")
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "SEED_DEMO": "0",
            "APP_ENV": "development",
            "RUN_WORKER_IN_PROCESS": "0",
            "INSTANCE_PATH": os.path.join(self.root, "instance"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "GunicornServer":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            # No control socket: several servers may run at once (tests, benchmarks).
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket",
             self.app],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.read_log()}")
            try:
                with urllib.request.urlopen(f"{self.http_url}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not become ready:\n{self.read_log()}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT is gunicorn's quick shutdown: open WebSockets would hold a
        # graceful (SIGTERM) one for the whole graceful_timeout.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._log.close()

    def read_log(self, tail: int = 6000) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()[-tail:]
        except OSError:
            return ""
