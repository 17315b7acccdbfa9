"""The course log: sessions of treatment courses stored durably in SQLite (WAL, one transaction
per session), read back checked against today's rules and vocabulary."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course.guidance import Guidance, course_guidance
from ionto_cds.course.records import SessionRecord, typed_frame
from ionto_cds.course.schema import session_schema
from ionto_cds.course.validate import interval_problem, validate_sessions
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import (
    CourseLogError,
    JSONRefused,
    SessionDataError,
    UnknownCourseError,
    quote,
)
from ionto_cds.language.jsonsource import strict_json
from ionto_cds.language.vocabulary import CourseVocabulary, vocabulary_for
from ionto_cds.units import Quantity

Q = Any  # pint Quantity

DB_ENV = "IONTO_CDS_DB"
DB_FILE = "course_log.sqlite3"
SCHEMA_VERSION = 1
APPLICATION_ID = 0x494F4E54  # "IONT": SQLite's application_id marks the file as a course log


_CREATE = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id TEXT NOT NULL CHECK (length(course_id) > 0),
    patient_id TEXT,
    date TEXT NOT NULL,
    protocol TEXT NOT NULL,
    site TEXT NOT NULL,
    current_mA REAL NOT NULL CHECK (current_mA > 0),
    duration_min REAL NOT NULL CHECK (duration_min > 0),
    dose_mA_min REAL NOT NULL CHECK (dose_mA_min > 0),
    electrode_area_cm2 REAL,
    polarity TEXT NOT NULL,
    solution TEXT,
    tolerance TEXT,
    adverse_effects TEXT NOT NULL DEFAULT '[]',
    hdss_before INTEGER,
    hdss_after INTEGER,
    pain_after INTEGER,
    notes TEXT,
    ruleset_version TEXT,
    ruleset_sha256 TEXT,
    logged_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_course ON sessions (course_id, date, session_id);
"""
_SQL_COLUMNS = {  # frame column -> SQL column
    "current[mA]": "current_mA", "duration[min]": "duration_min", "dose[mA*min]": "dose_mA_min",
    "electrode_area[cm^2]": "electrode_area_cm2",
}
_RETRIES = 8


