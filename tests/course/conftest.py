"""The course-log tests run on both backends: a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import NO_POSTGRES_ENV, PostgresServer, ServerUnavailable, running_server

from ionto_cds import RuleSet
from ionto_cds.course.store import CourseLog
from ionto_cds.engine.ruleset import default_ruleset


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the session. It cannot start: the test fails with the reason, unless
    IONTO_CDS_NO_POSTGRES=1 says on purpose that this machine has no PostgreSQL."""
    if os.environ.get(NO_POSTGRES_ENV) == "1":
        pytest.skip(f"{NO_POSTGRES_ENV}=1: PostgreSQL tests skipped on purpose")
    try:
        with running_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.fail(f"cannot start a PostgreSQL server for the course-log tests: {exc} "
                    f"(set {NO_POSTGRES_ENV}=1 to skip them on purpose)", pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a course log lives: a SQLite file, or a fresh schema on the test server."""
    if request.param == "sqlite":
        return tmp_path / "log.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_schema()


@pytest.fixture(scope="module")
def rs() -> RuleSet:
    return default_ruleset()


@pytest.fixture
def log(db: str | Path, rs: RuleSet) -> CourseLog:
    """A new, empty course log on each backend (SQLite, PostgreSQL)."""
    return CourseLog(db, ruleset=rs)
