"""Session records checked before they are logged: every field parsed, every problem collected,
and the session held to the same limits as the plan (the one dose check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course.records import (
    FIELDS_BY_NAME,
    SESSION_FIELDS,
    FieldKind,
    SessionField,
    SessionRecord,
    is_missing,
    typed_frame,
)
from ionto_cds.course.schema import (
    ROW_CHECKS,
    SCORE_OF,
    SessionContext,
    field_choices,
    session_schema,
)
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import AnswerError, SessionDataError, SessionProblem, UnitError, quote
from ionto_cds.language.vocabulary import CourseVocabulary, vocabulary_for
from ionto_cds.suggestions import did_you_mean
from ionto_cds.treatment.dosing import dose_for
from ionto_cds.units import Quantity, parse_quantity, pretty_quantity

Q = Any  # pint Quantity


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
    raise AnswerError(value, f"expected a date as YYYY-MM-DD, got {quote(value)}")


def _parse_score(value: object) -> int:
    if isinstance(value, bool):
        raise AnswerError(value, f"expected a whole number, got {quote(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = value.strip() if isinstance(value, str) else ""
    if 0 < len(text) <= 6 and text.lstrip("-").isdigit():
        return int(text)
    raise AnswerError(value, f"expected a whole number, got {quote(value)}")


def _parse_effects(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value)
    raise AnswerError(value, f"expected a list of adverse effects, got {quote(value)}")


def _parse_field(f: SessionField, value: object) -> Any:
    if f.kind is FieldKind.QUANTITY:
        return parse_quantity(value, f.unit or "")
    if f.kind is FieldKind.DATE:
        return _parse_date(value)
    if f.kind is FieldKind.SCORE:
        return _parse_score(value)
    if f.kind is FieldKind.EFFECTS:
        return _parse_effects(value)
    if not isinstance(value, str):
        raise AnswerError(value, f"expected a text, got {quote(value)}")
    return value.strip()


def _column_problem(f: SessionField, value: Any, ctx: SessionContext) -> str:
    """Why a column check refused a value, in words (subject, check, offending value)."""
    vocab = ctx.vocabulary
    if f.name == "protocol":
        p = ctx.protocol(value)
        if p is not None:
            return f"'{value}' is a referral, not a treatment protocol"
        ids = ctx.treatment_ids()
        return f"unknown protocol '{value}'{did_you_mean(value, ids)}; one of: {', '.join(ids)}"
    if f.kind is FieldKind.ENUM:
        choices = field_choices(f.name, ctx.ruleset, vocab)
        return f"'{value}' is not a {f.label.lower()}{did_you_mean(value, choices)}; one of: " \
               f"{', '.join(choices)}"
    if f.kind is FieldKind.EFFECTS:
        known = list(vocab.adverse_effects)
        unknown = [k for k in value if k not in vocab.adverse_effects]
        return "; ".join(f"'{k}' is not an adverse effect in the vocabulary{did_you_mean(k, known)}"
                         for k in unknown) + f" (known: {', '.join(known)})"
    if f.kind is FieldKind.SCORE:
        s = vocab.scores[SCORE_OF[f.name]]
        return f"must be a whole number from {s.min} to {s.max}, got {value}"
    if f.kind is FieldKind.QUANTITY:
        return f"must be above zero, got {pretty_quantity(Quantity(float(value), f.unit or ''))}"
    if f.kind is FieldKind.DATE:
        return f"{pd.Timestamp(value).date().isoformat()} is in the future; log sessions that " \
               "have taken place"
    return f"must not be empty, got {quote(value)}"


def _parse_record(record: Mapping[str, object], ctx: SessionContext
                  ) -> tuple[dict[str, Any], list[SessionProblem]]:
    """One raw session's fields parsed (the protocol's polarity and solution by default), and
    every problem found in reading them."""
    mine: list[SessionProblem] = []
    parsed: dict[str, Any] = {}
    for key in record:
        if key not in FIELDS_BY_NAME:
            mine.append(SessionProblem(str(key), record[key], "unknown field"
                                       f"{did_you_mean(key, FIELDS_BY_NAME)}"))
    for f in SESSION_FIELDS:
        value = record.get(f.name)
        if value is None or is_missing(value) or (f.kind is FieldKind.EFFECTS and value == []):
            if f.required:
                mine.append(SessionProblem(f.name, value, "required"))
            continue
        try:
            parsed[f.name] = _parse_field(f, value)
        except (UnitError, AnswerError) as exc:
            mine.append(SessionProblem(f.name, value, str(exc)))
    protocol = ctx.protocol(parsed.get("protocol"))
    if protocol is not None and not protocol.is_referral:
        parsed.setdefault("polarity", protocol.polarity)
        parsed.setdefault("solution", protocol.solution or None)
    return parsed, mine


def _row_of(parsed: Mapping[str, Any]) -> dict[str, Any]:
    """Parsed fields as one row of the session frame (quantities in the log's units)."""
    row: dict[str, Any] = {}
    for f in SESSION_FIELDS:
        value = parsed.get(f.name)
        if f.kind is FieldKind.QUANTITY:
            row[f.column] = None if value is None else float(value.to(f.unit).magnitude)
        elif f.kind is FieldKind.EFFECTS:
            row[f.column] = list(value or ())
        else:
            row[f.column] = value
    if parsed.get("dose") is None and "current" in parsed and "duration" in parsed:
        row["dose[mA*min]"] = float(dose_for(parsed["current"], parsed["duration"]).magnitude)
    return row


def validate_sessions(records: Sequence[Mapping[str, object]], ruleset: RuleSet,
                      vocabulary: CourseVocabulary, assessment: Assessment | None = None
                      ) -> list[SessionRecord]:
    """Check raw session mappings (strings with units accepted) and turn them into records.

    Every problem of every record is collected before raising
    :class:`~ionto_cds.errors.SessionDataError` (for the first bad record's course). With the
    patient's ``assessment`` each session is also held to the caps its rules put on the plan.
    """
    ctx = SessionContext(ruleset, vocabulary, assessment)
    problems: dict[int, list[SessionProblem]] = {}
    parsed_rows: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        parsed, problems[i] = _parse_record(record, ctx)
        parsed_rows.append(parsed)
    refusal = assessment_problem(assessment)
    if refusal is not None:
        for found in problems.values():
            found.insert(0, refusal)
    frame = typed_frame([_row_of(p) for p in parsed_rows])
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


def assessment_problem(assessment: Assessment | None) -> SessionProblem | None:
    """Why no session can be logged against this assessment (not eligible, refer, or needs
    information), or None when it allows treatment or none was given."""
    if assessment is None or assessment.decision.allows_treatment:
        return None
    why = (f": {assessment.referral.title}" if assessment.referral is not None
           else f" ({'; '.join(assessment.missing[:3])} unanswered)" if assessment.missing
           else "")
    return SessionProblem("assessment", assessment.decision.value,
                          f"the patient's assessment is '{assessment.decision.words}'{why}: "
                          "no treatment session can be logged against it; settle the "
                          "assessment first")


def interval_problem(session: SessionRecord, earlier: Sequence[dt.date], ruleset: RuleSet
                     ) -> SessionProblem | None:
    """The session refused when it lies closer to another session of its course and protocol
    than the protocol's minimum interval (glycopyrronium: 7 days), else None."""
    protocol = next((p for p in ruleset.protocols if p.id == session.protocol), None)
    schedule = protocol.schedule if protocol is not None else None
    if schedule is None or schedule.min_interval is None:
        return None
    days = float(schedule.min_interval.to("day").magnitude)
    close = sorted((d for d in earlier if abs((session.date - d).days) < days - 1e-9),
                   key=lambda d: abs((session.date - d).days))
    if not close:
        return None
    other, gap = close[0], (session.date - close[0]).days
    apart = ("on the same day as" if gap == 0 else
             f"{abs(gap)} day{'s' if abs(gap) != 1 else ''} {'after' if gap > 0 else 'before'}")
    return SessionProblem(
        "date", session.date.isoformat(),
        f"{session.date.isoformat()} is {apart} the session of {other.isoformat()}; protocol "
        f"{session.protocol} needs at least {pretty_quantity(schedule.min_interval)} between "
        "sessions: the session is refused")


def _collect_schema_problems(exc: pa.errors.SchemaErrors, frame: pd.DataFrame, ctx: SessionContext,
                             parsed_rows: list[dict[str, Any]],
                             problems: dict[int, list[SessionProblem]]) -> None:
    by_column = {f.column: f for f in SESSION_FIELDS}
    seen: set[tuple[int, str]] = set()
    cases = exc.failure_cases
    for case in cases.to_dict("records"):
        index = case["index"]
        if index is None or is_missing(index):
            continue
        i = int(index)
        check = str(case["check"])
        row = frame.loc[i].to_dict()
        if case["schema_context"] == "DataFrameSchema" and check in ROW_CHECKS:
            field, explain = ROW_CHECKS[check]
            message = explain(ctx, row)
        else:
            f = by_column.get(str(case["column"]))
            if f is None:
                continue
            field = f.name
            if parsed_rows[i].get(f.name) is None and f.kind is not FieldKind.EFFECTS:
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
