"""The course log: sessions of treatment courses stored durably (SQLite or PostgreSQL, one
transaction per session), read back checked against today's rules and vocabulary."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course.backend import LogBackend, LogTransaction, is_server_url
from ionto_cds.course.guidance import Guidance, course_guidance
from ionto_cds.course.records import SESSION_FIELDS, SessionRecord, typed_frame
from ionto_cds.course.schema import session_schema
from ionto_cds.course.session_uid import content_uid, uid_problem
from ionto_cds.course.sqlite_backend import SQLiteBackend
from ionto_cds.course.validate import interval_problem, validate_sessions
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import (
    CourseLogError,
    JSONRefused,
    SessionDataError,
    SessionProblem,
    UnknownCourseError,
    quote,
)
from ionto_cds.language.jsonsource import strict_json
from ionto_cds.language.vocabulary import CourseVocabulary, vocabulary_for
from ionto_cds.units import Quantity

Q = Any  # pint Quantity

DB_ENV = "IONTO_CDS_DB"
DB_FILE = "course_log.sqlite3"


_SQL_COLUMNS = {  # frame column -> SQL column
    "current[mA]": "current_mA", "duration[min]": "duration_min", "dose[mA*min]": "dose_mA_min",
    "electrode_area[cm^2]": "electrode_area_cm2",
}
_STORED_COLUMNS = ["session_id", *(_SQL_COLUMNS.get(f.column, f.column) for f in SESSION_FIELDS),
                   "ruleset_version", "ruleset_sha256", "logged_at", "session_uid"]


def default_db_path() -> Path:
    """$IONTO_CDS_DB, else course_log.sqlite3 in the user's data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ionto-cds")) / DB_FILE


def open_backend(db: str | Path | None = None, timeout: float = 30.0) -> LogBackend:
    """The database behind a course log: a ``postgresql://`` URL is a server, anything else a
    SQLite file (by default $IONTO_CDS_DB, which may also be a URL, else the user's data dir)."""
    if db is None:
        db = os.environ.get(DB_ENV) or default_db_path()
    if is_server_url(db):
        from ionto_cds.course.postgres_backend import PostgresBackend

        return PostgresBackend(db, timeout)
    return SQLiteBackend(Path(db).expanduser(), timeout)


