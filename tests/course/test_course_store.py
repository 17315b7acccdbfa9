"""The course log's storage on both backends: idempotent session ids, versioned migrations,
foreign databases refused, and concurrent writers that lose nothing and never double-log."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_server import PostgresServer

from ionto_cds.course.migrations import MIGRATIONS, SCHEMA_VERSION
from ionto_cds.course.store import DB_ENV, CourseLog
from ionto_cds.course.validate import validate_session
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import CourseLogError, SessionDataError

BASE: dict[str, Any] = {
    "course_id": "c1", "date": "2025-03-03", "protocol": "tap-water-palmoplantar",
    "site": "palms", "current": "15 mA", "duration": "20 min",
}
GLYCO = {"protocol": "glycopyrronium-palmoplantar", "current": "8 mA", "duration": "12 min"}


def versions(log: CourseLog) -> list[tuple[int, str]]:
    return log.backend.read(lambda tx: [(r["version"], r["description"]) for r in tx.rows(
        "SELECT version, description FROM schema_version ORDER BY version")])


# --- idempotent session ids ------------------------------------------------------------------

def test_the_same_session_logged_twice_is_stored_once(log: CourseLog) -> None:
    first = log.log_session(BASE)
    again = log.log_session({**BASE, "current": "0.015 A"})  # the same values, other units
    assert not first.already_logged and again.already_logged
    assert again.session_id == first.session_id and again.logged_at == first.logged_at
    assert again.session_uid == first.session_uid and first.session_uid.startswith("content:")
    assert len(log.sessions()) == 1
    other = log.log_session({**BASE, "date": "2025-03-05"})
    assert not other.already_logged and other.session_id != first.session_id


def test_a_repeated_drug_session_is_returned_not_refused_by_the_interval(log: CourseLog) -> None:
    first = log.log_session({**BASE, **GLYCO})
    assert log.log_session({**BASE, **GLYCO}).session_id == first.session_id
    assert len(log.sessions()) == 1


def test_a_clients_session_id_makes_a_retry_safe(log: CourseLog) -> None:
    first = log.log_session({**BASE, "session_uid": "3f1c9a0e-visit-1"})
    again = log.log_session(BASE, session_uid="3f1c9a0e-visit-1")
    assert again.already_logged and again.session_id == first.session_id
    assert log.sessions()["session_uid"].tolist() == ["3f1c9a0e-visit-1"]
    # the values of a session under another id are another session (here refused: too soon)
    with pytest.raises(SessionDataError, match="needs at least 1 day between sessions"):
        log.log_session(BASE, session_uid="3f1c9a0e-visit-2")
    log.log_session({**BASE, "date": "2025-03-05"}, session_uid="3f1c9a0e-visit-2")
    assert len(log.sessions()) == 2


def test_a_session_id_used_for_other_values_is_refused(log: CourseLog) -> None:
    first = log.log_session(BASE, session_uid="visit-1")
    with pytest.raises(SessionDataError) as info:
        log.log_session({**BASE, "current": "12 mA"}, session_uid="visit-1")
    assert str(info.value) == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        f"  session_uid: session id 'visit-1' is already logged (session {first.session_id}, "
        "course 'c1', 2025-03-03) with other values: nothing was stored; give a new session "
        "a new id")
    assert len(log.sessions()) == 1


def test_a_malformed_session_id_is_refused(log: CourseLog) -> None:
    with pytest.raises(SessionDataError) as info:
        log.log_session(BASE, session_uid="no spaces; DROP TABLE")
    assert str(info.value).splitlines()[1] == (
        "  session_uid: a session id is up to 100 letters, digits and ._:@/- (e.g. a UUID), "
        "starting with a letter or digit, got 'no spaces; DROP TABLE'")
    assert log.sessions().empty


# --- migrations ------------------------------------------------------------------------------

def test_a_new_log_records_every_migration(log: CourseLog, db: str | Path) -> None:
    assert versions(log) == [(m.version, m.description) for m in MIGRATIONS]
    assert SCHEMA_VERSION == 2
    CourseLog(db)  # opening again: no-op
    assert len(versions(log)) == len(MIGRATIONS)


V1_SQLITE = """
CREATE TABLE sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id TEXT NOT NULL CHECK (length(course_id) > 0), patient_id TEXT, date TEXT NOT NULL,
    protocol TEXT NOT NULL, site TEXT NOT NULL, current_mA REAL NOT NULL, duration_min REAL NOT
    NULL, dose_mA_min REAL NOT NULL, electrode_area_cm2 REAL, polarity TEXT NOT NULL,
    solution TEXT, tolerance TEXT, adverse_effects TEXT NOT NULL DEFAULT '[]',
    hdss_before INTEGER, hdss_after INTEGER, pain_after INTEGER, notes TEXT,
    ruleset_version TEXT, ruleset_sha256 TEXT, logged_at TEXT NOT NULL);
