"""A throwaway PostgreSQL server for tests and benchmarks.

Starts Debian's postgresql-15 binaries on a temporary data directory and a
free loopback port. PostgreSQL refuses to run as root, so as root it runs as
the `postgres` user. Usable as a library (`PostgresServer`) or from a shell:
`python tests/pg_server.py` prints the URL and serves until interrupted.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


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
    def __init__(self, *, port: int | None = None, max_connections: int = 300):
        self.bin_dir = find_bin_dir()
        self.port = port or free_port()
        self.max_connections = max_connections
        self.root = tempfile.mkdtemp(prefix="pgtest-")
        self.data_dir = os.path.join(self.root, "data")
        self.log_file = os.path.join(self.root, "server.log")
        self._as_postgres = os.geteuid() == 0

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
        self._run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop", check=False)

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


if __name__ == "__main__":
    server = PostgresServer().start()
    print(server.url(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.destroy()