class CourseLog:
    """Sessions of treatment courses in a database: a SQLite file (embedded, the default) or a
    PostgreSQL server shared by several clinicians (``postgresql://user@host/dbname``).

    Every committed session survives the process being killed; several processes may log at
    once: the minimum-interval check and the insert run in one transaction that holds the
    course's write lock, and a session logged twice (the same session id) is stored once.
    """

    def __init__(self, db: str | Path | None = None, ruleset: RuleSet | None = None,
                 vocabulary: CourseVocabulary | None = None, timeout: float = 30.0) -> None:
        self.ruleset = ruleset if ruleset is not None else default_ruleset()
        self.vocabulary = vocabulary if vocabulary is not None else vocabulary_for(
            self.ruleset.source.directory)
        self.backend = open_backend(db, timeout)
        self.path = self.backend.path
        self.location = self.backend.location

    def __repr__(self) -> str:
        return f"<CourseLog {self.location}>"

    def log_session(self, record: Mapping[str, object], assessment: Assessment | None = None,
                    session_uid: str | None = None) -> SessionRecord:
        """Check one session and store it in its own transaction; return it with its id.

        Without ``assessment`` a session is held to its protocol's, drug's and the global
        limits only. Pass the patient's :class:`~ionto_cds.engine.Assessment` to hold it to the
        same limits the plan had, with the caps the patient's rules add (a child's current
        above the ``paediatric-current-cap`` rule's 10 mA is refused, naming the rule).

        Idempotent: ``session_uid`` (or a ``session_uid`` key in ``record``; by default a
        digest of the session's values) names the session. Logging a session whose id is
        already in the log stores nothing and returns the stored session (its first
        ``session_id`` and ``logged_at``) with ``already_logged=True``; the same id with other
        values is refused.

        Raises :class:`~ionto_cds.errors.SessionDataError` (nothing stored) for bad input,
        :class:`~ionto_cds.errors.CourseLogError` when the database cannot be written.
        """
        fields = dict(record)
        given = fields.pop("session_uid", None)
        given = session_uid if given is None else given
        if given is not None and (why := uid_problem(given)) is not None:
            course = fields.get("course_id")
            raise SessionDataError([SessionProblem("session_uid", given, why)],
                                   course if isinstance(course, str) else None)
        session = validate_sessions([fields], self.ruleset, self.vocabulary, assessment)[0]
        row = {_SQL_COLUMNS.get(k, k): v for k, v in session.to_row().items()}
        row["adverse_effects"] = json.dumps(row["adverse_effects"])
        uid = given if isinstance(given, str) else content_uid(row)
        logged_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        row.update(ruleset_version=self.ruleset.version, ruleset_sha256=self.ruleset.sha256,
                   logged_at=logged_at, session_uid=uid)
        names = ", ".join(f'"{name}"' for name in row)
        sql = (f"INSERT INTO sessions ({names}) "
               f"VALUES ({', '.join('?' for _ in row)}) RETURNING session_id")

        def insert(tx: LogTransaction) -> SessionRecord:
            stored = tx.rows("SELECT * FROM sessions WHERE session_uid = ?", (uid,))
            if stored:
                return self._already_logged(session, stored[0], row, uid)
            earlier = [dt.date.fromisoformat(r["date"]) for r in tx.rows(
                "SELECT date FROM sessions WHERE course_id = ? AND protocol = ?",
                (session.course_id, session.protocol))]
            refused = interval_problem(session, earlier, self.ruleset)
            if refused is not None:
                raise SessionDataError([refused], session.course_id)
            [new] = tx.rows(sql, list(row.values()))
            return replace(session, session_id=int(new["session_id"]), logged_at=logged_at,
                           ruleset_version=self.ruleset.version, session_uid=uid)

        return self.backend.write(session.course_id, insert)

    def _already_logged(self, session: SessionRecord, stored: Mapping[str, Any],
                        row: Mapping[str, object], uid: str) -> SessionRecord:
        """The session as first stored, or a refusal when its id was used for another one."""
        if content_uid(stored) != content_uid(row):
            raise SessionDataError([SessionProblem(
                "session_uid", uid, f"session id '{uid}' is already logged (session "
                f"{stored['session_id']}, course '{stored['course_id']}', "
                f"{stored['date']}) with other values: nothing was stored; give a new "
                "session a new id")], session.course_id)
        return replace(session, session_id=int(stored["session_id"]),
                       logged_at=stored["logged_at"], ruleset_version=stored["ruleset_version"],
                       session_uid=uid, already_logged=True)

    def _effects(self, session_id: object, text: object) -> list[str]:
        """A stored adverse-effect list; a row that is not a JSON list is a clear error."""
        try:
            value = strict_json(str(text))
        except JSONRefused:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CourseLogError(self.location, f"session {session_id}: the stored adverse "
                                 f"effects {quote(text)} are not a list: the log was edited "
                                 "outside ionto-cds; correct or remove that row")
        return value

    def courses(self) -> list[str]:
        """Every course id in the log, in the order first logged."""
        rows = self.backend.read(lambda tx: tx.rows(
            "SELECT course_id FROM sessions GROUP BY course_id ORDER BY min(session_id)"))
        return [r["course_id"] for r in rows]

    def sessions(self, course_id: str | None = None) -> pd.DataFrame:
        """The sessions of one course (or all) by date, with the cumulative dose per course.

        Quantity columns carry their unit in the header: ``current[mA]``, ``dose[mA*min]``,
        ``cumulative_dose[mA*min]``; ``adverse_effects`` holds lists of vocabulary keys.
        """
        where, args = ("WHERE course_id = ?", [course_id]) if course_id is not None else ("", [])

        def read(tx: LogTransaction) -> pd.DataFrame:
            rows = tx.rows(f"SELECT * FROM sessions {where} ORDER BY course_id, date, "
                           "session_id", args)
            return pd.DataFrame(rows, columns=_STORED_COLUMNS)

        raw = self.backend.read(read)
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
            raise CourseLogError(self.location, "logged sessions do not fit the current rules "
                                 f"or vocabulary: {found}") from None
        typed.insert(0, "session_id", frame["session_id"].astype("int64"))
        typed["cumulative_dose[mA*min]"] = typed.groupby("course_id")["dose[mA*min]"].cumsum()
        for extra in ("ruleset_version", "logged_at", "session_uid"):
            typed[extra] = frame[extra]
        return typed.reset_index(drop=True)

    def records(self, course_id: str) -> list[SessionRecord]:
        """The sessions of one course as records, oldest first."""
        frame = self.sessions(course_id)
        if frame.empty:
            raise UnknownCourseError(course_id, self.location)
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