PRAGMA user_version = 1;
"""
OLD = {**BASE, "course_id": "old", "date": "2024-01-02"}


def test_a_version_1_sqlite_log_is_migrated_and_keeps_its_sessions(tmp_path: Path,
                                                                   rs: RuleSet) -> None:
    path = tmp_path / "v1.sqlite3"
    old = validate_session(OLD, rs).to_row()
    with sqlite3.connect(path) as con:
        con.executescript(V1_SQLITE)
        for _ in range(2):  # the same session twice, as a double click before ids existed
            con.execute("INSERT INTO sessions (course_id, date, protocol, site, current_mA, "
                        "duration_min, dose_mA_min, polarity, solution, logged_at) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'x')",
                        [old[k] for k in ("course_id", "date", "protocol", "site", "current[mA]",
                                          "duration[min]", "dose[mA*min]", "polarity",
                                          "solution")])
    log = CourseLog(path, ruleset=rs)
    assert versions(log) == [(1, MIGRATIONS[0].description), (2, MIGRATIONS[1].description)]
    frame = log.sessions()
    assert len(frame) == 2  # the copy logged twice before ids existed is kept, not merged
    assert frame["session_uid"].notna().tolist() == [True, False]
    again = log.log_session(OLD)
    assert again.already_logged and again.session_id == 1
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_log_from_a_newer_version_is_refused(log: CourseLog, db: str | Path) -> None:
    log.backend.write("", lambda tx: tx.run(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'x', 'y')"))
    with pytest.raises(CourseLogError) as info:
        CourseLog(db)
    assert str(info.value).endswith("written by a newer ionto-cds (schema 99; this one reads "
                                    f"{SCHEMA_VERSION}): upgrade")


# --- PostgreSQL: where the log lives ---------------------------------------------------------

@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.fresh_schema()


def test_another_applications_tables_on_the_server_are_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_name TEXT)")
    with pytest.raises(CourseLogError) as info:
        CourseLog(pg_url)
    assert str(info.value).endswith(": this database belongs to another application, not an "
                                    "ionto-cds course log: nothing was written; choose another "
                                    "--db database or schema")
    with psycopg.connect(pg_url, autocommit=True) as con:
        assert con.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)


def test_the_server_password_is_never_shown(pg_url: str) -> None:
    log = CourseLog(pg_url)
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in log.location and password not in repr(log)
    assert log.location.startswith("postgresql://ionto@127.0.0.1:") and log.path is None


def test_an_unreachable_server_is_a_short_clear_error(rs: RuleSet) -> None:
    with pytest.raises(CourseLogError) as info:
        CourseLog("postgresql://nobody:secret@127.0.0.1:9/clinic", ruleset=rs, timeout=2)
    text = str(info.value)
    assert text.startswith("postgresql://nobody@127.0.0.1:9/clinic: cannot connect to the "
                           "course log server: ")
    assert "secret" not in text and "Traceback" not in text


def test_the_db_environment_variable_may_name_a_server(pg_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV, pg_url)
    assert CourseLog().path is None


# --- concurrent writers ----------------------------------------------------------------------

WRITER = r"""
import sys
from ionto_cds.course.store import CourseLog
db, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = CourseLog(db)
sys.stdin.readline()  # every writer starts at once
for i in range(count):
    mine = log.log_session({"course_id": name, "date": f"1990-01-{i + 1:02d}", "site": "palms",
                            "protocol": "tap-water-palmoplantar", "current": "15 mA",
                            "duration": "20 min", "notes": f"{name}-{i}"})
    shared = log.log_session({"course_id": "shared", "date": f"1991-01-{i + 1:02d}",
                              "site": "palms", "protocol": "tap-water-palmoplantar",
                              "current": "15 mA", "duration": "20 min"},
                             session_uid=f"shared-{i}")
    print(mine.session_id, shared.session_id, int(shared.already_logged), flush=True)
"""


def test_concurrent_writers_lose_nothing_and_never_double_log(db: str | Path,
                                                              rs: RuleSet) -> None:
    CourseLog(db, ruleset=rs)  # migrated once, before the race
    env = {k: v for k, v in os.environ.items() if k != DB_ENV}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{n}", "8"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for n in range(4)]
    outs = [p.communicate("go\n", timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    lines = [[int(v) for v in line.split()] for out in outs for line in out.splitlines()]
    frame = CourseLog(db, ruleset=rs).sessions()
    for n in range(4):
        mine = frame[frame["course_id"] == f"w{n}"]
        assert sorted(mine["notes"]) == sorted(f"w{n}-{i}" for i in range(8))
    shared = frame[frame["course_id"] == "shared"]
    assert sorted(shared["session_uid"]) == sorted(f"shared-{i}" for i in range(8))
    assert len(shared) == 8  # 32 attempts, each id stored once
    assert sum(line[2] for line in lines) == 24  # the other writers were told it was there
    assert {line[1] for line in lines} == set(shared["session_id"])
    assert {line[0] for line in lines} == set(frame[frame["course_id"] != "shared"]
                                              ["session_id"])


def race(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``count`` threads released together; their results or errors."""
    barrier, results = threading.Barrier(count, timeout=60), [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def test_racing_drug_sessions_within_the_interval_land_once(log: CourseLog) -> None:
    results = race(6, lambda i: log.log_session(
        {**BASE, **GLYCO, "date": f"2025-03-{3 + i:02d}"}))
    stored = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, SessionDataError)]
    assert len(stored) == 1 and len(refused) == 5, results
    assert all("needs at least 7 days between sessions" in str(r) for r in refused)
    assert len(log.sessions()) == 1


def test_racing_retries_of_one_session_store_it_once(log: CourseLog) -> None:
    results = race(6, lambda i: log.log_session(BASE, session_uid="tablet-42"))
    assert not any(isinstance(r, Exception) for r in results), results
    assert len({r.session_id for r in results}) == 1
    assert sorted(r.already_logged for r in results) == [False] + [True] * 5
    assert len(log.sessions()) == 1


def test_a_server_that_cannot_start_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    import postgres_server

    monkeypatch.setattr(postgres_server, "find_binary", lambda name: None)
    server = postgres_server.PostgresServer()
    with pytest.raises(postgres_server.ServerUnavailable) as info:
        server.start()
    server.stop()
    assert str(info.value) == ("initdb/pg_ctl not found: install the Debian package 'postgresql' "
                               "(scripts/test does), or set IONTO_CDS_NO_POSTGRES=1 to skip "
                               "these tests on purpose")
    assert not server.dir.exists()
