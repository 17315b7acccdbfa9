"""A throwaway PostgreSQL server for tests: Debian's initdb and pg_ctl, a temporary data
directory, loopback only, a free port, a random password; stopped and removed afterwards."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

NO_POSTGRES_ENV = "IONTO_CDS_NO_POSTGRES"
"""Set to 1 to skip the PostgreSQL tests on purpose; otherwise a server that cannot start fails."""

USER = "ionto"


class ServerUnavailable(RuntimeError):
    """The test server cannot be started (the reason says what to install or fix)."""


def find_binary(name: str) -> str | None:
    """Debian keeps the server binaries under /usr/lib/postgresql/N/bin (newest first)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True,
                        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit()
                        else 0)
    for folder in candidates:
        if os.access(Path(folder) / name, os.X_OK):
            return str(Path(folder) / name)
    return shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server; :meth:`start` raises :class:`ServerUnavailable` with the reason."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ionto-pg-"))
        self.data = self.dir / "data"
        self.password = secrets.token_hex(16)
        self.port = free_port()
        self.prefix: list[str] = []
        self.pg_ctl = ""
        self.schemas = 0

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def fresh_schema(self) -> str:
        """A URL whose tables live in a new, empty schema (one per test)."""
        import psycopg

        self.schemas += 1
        name = f"t{self.schemas}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as con:
            con.execute(f"CREATE SCHEMA {name}")
        return f"{self.url}?options=-csearch_path%3D{name}"

    def _run(self, args: list[str], timeout: float) -> None:
        try:
            done = subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ServerUnavailable(f"{Path(args[0]).name} did not finish in {timeout:.0f} s"
                                    ) from None
        if done.returncode != 0:
            raise ServerUnavailable(f"{Path(args[0]).name} failed ({done.returncode}): "
                                    f"{(done.stderr or done.stdout).strip()[-800:]}")

    def start(self) -> None:
        initdb, self.pg_ctl = find_binary("initdb") or "", find_binary("pg_ctl") or ""
        if not initdb or not self.pg_ctl:
            raise ServerUnavailable("initdb/pg_ctl not found: install the Debian package "
                                    "'postgresql' (scripts/test does), or set "
                                    f"{NO_POSTGRES_ENV}=1 to skip these tests on purpose")
        password_file = self.dir / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:  # initdb refuses to run as root: run the server as 'postgres'
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root and there is no 'postgres' user to "
                                        "run the server as (the Debian package creates it)"
                                        ) from None
            for path in (self.dir, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", str(self.data), "-U", USER, "--pwfile", str(password_file),
                   "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                  timeout=120)
        password_file.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.dir} -c fsync=off "
                   "-c max_connections=60 -c shared_buffers=16MB")
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.dir / "server.log"),
                   "-o", options, "-w", "-t", "60", "start"], timeout=90)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "server.log").read_text()[-1500:]
        return ""

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill) and remove its directory."""
        if self.pg_ctl and (self.data / "postmaster.pid").exists():
            try:
                self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "30",
                           "stop"], timeout=45)
            except ServerUnavailable:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int((self.data / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, 9)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A started server, stopped afterwards (also when starting fails half-way)."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
