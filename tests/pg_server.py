"""A throwaway PostgreSQL server for tests and benchmarks.

Starts Debian's postgresql-15 binaries on a temporary data directory and a
free loopback port. PostgreSQL refuses to run as root, so as root it runs as
the `postgres` user. Usable as a library (`PostgresServer`, and `RunServers`
for the servers a parallel test run shares) or from a shell:
`python tests/pg_server.py` prints the URL and serves until interrupted.
"""
from __future__ import annotations

import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> str:
    """Where initdb and pg_ctl live: $PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    candidates = [os.environ.get("PG_BIN", "")] + sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), reverse=True
    )
    for path in candidates:
        if path and os.path.exists(os.path.join(path, "initdb")):
            return path
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) found; install postgresql-15")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, *, port: int | None = None, max_connections: int = 300,
                 root: str | None = None):
        self.bin_dir = find_bin_dir()
        self.port = port or free_port()
        self.max_connections = max_connections
        self.root = root or tempfile.mkdtemp(prefix="pgtest-")
        self.data_dir = os.path.join(self.root, "data")
        self.log_file = os.path.join(self.root, "server.log")
        self._as_postgres = os.geteuid() == 0

    def to_state(self) -> dict:
        return {"port": self.port, "root": self.root, "max_connections": self.max_connections}

    @classmethod
    def attach(cls, state: dict) -> "PostgresServer":
        """A handle on a server another process started (see `to_state`)."""
        return cls(port=state["port"], root=state["root"],
                   max_connections=state["max_connections"])

    @property
    def user(self) -> str:
        return "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [os.path.join(self.bin_dir, args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def start(self) -> "PostgresServer":
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        os.chmod(self.root, 0o700)
        if not os.path.exists(self.data_dir):
            self._run("initdb", "-D", self.data_dir, "-U", self.user, "--auth=trust",
                      "-E", "UTF8", "--no-sync")
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        options = " ".join([
            f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1",
            f"-c max_connections={self.max_connections}",
            # Durability is not what tests measure; these make them fast.
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
        ])
        result = self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-o", options,
                           "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr}\n{self.read_log()}")

    def stop(self) -> None:
        """Stop the server; kill the postmaster if a clean stop fails, so none is left behind."""
        if not os.path.exists(self.data_dir):
            return
        self._run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "-t", "30", "stop",
                  check=False)
        pid = self._postmaster_pid()
        if pid is None:
            return
        self._run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "10", "stop",
                  check=False)
        if self._postmaster_pid() == pid:
            os.kill(pid, signal.SIGKILL)

    def _postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from postmaster.pid; None when it is not running."""
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as fh:
                pid = int(fh.readline())
            with open(f"/proc/{pid}/cmdline", "rb") as fh:  # not a reused pid
                running = self.data_dir.encode() in fh.read()
        except (OSError, ValueError):
            return None
        return pid if running else None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop and start again on the same port and data (for reconnect tests)."""
        self.stop()
        time.sleep(down_seconds)
        self._pg_ctl_start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def read_log(self) -> str:
        try:
            with open(self.log_file) as fh:
                return fh.read()[-4000:]
        except OSError:
            return ""


class RunServers:
    """The PostgreSQL servers of one test run, recorded in a directory the run's
    processes share, so that the process that owns the run stops every one of them
    at the end, whichever process started it and however the tests ended.

    `shared()` is the run's one server: the first process to ask starts it (under a
    file lock), later ones attach to it; each creates databases of its own on it.
    `private(name)` is a server for one process alone (tests that restart it).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)

    def _state_path(self, name: str) -> Path:
        return self.dir / f"postgres-{name}.json"

    def _record(self, name: str, state: dict) -> None:
        path = self._state_path(name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)

    def _start(self, name: str, server: PostgresServer) -> PostgresServer:
        # Recorded before it starts: a process that dies half-way still leaves the
        # data directory to stop.
        self._record(name, server.to_state())
        try:
            return server.start()
        except PostgresUnavailable as exc:
            self._record(name, {**server.to_state(), "error": str(exc)})
            raise

    def shared(self, *, max_connections: int = 300) -> PostgresServer:
        with open(self.dir / "postgres-shared.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self._state_path("shared")
            if not path.exists():
                return self._start("shared", PostgresServer(max_connections=max_connections))
            state = json.loads(path.read_text())
            if state.get("error"):
                raise PostgresUnavailable(state["error"])
            return PostgresServer.attach(state)

    def private(self, name: str) -> PostgresServer:
        return self._start(name, PostgresServer())

    def destroy(self, name: str, server: PostgresServer) -> None:
        server.destroy()
        self._state_path(name).unlink(missing_ok=True)

    def destroy_all(self) -> None:
        for path in self.dir.glob("postgres-*.json"):
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            PostgresServer.attach(state).destroy()
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on kill, too
    server = PostgresServer().start()
    print(server.url(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.destroy()
