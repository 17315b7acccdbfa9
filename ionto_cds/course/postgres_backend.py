"""The course log on a PostgreSQL server (the shared option, ``--db postgresql://...``): one
transaction per session, writers of one course serialised by a transaction-level advisory lock,
so the minimum-interval check and the insert see the same course."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from ionto_cds.course.backend import LogTransaction
from ionto_cds.course.migrations import migrate
from ionto_cds.errors import CourseLogError

T = TypeVar("T")

_LOCK_SPACE = 0x494F4E54  # first key of every advisory lock the course log takes ("IONT")
_MIGRATION_LOCK = 0
_RETRIES = 8
_RETRY = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.UniqueViolation)


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(a URL that cannot be read)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class _PostgresTransaction:
    dialect = "postgresql"

    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.con = con

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql.replace("?", "%s"), tuple(args))
        names = [d.name for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, sql: str, args: Sequence[object] = ()) -> None:
        self.con.execute(sql.replace("?", "%s"), tuple(args))


class PostgresBackend:
    """A course log in a PostgreSQL database (the tables of the connection's search_path)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.path: Path | None = None
        self.location = shown_url(url)
        self.timeout = timeout
        self._retrying(self._create)

    def _retrying(self, action: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``action`` in a transaction of a new connection; a transaction that lost a race
        (serialisation failure, deadlock, a unique id taken meanwhile) is rolled back and run
        again, so nothing half-written is ever committed."""
        attempt = 0
        while True:
            try:
                with psycopg.connect(self.url, autocommit=True,
                                     connect_timeout=max(1, int(self.timeout))) as con:
                    con.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
                    with con.transaction():
                        return action(con)
            except _RETRY:
                attempt += 1
                if attempt < _RETRIES:
                    time.sleep(0.01 * 2 ** attempt * (1 + random.random()))
                    continue
                raise CourseLogError(self.location, "the course log is busy: another writer "
                                     "kept winning; try again") from None
            except psycopg.OperationalError as exc:
                reason = " ".join(str(exc).split()) or "no reason given"
                raise CourseLogError(self.location, f"cannot connect to the course log server: "
                                     f"{reason}") from None
            except psycopg.Error as exc:
                raise CourseLogError(self.location, f"the course log cannot be used: "
                                     f"{str(exc).strip()}") from None

    def _create(self, con: psycopg.Connection[Any]) -> None:
        con.execute(f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, {_MIGRATION_LOCK})")
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name IN ('sessions', 'schema_version')").fetchall()}
        partial = bool(tables) and tables != {"sessions", "schema_version"}
        if partial or not self._ours(con, tables):
            raise CourseLogError(self.location, "this database belongs to another application, "
                                 "not an ionto-cds course log: nothing was written; choose "
                                 "another --db database or schema")
        migrate(_PostgresTransaction(con), self.location)

    @staticmethod
    def _ours(con: psycopg.Connection[Any], tables: set[str]) -> bool:
        if not tables:
            return True
        columns = {(t, c) for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema()").fetchall()}
        return {("sessions", "course_id"), ("sessions", "dose_mA_min"),
                ("sessions", "ruleset_sha256"), ("schema_version", "version"),
                ("schema_version", "applied_at")} <= columns

    def write(self, course_id: str, action: Callable[[LogTransaction], T]) -> T:
        def locked(con: psycopg.Connection[Any]) -> T:
            # one writer per course at a time: the interval check and the insert are atomic
            con.execute(f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, hashtext(%s))",
                        (course_id,))
            return action(_PostgresTransaction(con))

        return self._retrying(locked)

    def read(self, action: Callable[[LogTransaction], T]) -> T:
        def snapshot(con: psycopg.Connection[Any]) -> T:
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return action(_PostgresTransaction(con))

        return self._retrying(snapshot)
