"""Treatment-course log: session records checked by a pandera schema, stored durably in SQLite."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course_guidance import Guidance, course_guidance
from ionto_cds.course_vocabulary import CourseVocabulary, vocabulary_for
from ionto_cds.dosing import Limit, LimitViolation, current_density, dose_for, tightest
from ionto_cds.engine import Assessment, RuleSet, default_ruleset
from ionto_cds.errors import (
    CourseLogError,
    SessionDataError,
    SessionProblem,
    UnitError,
    UnknownCourseError,
)
from ionto_cds.facts import suggest
from ionto_cds.language.model import Truth
from ionto_cds.language.treatment import POLARITIES, Protocol
from ionto_cds.protocols import plan_limits
from ionto_cds.units import Quantity, format_quantity, parse_quantity

Q = Any  # pint Quantity

DB_ENV = "IONTO_CDS_DB"
DB_FILE = "course_log.sqlite3"
SCHEMA_VERSION = 1
DOSE_TOLERANCE = 0.01
"""A dose typed by hand may differ from current x duration by rounding, never by more than 1 %."""


# --- what a session record holds -------------------------------------------------------------

@dataclass(frozen=True)
class SessionField:
    """One field of a session record: how it is typed, shown and stored."""

    name: str
    kind: str  # text | date | protocol | enum | quantity | score | effects
    label: str
    required: bool = False
    unit: str | None = None
    help: str = ""

    @property
    def column(self) -> str:
        """The DataFrame column: quantities carry their unit, e.g. 'current[mA]'."""
        return f"{self.name}[{self.unit}]" if self.unit else self.name


SESSION_FIELDS: tuple[SessionField, ...] = (
    SessionField("course_id", "text", "Course", True, help="One course of treatment."),
    SessionField("patient_id", "text", "Patient", help="Pseudonymous patient id (optional)."),
    SessionField("date", "date", "Date", True, help="The day the session took place."),
    SessionField("protocol", "protocol", "Protocol", True),
    SessionField("site", "enum", "Site", True),
    SessionField("current", "quantity", "Current", True, "mA", "The current reached, e.g. 15 mA."),
    SessionField("duration", "quantity", "Duration", True, "min", "e.g. 20 min or 900 s."),
    SessionField("dose", "quantity", "Dose", False, "mA*min",
                 "Computed as current x duration; if given it must agree."),
    SessionField("electrode_area", "quantity", "Electrode area", False, "cm^2",
                 "Optional; checks the current density."),
    SessionField("polarity", "enum", "Polarity",
                 help="Active electrode; the protocol's by default."),
    SessionField("solution", "text", "Solution", help="The protocol's by default."),
    SessionField("tolerance", "enum", "Tolerance"),
    SessionField("adverse_effects", "effects", "Adverse effects"),
    SessionField("hdss_before", "score", "HDSS before", help="Before this session."),
    SessionField("hdss_after", "score", "HDSS after", help="After this session (or at review)."),
    SessionField("pain_after", "score", "Pain after", help="0-10."),
    SessionField("notes", "text", "Notes"),
)
FIELDS_BY_NAME = {f.name: f for f in SESSION_FIELDS}
_SCORE_OF = {"hdss_before": "hdss", "hdss_after": "hdss", "pain_after": "pain"}
_QUANTITY_LIMIT_FIELD = {"max_current": "current", "max_dose": "dose",
                         "max_current_density": "electrode_area"}


@dataclass(frozen=True)
class SessionRecord:
    """One logged session, every physical value a pint quantity."""

    course_id: str
    date: dt.date
    protocol: str
    site: str
    current: Q
    duration: Q
    dose: Q
    polarity: str
    patient_id: str | None = None
    electrode_area: Q | None = None
    solution: str | None = None
    tolerance: str | None = None
    adverse_effects: tuple[str, ...] = ()
    hdss_before: int | None = None
    hdss_after: int | None = None
    pain_after: int | None = None
    notes: str | None = None
    session_id: int | None = None
    logged_at: str | None = None
    ruleset_version: str | None = None

    def to_row(self) -> dict[str, Any]:
        """The record as plain values in the log's units (one row of :func:`session_schema`)."""
        return {
            "course_id": self.course_id,
            "patient_id": self.patient_id,
            "date": self.date.isoformat(),
            "protocol": self.protocol,
            "site": self.site,
            "current[mA]": _magnitude(self.current, "mA"),
            "duration[min]": _magnitude(self.duration, "min"),
            "dose[mA*min]": _magnitude(self.dose, "mA*min"),
            "electrode_area[cm^2]": _magnitude(self.electrode_area, "cm^2"),
            "polarity": self.polarity,
            "solution": self.solution,
            "tolerance": self.tolerance,
            "adverse_effects": list(self.adverse_effects),
            "hdss_before": self.hdss_before,
            "hdss_after": self.hdss_after,
            "pain_after": self.pain_after,
            "notes": self.notes,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SessionRecord:
        """A record from one row of :meth:`CourseLog.sessions`."""
        def opt(name: str) -> Any:
            value = row.get(name)
            return None if value is None or _is_missing(value) else value

        area = opt("electrode_area[cm^2]")
        date = row["date"]
        return cls(
            course_id=str(row["course_id"]),
            date=date.date() if isinstance(date, dt.datetime) else dt.date.fromisoformat(
                str(date)[:10]),
            protocol=str(row["protocol"]),
            site=str(row["site"]),
            current=Quantity(float(row["current[mA]"]), "mA"),
            duration=Quantity(float(row["duration[min]"]), "min"),
            dose=Quantity(float(row["dose[mA*min]"]), "mA*min"),
            polarity=str(row["polarity"]),
            patient_id=opt("patient_id"),
            electrode_area=Quantity(float(area), "cm^2") if area is not None else None,
            solution=opt("solution"),
            tolerance=opt("tolerance"),
            adverse_effects=tuple(opt("adverse_effects") or ()),
            hdss_before=_opt_int(opt("hdss_before")),
            hdss_after=_opt_int(opt("hdss_after")),
            pain_after=_opt_int(opt("pain_after")),
            notes=opt("notes"),
            session_id=_opt_int(opt("session_id")),
            logged_at=opt("logged_at"),
            ruleset_version=opt("ruleset_version"),
        )


def _magnitude(quantity: Q | None, unit: str) -> float | None:
    return None if quantity is None else float(quantity.to(unit).magnitude)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# --- the pandera schema ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    """What the schema checks against: the rules' protocols and limits, and the vocabulary.

    With an ``assessment`` the limits also carry the caps the patient's rules put on the plan
    (e.g. the paediatric current cap), as :meth:`RuleSet.plan` had them.
    """

    ruleset: RuleSet
    vocabulary: CourseVocabulary
    assessment: Assessment | None = None

    def protocol(self, protocol_id: object) -> Protocol | None:
        return next((p for p in self.ruleset.protocols if p.id == protocol_id), None)

    def treatment_ids(self) -> list[str]:
        return [p.id for p in self.ruleset.protocols if not p.is_referral]

    def sites(self) -> list[str]:
        return list(self.ruleset.catalog["site"].values or ())

    def limits(self, protocol: Protocol) -> list[Limit]:
        drug = self.ruleset.drugs.get(protocol.drug) if protocol.drug else None
        caps = self.assessment.rule_caps(protocol.id) if self.assessment is not None else []
        return plan_limits(protocol, drug, self.ruleset.limits, caps)


def field_choices(name: str, ruleset: RuleSet, vocabulary: CourseVocabulary) -> list[str]:
    """The allowed values of an enum-like field (site, protocol, polarity, tolerance, effects)."""
    choices: dict[str, list[str]] = {
        "polarity": list(POLARITIES),
        "tolerance": list(vocabulary.tolerance),
        "adverse_effects": list(vocabulary.adverse_effects),
    }
    ctx = _Context(ruleset, vocabulary)
    if name == "site":
        return ctx.sites()
    if name == "protocol":
        return ctx.treatment_ids()
    return choices[name]


def _number(row: Mapping[str, Any], column: str) -> float | None:
    value = row.get(column)
    return None if value is None or _is_missing(value) else float(value)


def _limit_violation(ctx: _Context, row: Mapping[str, Any], name: str) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    mA, minutes, area = (_number(row, c) for c in
                         ("current[mA]", "duration[min]", "electrode_area[cm^2]"))
    if protocol is None or mA is None or mA <= 0:
        return None
    limit = tightest(ctx.limits(protocol), name)
    if limit is None:
        return None
    current = Quantity(mA, "mA")
    if name == "max_current":
        actual = current
    elif name == "max_dose" and minutes is not None and minutes > 0:
        actual = dose_for(current, Quantity(minutes, "min"))
    elif name == "max_current_density" and area is not None and area > 0:
        actual = current_density(current, Quantity(area, "cm^2"))
    else:
        return None
    # The same tolerance as dosing.check_limits: a value set exactly at its limit passes.
    if actual <= limit.value * (1 + 1e-9):
        return None
    return f"{LimitViolation(limit, actual)}: the session is refused"


def _dose_problem(row: Mapping[str, Any]) -> str | None:
    given, current, duration = (_number(row, c) for c in
                                ("dose[mA*min]", "current[mA]", "duration[min]"))
    if given is None or current is None or duration is None:
        return None
    computed = current * duration
    if abs(given - computed) <= DOSE_TOLERANCE * max(computed, 1e-12):
        return None
    return (f"{format_quantity(Quantity(given, 'mA*min'))} does not match current x "
            f"duration = {format_quantity(Quantity(current, 'mA'))} x "
            f"{format_quantity(Quantity(duration, 'min'))} = "
            f"{format_quantity(Quantity(computed, 'mA*min'))}")


def _polarity_problem(ctx: _Context, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    polarity = row.get("polarity")
    if protocol is None or protocol.modality != "drug_assisted" or _is_missing(polarity):
        return None
    if polarity == protocol.polarity or polarity not in POLARITIES:
        return None
    return (f"'{polarity}' does not match protocol {protocol.id}: its drug is given from the "
            f"{protocol.polarity}")


def _site_problem(ctx: _Context, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    site = row.get("site")
    if protocol is None or _is_missing(site) or site not in ctx.sites():
        return None
    # Only the site is known here, so a protocol fails only when its condition is false for it.
    env = ctx.ruleset.catalog.validate({"site": site}).env
    if ctx.ruleset.protocol_when[protocol.id](env) != int(Truth.FALSE):
        return None
    return f"'{site}' is not a site protocol {protocol.id} treats"


def _limit_check(name: str) -> Callable[[_Context, Mapping[str, Any]], str | None]:
    return lambda ctx, row: _limit_violation(ctx, row, name)


_ROW_CHECKS: dict[str, tuple[str, Callable[[_Context, Mapping[str, Any]], str | None]]] = {
    "dose_matches": ("dose", lambda ctx, row: _dose_problem(row)),
    "polarity_matches_drug": ("polarity", _polarity_problem),
    "site_fits_protocol": ("site", _site_problem),
    **{name: (field, _limit_check(name)) for name, field in _QUANTITY_LIMIT_FIELD.items()},
}


def _row_check(ctx: _Context, name: str) -> pa.Check:
    _, explain = _ROW_CHECKS[name]

    def check(frame: pd.DataFrame) -> pd.Series:
        return pd.Series([explain(ctx, row) is None for row in frame.to_dict("records")],
                         index=frame.index, dtype=bool)
    return pa.Check(check, name=name)


def session_schema(ruleset: RuleSet, vocabulary: CourseVocabulary,
                   limits: bool = True, assessment: Assessment | None = None
                   ) -> pa.DataFrameSchema:
    """The pandera schema of logged sessions, one row each, quantities in the log's units.

    Columns are checked against the rules' sites, protocols and the course vocabulary; with
    ``limits`` each row is also checked against its protocol's and drug's limits, dose
    arithmetic, the drug's polarity and the protocol's sites (the log's read path leaves them
    out so that a later, stricter rule never hides sessions already given). ``assessment``
    adds the patient's rule caps to those limits (see :meth:`CourseLog.log_session`).
    """
    ctx = _Context(ruleset, vocabulary, assessment)
    effects = set(vocabulary.adverse_effects)
    positive = pa.Check.gt(0)

    def score(key: str) -> pa.Column:
        s = vocabulary.scores[key]
        return pa.Column("Int64", pa.Check.in_range(s.min, s.max), nullable=True)

    columns = {
        "course_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "patient_id": pa.Column(str, nullable=True),
        "date": pa.Column("datetime64[us]", pa.Check.le(pd.Timestamp(dt.date.today()))),
        "protocol": pa.Column(str, pa.Check.isin(ctx.treatment_ids())),
        "site": pa.Column(str, pa.Check.isin(ctx.sites())),
        "current[mA]": pa.Column(float, positive),
        "duration[min]": pa.Column(float, positive),
        "dose[mA*min]": pa.Column(float, positive),
        "electrode_area[cm^2]": pa.Column(float, positive, nullable=True),
        "polarity": pa.Column(str, pa.Check.isin(list(POLARITIES))),
        "solution": pa.Column(str, nullable=True),
        "tolerance": pa.Column(str, pa.Check.isin(list(vocabulary.tolerance)), nullable=True),
        "adverse_effects": pa.Column(object, pa.Check(
            lambda v: isinstance(v, list | tuple) and all(k in effects for k in v),
            element_wise=True, name="known_adverse_effects")),
        "hdss_before": score("hdss"),
        "hdss_after": score("hdss"),
        "pain_after": score("pain"),
        "notes": pa.Column(str, nullable=True),
    }
    checks = [_row_check(ctx, name) for name in _ROW_CHECKS] if limits else []
    return pa.DataFrameSchema(columns, checks=checks, strict="filter", name="course session")


# --- validation: raw mapping -> SessionRecord ------------------------------------------------

def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[f.column for f in SESSION_FIELDS])
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[us]")
    for f in SESSION_FIELDS:
        if f.kind == "quantity":
            frame[f.column] = frame[f.column].astype("float64")
        elif f.kind == "score":
            frame[f.column] = frame[f.column].astype("Int64")
        elif f.kind in ("text", "enum", "protocol"):
            frame[f.column] = frame[f.column].astype("str").where(frame[f.column].notna(), None)
    return frame


def session_frame(records: Sequence[SessionRecord]) -> pd.DataFrame:
    """Records as a frame typed for :func:`session_schema` (one row each)."""
    return _frame([r.to_row() for r in records])


def _parse_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")


def _parse_score(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"expected a whole number, got {value!r}")


def _parse_effects(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value)
    raise ValueError(f"expected a list of adverse effects, got {value!r}")


def _parse_field(f: SessionField, value: object) -> Any:
    if f.kind == "quantity":
        assert f.unit is not None
        return parse_quantity(value, f.unit)
    if f.kind == "date":
        return _parse_date(value)
    if f.kind == "score":
        return _parse_score(value)
    if f.kind == "effects":
        return _parse_effects(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a text, got {type(value).__name__} {value!r}")
    return value.strip()


def _column_problem(f: SessionField, value: Any, ctx: _Context) -> str:
    """Why a column check refused a value, in words (subject, check, offending value)."""
    vocab = ctx.vocabulary
    if f.name == "protocol":
        p = ctx.protocol(value)
        if p is not None:
            return f"'{value}' is a referral, not a treatment protocol"
        ids = ctx.treatment_ids()
        return f"unknown protocol '{value}'{suggest(str(value), ids)}; one of: {', '.join(ids)}"
    if f.kind == "enum":
        choices = field_choices(f.name, ctx.ruleset, vocab)
        return f"'{value}' is not a {f.label.lower()}{suggest(str(value), choices)}; one of: " \
               f"{', '.join(choices)}"
    if f.kind == "effects":
        known = list(vocab.adverse_effects)
        unknown = [k for k in value if k not in vocab.adverse_effects]
        return "; ".join(f"'{k}' is not an adverse effect in the vocabulary{suggest(k, known)}"
                         for k in unknown) + f" (known: {', '.join(known)})"
    if f.kind == "score":
        s = vocab.scores[_SCORE_OF[f.name]]
        return f"must be a whole number from {s.min} to {s.max}, got {value}"
    if f.kind == "quantity":
        assert f.unit is not None
        return f"must be above zero, got {format_quantity(Quantity(float(value), f.unit))}"
    if f.kind == "date":
        return f"{pd.Timestamp(value).date().isoformat()} is in the future; log sessions that " \
               "have taken place"
    return f"must not be empty, got {value!r}"


def validate_sessions(records: Sequence[Mapping[str, object]], ruleset: RuleSet,
                      vocabulary: CourseVocabulary, assessment: Assessment | None = None
                      ) -> list[SessionRecord]:
    """Check raw session mappings (strings with units accepted) and turn them into records.

    Every problem of every record is collected before raising
    :class:`~ionto_cds.errors.SessionDataError` (for the first bad record's course). With the
    patient's ``assessment`` each session is also held to the caps its rules put on the plan.
    """
    ctx = _Context(ruleset, vocabulary, assessment)
    problems: dict[int, list[SessionProblem]] = {}
    parsed_rows: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        mine: list[SessionProblem] = problems.setdefault(i, [])
        parsed: dict[str, Any] = {}
        for key in record:
            if key not in FIELDS_BY_NAME:
                mine.append(SessionProblem(str(key), record[key], "unknown field"
                                           f"{suggest(str(key), list(FIELDS_BY_NAME))}"))
        for f in SESSION_FIELDS:
            value = record.get(f.name)
            if value is None or _is_missing(value) or (f.kind == "effects" and value == []):
                if f.required:
                    mine.append(SessionProblem(f.name, value, "required"))
                continue
            try:
                parsed[f.name] = _parse_field(f, value)
            except (UnitError, ValueError) as exc:
                mine.append(SessionProblem(f.name, value, str(exc)))
        protocol = ctx.protocol(parsed.get("protocol"))
        if protocol is not None and not protocol.is_referral:
            parsed.setdefault("polarity", protocol.polarity)
            parsed.setdefault("solution", protocol.solution or None)
        parsed_rows.append(parsed)

    def row_of(parsed: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for f in SESSION_FIELDS:
            value = parsed.get(f.name)
            if f.kind == "quantity":
                row[f.column] = None if value is None else float(value.to(f.unit).magnitude)
            elif f.kind == "effects":
                row[f.column] = list(value or ())
            else:
                row[f.column] = value
        if parsed.get("dose") is None and "current" in parsed and "duration" in parsed:
            row["dose[mA*min]"] = float(dose_for(parsed["current"], parsed["duration"]).magnitude)
        return row

    frame = _frame([row_of(p) for p in parsed_rows])
    try:
        session_schema(ruleset, vocabulary, assessment=assessment).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        _collect_schema_problems(exc, frame, ctx, parsed_rows, problems)
    bad = [i for i, found in problems.items() if found]
    if bad:
        first = bad[0]
        course = parsed_rows[first].get("course_id")
        order = {f.name: n for n, f in enumerate(SESSION_FIELDS)}
        found = sorted(problems[first], key=lambda p: order.get(p.field, -1))
        raise SessionDataError(found, course)
    return [_record(p) for p in parsed_rows]


def _collect_schema_problems(exc: pa.errors.SchemaErrors, frame: pd.DataFrame, ctx: _Context,
                             parsed_rows: list[dict[str, Any]],
                             problems: dict[int, list[SessionProblem]]) -> None:
    by_column = {f.column: f for f in SESSION_FIELDS}
    seen: set[tuple[int, str]] = set()
    cases = exc.failure_cases
    for case in cases.to_dict("records"):
        index = case["index"]
        if index is None or _is_missing(index):
            continue
        i = int(index)
        check = str(case["check"])
        row = frame.loc[i].to_dict()
        if case["schema_context"] == "DataFrameSchema" and check in _ROW_CHECKS:
            field, explain = _ROW_CHECKS[check]
            message = explain(ctx, row)
        else:
            f = by_column.get(str(case["column"]))
            if f is None:
                continue
            field = f.name
            if parsed_rows[i].get(f.name) is None and f.kind != "effects":
                continue  # already reported while parsing
            message = _column_problem(f, row[f.column], ctx)
        if message is None or (i, field + message) in seen:
            continue
        seen.add((i, field + message))
        problems[i].append(SessionProblem(field, parsed_rows[i].get(field), message))


def _record(parsed: Mapping[str, Any]) -> SessionRecord:
    current, duration = parsed["current"], parsed["duration"]
    return SessionRecord(
        course_id=parsed["course_id"],
        date=parsed["date"],
        protocol=parsed["protocol"],
        site=parsed["site"],
        current=current.to("mA"),
        duration=duration.to("min"),
        dose=dose_for(current, duration),
        polarity=parsed["polarity"],
        patient_id=parsed.get("patient_id"),
        electrode_area=area.to("cm^2") if (area := parsed.get("electrode_area")) is not None
        else None,
        solution=parsed.get("solution"),
        tolerance=parsed.get("tolerance"),
        adverse_effects=tuple(dict.fromkeys(parsed.get("adverse_effects", ()))),
        hdss_before=parsed.get("hdss_before"),
        hdss_after=parsed.get("hdss_after"),
        pain_after=parsed.get("pain_after"),
        notes=parsed.get("notes") or None,
    )


def validate_session(record: Mapping[str, object], ruleset: RuleSet | None = None,
                     vocabulary: CourseVocabulary | None = None,
                     assessment: Assessment | None = None) -> SessionRecord:
    """Check one raw session mapping; raise :class:`SessionDataError` listing every problem."""
    rs = ruleset if ruleset is not None else default_ruleset()
    vocab = vocabulary if vocabulary is not None else vocabulary_for(rs.source.directory)
    return validate_sessions([record], rs, vocab, assessment)[0]


# --- the SQLite log --------------------------------------------------------------------------

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
        for attempt in range(_RETRIES):
            try:
                with self._connection() as con:
                    try:
                        return action(con)
                    except BaseException:
                        if con.in_transaction:
                            con.execute("ROLLBACK")
                        raise
            except sqlite3.OperationalError as exc:
                if _busy(exc) and attempt < _RETRIES - 1:
                    time.sleep(0.05 * 2 ** attempt * (1 + random.random()))
                    continue
                raise CourseLogError(str(self.path), f"the course log cannot be used: {exc}"
                                     ) from None
            except sqlite3.DatabaseError as exc:
                raise CourseLogError(str(self.path), f"not a usable course log: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self, con: sqlite3.Connection) -> None:
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
            con.execute("BEGIN IMMEDIATE")
            cursor = con.execute(sql, list(row.values()))
            con.execute("COMMIT")
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        session_id = self._retrying(insert)
        return replace(session, session_id=session_id, logged_at=logged_at,
                       ruleset_version=self.ruleset.version)

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
        frame["adverse_effects"] = [json.loads(v) for v in frame["adverse_effects"]]
        typed = _frame(frame.to_dict("records"))
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

__all__ = [
    "DB_ENV",
    "SESSION_FIELDS",
    "CourseLog",
    "Guidance",
    "SessionField",
    "SessionRecord",
    "course_guidance",
    "default_db_path",
    "field_choices",
    "session_frame",
    "session_schema",
    "validate_session",
    "validate_sessions",
]
