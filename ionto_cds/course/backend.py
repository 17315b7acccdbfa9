"""What the course log needs of a database: one interface, with SQLite and PostgreSQL behind it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeGuard, TypeVar

T = TypeVar("T")

URL_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(db: object) -> TypeGuard[str]:
    """Whether ``--db`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(db, str) and db.startswith(URL_SCHEMES)


class LogTransaction(Protocol):
    """Statements inside one transaction. SQL is written with ``?`` placeholders and
    double-quoted identifiers; each backend runs it in its own dialect."""

    dialect: str

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        """The rows a query returns, each a mapping of column name to value."""
        ...

    def run(self, sql: str, args: Sequence[object] = ()) -> None:
        """Run a statement that returns nothing."""
        ...


class LogBackend(Protocol):
    """A course-log database: migrated on open, then read and written in transactions."""

    location: str
    """Where the log is, for messages (a file path, or a server URL without its password)."""

    path: Path | None
    """The SQLite file, or None on a server."""

    def write(self, course_id: str, action: Callable[[LogTransaction], T]) -> T:
        """Run ``action`` in one transaction that holds the course's write lock, so no other
        writer changes the course between ``action``'s reads and its insert; commit it, or roll
        it back when ``action`` raises. Retried when the database reports a conflict."""
        ...

    def read(self, action: Callable[[LogTransaction], T]) -> T:
        """Run ``action`` in a read-only transaction (one consistent snapshot)."""
        ...