def default_db_path() -> Path:
    """$IONTO_CDS_DB, else course_log.sqlite3 in the user's data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ionto-cds")) / DB_FILE


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class CourseLog:
    """Sessions of treatment courses in one SQLite file (WAL, one transaction per session).

    Every committed session survives the process being killed; several processes (kernels)
    may log to the same file at once: writers wait for each other (busy timeout) and retry.
    """

    def __init__(self, path: str | Path | None = None, ruleset: RuleSet | None = None,
                 vocabulary: CourseVocabulary | None = None, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.ruleset = ruleset if ruleset is not None else default_ruleset()
        self.vocabulary = vocabulary if vocabulary is not None else vocabulary_for(
            self.ruleset.source.directory)
        self.timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CourseLogError(str(self.path), f"cannot create its folder: {exc.strerror}"
                                 ) from None
        self._retrying(self._create)

    def __repr__(self) -> str:
        return f"<CourseLog {self.path}>"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise CourseLogError(str(self.path), f"cannot open the course log: {exc}") from None
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            # FULL: a commit is on disk before log_session returns, even across a power cut.
            con.execute("PRAGMA synchronous = FULL")
            yield con
        finally:
            con.close()

    def _retrying(self, action: Callable[[sqlite3.Connection], Any]) -> Any:
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
                raise CourseLogError(str(self.path), f"the course log cannot be used: {exc}"
                                     ) from None
            except sqlite3.DatabaseError as exc:
                raise CourseLogError(str(self.path), f"not a usable course log: {exc}") from None

    def _create(self, con: sqlite3.Connection) -> None:
        owner = con.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in con.execute("PRAGMA table_info(sessions)")}
        legacy = tables <= {"sessions", "sqlite_sequence"} and (
            not tables or {"course_id", "dose_mA_min", "ruleset_sha256"} <= columns)
        if owner != APPLICATION_ID and (owner != 0 or not legacy):
            raise CourseLogError(str(self.path), "this database belongs to another application, "
                                 "not an ionto-cds course log: nothing was written; choose "
                                 "another --db file")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CourseLogError(str(self.path), f"written by a newer ionto-cds (schema "
                                 f"{version}; this one reads {SCHEMA_VERSION}): upgrade")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise CourseLogError(str(self.path), f"cannot switch to WAL journaling (got {mode})")
        con.execute("BEGIN IMMEDIATE")
        for statement in filter(str.strip, _CREATE.split(";")):
            con.execute(statement)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("COMMIT")

    def log_session(self, record: Mapping[str, object],
                    assessment: Assessment | None = None) -> SessionRecord:
        """Check one session and store it in its own transaction; return it with its id.

        Without ``assessment`` a session is held to its protocol's, drug's and the global
        limits only. Pass the patient's :class:`~ionto_cds.engine.Assessment` to hold it to the
        same limits the plan had, with the caps the patient's rules add (a child's current
        above the ``paediatric-current-cap`` rule's 10 mA is refused, naming the rule).

        Raises :class:`~ionto_cds.errors.SessionDataError` (nothing stored) for bad input,
        :class:`~ionto_cds.errors.CourseLogError` when the database cannot be written.
        """
        session = validate_sessions([record], self.ruleset, self.vocabulary, assessment)[0]
        row = session.to_row()
        row["adverse_effects"] = json.dumps(row["adverse_effects"])
        logged_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        row.update(ruleset_version=self.ruleset.version, ruleset_sha256=self.ruleset.sha256,
                   logged_at=logged_at)
        names = [_SQL_COLUMNS.get(k, k) for k in row]
        sql = (f"INSERT INTO sessions ({', '.join(names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")

        def insert(con: sqlite3.Connection) -> int:
            con.execute("BEGIN IMMEDIATE")  # the interval is checked inside the write lock
            earlier = [dt.date.fromisoformat(r[0]) for r in con.execute(
                "SELECT date FROM sessions WHERE course_id = ? AND protocol = ?",
                (session.course_id, session.protocol))]
            refused = interval_problem(session, earlier, self.ruleset)
            if refused is not None:
                raise SessionDataError([refused], session.course_id)
            cursor = con.execute(sql, list(row.values()))
            con.execute("COMMIT")
            if cursor.lastrowid is None:
                raise CourseLogError(str(self.path), "the session was not stored")
            return cursor.lastrowid

        session_id = self._retrying(insert)
        return replace(session, session_id=session_id, logged_at=logged_at,
                       ruleset_version=self.ruleset.version)

    def _effects(self, session_id: object, text: object) -> list[str]:
        """A stored adverse-effect list; a row that is not a JSON list is a clear error."""
        try:
            value = strict_json(str(text))
        except JSONRefused:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CourseLogError(str(self.path), f"session {session_id}: the stored adverse "
                                 f"effects {quote(text)} are not a list: the log was edited "
                                 "outside ionto-cds; correct or remove that row")
        return value

    def courses(self) -> list[str]:
        """Every course id in the log, in the order first logged."""
        rows = self._retrying(lambda con: con.execute(
            "SELECT course_id FROM sessions GROUP BY course_id ORDER BY min(session_id)"
        ).fetchall())
        return [r[0] for r in rows]

    def sessions(self, course_id: str | None = None) -> pd.DataFrame:
        """The sessions of one course (or all) by date, with the cumulative dose per course.

        Quantity columns carry their unit in the header: ``current[mA]``, ``dose[mA*min]``,
        ``cumulative_dose[mA*min]``; ``adverse_effects`` holds lists of vocabulary keys.
        """
        where, args = ("WHERE course_id = ?", [course_id]) if course_id is not None else ("", [])

        def read(con: sqlite3.Connection) -> pd.DataFrame:
            return pd.read_sql_query(
                f"SELECT * FROM sessions {where} ORDER BY course_id, date, session_id",
                con, params=args)

        raw = self._retrying(read)
        frame = raw.rename(columns={v: k for k, v in _SQL_COLUMNS.items()})
        frame["adverse_effects"] = [self._effects(row, v) for row, v in
                                    zip(frame["session_id"], frame["adverse_effects"],
                                        strict=True)]
        typed = typed_frame(frame.to_dict("records"))
        schema = session_schema(self.ruleset, self.vocabulary, limits=False)
        try:
            typed = schema.validate(typed, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            found = "; ".join(sorted({f"{c}: {v!r}" for c, v in
                                      zip(cases["column"], cases["failure_case"], strict=True)}))
            raise CourseLogError(str(self.path), "logged sessions do not fit the current rules "
                                 f"or vocabulary: {found}") from None
        typed.insert(0, "session_id", frame["session_id"].astype("int64"))
        typed["cumulative_dose[mA*min]"] = typed.groupby("course_id")["dose[mA*min]"].cumsum()
        for extra in ("ruleset_version", "logged_at"):
            typed[extra] = frame[extra]
        return typed.reset_index(drop=True)

    def records(self, course_id: str) -> list[SessionRecord]:
        """The sessions of one course as records, oldest first."""
        frame = self.sessions(course_id)
        if frame.empty:
            raise UnknownCourseError(course_id, str(self.path))
        return [SessionRecord.from_row(row) for row in frame.to_dict("records")]

    def cumulative_dose(self, course_id: str) -> Q:
        """The total dose given in a course so far."""
        total = sum(float(r.dose.to("mA*min").magnitude) for r in self.records(course_id))
        return Quantity(total, "mA*min")

    def guidance(self, course_id: str, ruleset: RuleSet | None = None,
                 today: dt.date | None = None) -> Guidance:
        """The protocol's guidance for the course as logged so far (see :class:`Guidance`)."""
        rs = ruleset if ruleset is not None else self.ruleset
        return course_guidance(self.records(course_id), rs, self.vocabulary, today=today)
