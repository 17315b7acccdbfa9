"""Session records checked before they are logged: every field parsed, every problem collected,
and the session held to the same limits as the plan (the one dose check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course.records import (
    DOSE_TOLERANCE,
    FIELDS_BY_NAME,
    SESSION_FIELDS,
    FieldKind,
    SessionField,
    SessionRecord,
    is_missing,
    typed_frame,
)
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import AnswerError, SessionDataError, SessionProblem, UnitError, quote
from ionto_cds.language.model import Truth
from ionto_cds.language.treatment import POLARITIES, Protocol
from ionto_cds.language.vocabulary import CourseVocabulary, vocabulary_for
from ionto_cds.suggestions import did_you_mean
from ionto_cds.treatment.calculator import DoseCheck, check_session
from ionto_cds.treatment.dosing import dose_for
from ionto_cds.treatment.limits import LimitKind
from ionto_cds.units import Quantity, parse_quantity, pretty_quantity

Q = Any  # pint Quantity

_SCORE_OF = {"hdss_before": "hdss", "hdss_after": "hdss", "pain_after": "pain"}
_LIMIT_FIELD = {LimitKind.MAX_CURRENT: "current", LimitKind.MAX_DOSE: "dose",
                LimitKind.MAX_CURRENT_DENSITY: "electrode_area"}


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

    def check(self, protocol: Protocol, current: Q, duration: Q, area: Q | None) -> DoseCheck:
        """The session's numbers against every limit a plan of the protocol had."""
        drug = self.ruleset.drugs.get(protocol.drug) if protocol.drug else None
        caps = self.assessment.rule_caps(protocol.id) if self.assessment is not None else []
        return check_session(current=current, duration=duration, area=area, protocol=protocol,
                             drug=drug, global_limits=self.ruleset.limits, rule_caps=caps)


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
    return None if value is None or is_missing(value) else float(value)


def _limit_violation(ctx: _Context, row: Mapping[str, Any], kind: LimitKind) -> str | None:
    """The tightest limit of one kind the session breaks (the one dose check of plans)."""
    protocol = ctx.protocol(row.get("protocol"))
    mA, minutes, area = (_number(row, c) for c in
                         ("current[mA]", "duration[min]", "electrode_area[cm^2]"))
    if protocol is None or protocol.is_referral or mA is None or mA <= 0:
        return None
    check = ctx.check(protocol, Quantity(mA, "mA"),
                      Quantity(minutes if minutes is not None and minutes > 0 else 0.0, "min"),
                      Quantity(area, "cm^2") if area is not None and area > 0 else None)
    broken = [c for c in check.broken if c.limit.kind is kind]
    if not broken:
        return None
    worst = min(broken, key=lambda c: c.limit.value)
    return f"{worst}: the session is refused"


def _dose_problem(row: Mapping[str, Any]) -> str | None:
    given, current, duration = (_number(row, c) for c in
                                ("dose[mA*min]", "current[mA]", "duration[min]"))
    if given is None or current is None or duration is None:
        return None
    computed = current * duration
    if abs(given - computed) <= DOSE_TOLERANCE * max(computed, 1e-12):
        return None
    return (f"{pretty_quantity(Quantity(given, 'mA*min'))} does not match current x "
            f"duration = {pretty_quantity(Quantity(current, 'mA'))} x "
            f"{pretty_quantity(Quantity(duration, 'min'))} = "
            f"{pretty_quantity(Quantity(computed, 'mA*min'))}")


def _polarity_problem(ctx: _Context, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    polarity = row.get("polarity")
    if protocol is None or protocol.modality != "drug_assisted" or is_missing(polarity):
        return None
    if polarity == protocol.polarity or polarity not in POLARITIES:
        return None
    return (f"'{polarity}' does not match protocol {protocol.id}: its drug is given from the "
            f"{protocol.polarity}")


def _site_problem(ctx: _Context, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    site = row.get("site")
    if protocol is None or is_missing(site) or site not in ctx.sites():
        return None
    # Only the site is known here, so a protocol fails only when its condition is false for it.
    env = ctx.ruleset.validate({"site": site}).env
    if ctx.ruleset.protocol_truth(protocol, env) is not Truth.FALSE:
        return None
    return f"'{site}' is not a site protocol {protocol.id} treats"


def _limit_check(kind: LimitKind) -> Callable[[_Context, Mapping[str, Any]], str | None]:
    return lambda ctx, row: _limit_violation(ctx, row, kind)


_ROW_CHECKS: dict[str, tuple[str, Callable[[_Context, Mapping[str, Any]], str | None]]] = {
    "dose_matches": ("dose", lambda ctx, row: _dose_problem(row)),
    "polarity_matches_drug": ("polarity", _polarity_problem),
    "site_fits_protocol": ("site", _site_problem),
    **{kind.value: (field, _limit_check(kind)) for kind, field in _LIMIT_FIELD.items()},
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


def _column_problem(f: SessionField, value: Any, ctx: _Context) -> str:
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
        s = vocab.scores[_SCORE_OF[f.name]]
        return f"must be a whole number from {s.min} to {s.max}, got {value}"
    if f.kind is FieldKind.QUANTITY:
        return f"must be above zero, got {pretty_quantity(Quantity(float(value), f.unit or ''))}"
    if f.kind is FieldKind.DATE:
        return f"{pd.Timestamp(value).date().isoformat()} is in the future; log sessions that " \
               "have taken place"
    return f"must not be empty, got {quote(value)}"


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
        parsed_rows.append(parsed)

    def row_of(parsed: Mapping[str, Any]) -> dict[str, Any]:
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

    frame = typed_frame([row_of(p) for p in parsed_rows])
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
        if index is None or is_missing(index):
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
