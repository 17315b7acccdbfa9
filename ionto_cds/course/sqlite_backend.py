"""The course log in one SQLite file (the embedded default): WAL, a synchronous commit per
session, writers serialised by SQLite's write lock (BEGIN IMMEDIATE) and retried while busy."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ionto_cds.course.backend import LogTransaction
from ionto_cds.course.migrations import SCHEMA_VERSION, migrate
from ionto_cds.errors import CourseLogError

T = TypeVar("T")

APPLICATION_ID = 0x494F4E54  # "IONT": SQLite's application_id marks the file as a course log
_RETRIES = 8
_OURS = {"sessions", "sqlite_sequence", "schema_version"}


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _SQLiteTransaction:
    dialect = "sqlite"

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, tuple(args))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, sql: str, args: Sequence[object] = ()) -> None:
        self.con.execute(sql, tuple(args))


class SQLiteBackend:
    """A course log in one SQLite file; several processes may write to it at once."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path: Path | None = path
        self.file = path
        self.location = str(path)
        self.timeout = timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CourseLogError(self.location, f"cannot create its folder: {exc.strerror}"
                                 ) from None
        self._retrying(self._create)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.file, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise CourseLogError(self.location, f"cannot open the course log: {exc}") from None
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            # FULL: a commit is on disk before log_session returns, even across a power cut.
            con.execute("PRAGMA synchronous = FULL")
            yield con
        finally:
            con.close()

    def _retrying(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``action`` in a connection, retrying while another writer holds the lock; an
        unfinished transaction is rolled back, so nothing half-written is ever committed."""
        attempt = 0
        while True:
            try:
                with self._connection() as con:
                    try:
                        return action(con)
                    finally:
                        if con.in_transaction:
                            con.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                attempt += 1
                if _busy(exc) and attempt < _RETRIES:
                    time.sleep(0.05 * 2 ** attempt * (1 + random.random()))
                    continue
                raise CourseLogError(self.location, f"the course log cannot be used: {exc}"
                                     ) from None
            except sqlite3.DatabaseError as exc:
                raise CourseLogError(self.location, f"not a usable course log: {exc}") from None

    def _create(self, con: sqlite3.Connection) -> None:
        owner = con.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in con.execute("PRAGMA table_info(sessions)")}
        legacy = tables <= _OURS and (
            not tables or {"course_id", "dose_mA_min", "ruleset_sha256"} <= columns)
        if owner != APPLICATION_ID and (owner != 0 or not legacy):
            raise CourseLogError(self.location, "this database belongs to another application, "
                                 "not an ionto-cds course log: nothing was written; choose "
                                 "another --db file")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION and "schema_version" not in tables:
            raise CourseLogError(self.location, f"written by a newer ionto-cds (schema "
                                 f"{version}; this one reads {SCHEMA_VERSION}): upgrade")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise CourseLogError(self.location, f"cannot switch to WAL journaling (got {mode})")
        con.execute("BEGIN IMMEDIATE")
        legacy_version = version or (1 if "sessions" in tables else 0)
        migrate(_SQLiteTransaction(con), self.location, legacy_version)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("COMMIT")

    def write(self, course_id: str, action: Callable[[LogTransaction], T]) -> T:
        def locked(con: sqlite3.Connection) -> T:
            con.execute("BEGIN IMMEDIATE")  # SQLite's one write lock covers every course
            result = action(_SQLiteTransaction(con))
            con.execute("COMMIT")
            return result

        return self._retrying(locked)

    def read(self, action: Callable[[LogTransaction], T]) -> T:
        def snapshot(con: sqlite3.Connection) -> T:
            con.execute("BEGIN")
            return action(_SQLiteTransaction(con))

        return self._retrying(snapshot)
