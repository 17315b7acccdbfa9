"""The decision log of the CDS Hooks service: the cards sent and what the clinician did with
them (feedback), in one append-only SQLite file (rows are never updated or deleted)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionto_cds.errors import DecisionLogError

DB_ENV = "IONTO_CDS_HOOKS_DB"
DB_FILE = "hooks_decision_log.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    uuid TEXT PRIMARY KEY, issued_at TEXT NOT NULL, service TEXT NOT NULL,
    hook_instance TEXT NOT NULL, patient TEXT, decision TEXT NOT NULL, rule TEXT,
    indicator TEXT NOT NULL, summary TEXT NOT NULL, ruleset TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, service TEXT NOT NULL,
    card TEXT NOT NULL, known_card INTEGER NOT NULL, outcome TEXT NOT NULL,
    accepted_suggestions TEXT NOT NULL, override_code TEXT, override_display TEXT,
    comment TEXT, outcome_timestamp TEXT NOT NULL);
"""
_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;"
    for table in ("cards", "feedback") for verb in ("UPDATE", "DELETE")]


def default_db_path() -> Path:
    """$IONTO_CDS_HOOKS_DB, else the file in the user's data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ionto-cds")) / DB_FILE


@dataclass(frozen=True)
class IssuedCard:
    """A card as the log keeps it."""

    uuid: str
    service: str
    hook_instance: str
    patient: str | None
    decision: str
    rule: str | None
    indicator: str
    summary: str
    ruleset: str


@dataclass(frozen=True)
class Feedback:
    """One clinician action on a card (CDS Hooks feedback)."""

    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_code: str | None
    override_display: str | None
    comment: str | None
    outcome_timestamp: str


class DecisionLog:
    """Cards sent and feedback received, in one SQLite file (WAL; one connection, serialised by
    a lock, shared by the server's worker threads)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                        check_same_thread=False)
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")
            self._con.executescript(_SCHEMA + "\n".join(_APPEND_ONLY))
        except (OSError, sqlite3.Error) as exc:
            raise DecisionLogError(str(self.path), f"cannot open the decision log: {exc}"
                                   ) from None

    def _write(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        with self._lock:
            try:
                self._con.execute("BEGIN")
                self._con.executemany(sql, rows)
                self._con.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._con.in_transaction:
                    self._con.execute("ROLLBACK")
                raise DecisionLogError(str(self.path), f"cannot write: {exc}") from None

    def record_cards(self, cards: Iterable[IssuedCard]) -> None:
        """Keep the cards sent (in one transaction)."""
        now = _now()
        self._write("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(c.uuid, now, c.service, c.hook_instance, c.patient, c.decision, c.rule,
                      c.indicator, c.summary, c.ruleset) for c in cards])

    def record_feedback(self, service: str, items: Iterable[Feedback]) -> int:
        """Keep the clinician's actions; the number kept."""
        items = list(items)
        with self._lock:
            known = {row[0] for row in self._con.execute(
                f"SELECT uuid FROM cards WHERE uuid IN ({','.join('?' * len(items))})",
                [f.card for f in items])} if items else set()
        now = _now()
        self._write("INSERT INTO feedback (received_at, service, card, known_card, outcome, "
                    "accepted_suggestions, override_code, override_display, comment, "
                    "outcome_timestamp) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(now, service, f.card, f.card in known, f.outcome,
                      json.dumps(list(f.accepted_suggestions)), f.override_code,
                      f.override_display, f.comment, f.outcome_timestamp) for f in items])
        return len(items)

    def feedback_rows(self) -> list[Mapping[str, Any]]:
        """Every feedback row joined with its card (for review and tests)."""
        with self._lock:
            cursor = self._con.execute(
                "SELECT f.*, c.decision, c.rule, c.patient, c.summary FROM feedback f "
                "LEFT JOIN cards c ON c.uuid = f.card ORDER BY f.id")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._con.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
