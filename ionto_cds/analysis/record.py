"""The decision record: what was answered, decided and overridden, and its replay."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ionto_cds._version import __version__
from ionto_cds.analysis.diff_outcomes import DOSE_COLUMNS, Impact, Row, impact_of_rows, row_changes
from ionto_cds.engine.assess import assess, assessment_row
from ionto_cds.engine.assessment import NOTICE, Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import InputFileError, OverrideError, PatientDataError, quote
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.language.jsonsource import strict_json
from ionto_cds.language.model import Severity, Truth

RECORD_KIND = "ionto-cds decision record"
RECORD_VERSION = 1

OVERRIDE_REASONS: dict[str, str] = {
    "benefit_outweighs_risk": "Expected benefit outweighs the risk for this patient",
    "risk_mitigated": "Risk mitigated (measure described in the comment)",
    "specialist_agreed": "Agreed with the treating specialist",
    "patient_informed_consent": "Patient informed and consents",
    "information_outdated": "Triggering information is outdated or wrong",
}
"""Coded reasons a clinician may give for acknowledging a relative contraindication."""


@dataclass(frozen=True)
class Override:
    """A clinician's acknowledgement of a relative contraindication or precaution."""

    rule: str
    severity: str
    reason: str
    comment: str
    time_utc: str

    @property
    def reason_text(self) -> str:
        """The coded reason in words."""
        return OVERRIDE_REASONS.get(self.reason, self.reason)


def make_override(assessment: Assessment, rule_id: str, reason: str, comment: str,
                  now: datetime | None = None) -> Override:
    """Acknowledge one finding of ``assessment``: only relative or precaution, with a reason code
    and a comment. Raises :class:`OverrideError` otherwise."""
    finding = next((f for f in assessment.findings if f.rule.id == rule_id), None)
    if finding is None:
        raise OverrideError(rule_id, "no such finding in this assessment")
    if finding.rule.severity is Severity.ABSOLUTE:
        raise OverrideError(rule_id, "an absolute contraindication cannot be overridden")
    if finding.status is not Truth.TRUE:
        raise OverrideError(rule_id, "its question is unanswered: answer it first (only a "
                            "finding that applies can be acknowledged)")
    if reason not in OVERRIDE_REASONS:
        raise OverrideError(rule_id, "choose a coded reason for the override")
    if not comment.strip():
        raise OverrideError(rule_id, "write a comment explaining the override")
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return Override(rule_id, finding.rule.severity.value, reason, comment.strip(), when)


def build_record(assessment: Assessment, overrides: Iterable[Override] = (),
                 answers: Mapping[str, object] | None = None,
                 now: datetime | None = None,
                 context: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The decision record as JSON-ready data; overrides of findings no longer present drop.
    ``context`` (patient reference, date assessed, clinician) is kept as given."""
    d = assessment.to_dict()
    present = {f.rule.id for f in assessment.findings}
    kept = [o for o in overrides if o.rule in present]
    return {
        "kind": RECORD_KIND,
        "record_version": RECORD_VERSION,
        "created_utc": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "ionto_cds_version": __version__,
        "ruleset": d["ruleset"],
        "context": dict(context or {}),
        "answers": dict(answers) if answers is not None else d["answers"],
        "decision": d["decision"],
        "decision_text": d["decision_text"],
        "reasons": [
            {k: f[k] for k in ("rule", "severity", "status", "title", "rationale", "action",
                               "references", "scope", "trace")}
            for f in d["findings"]
        ],
        "missing": d["missing"],
        "plan": d["protocol"],
        "referral": d["referral"],
        "no_plan_reason": d["no_plan_reason"],
        "overrides": [asdict(o) | {"reason_text": o.reason_text} for o in kept],
        "notice": NOTICE,
    }


def write_record(record: Mapping[str, Any], path: str | Path) -> Path:
    """Write a record as pretty JSON (UTF-8) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def record_row(record: Mapping[str, Any]) -> Row:
    """A saved record's outcome in the form every outcome comparison reads (the frame
    evaluator's result columns), from the record's own fields."""
    plan = record.get("plan") or {}
    referral = record.get("referral") or {}
    reasons = record.get("reasons") or []
    return {
        "decision": str(record.get("decision") or ""),
        "findings": SEPARATOR.join(str(r.get("rule")) for r in reasons if isinstance(r, dict)),
        "missing": SEPARATOR.join(str(m) for m in record.get("missing") or []),
        "protocol": str(plan.get("id") or ""),
        "referral": str(referral.get("id") or ""),
        **{k: str(plan.get(k) or "") for k in DOSE_COLUMNS},
    }


def _read_record(path: Path) -> dict[str, Any]:
    """A decision record file, checked to be one (RecordError says why not)."""
    try:
        record = strict_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(str(path), f"cannot read the record ({exc})") from None
    if not isinstance(record, dict) or record.get("kind") != RECORD_KIND:
        raise InputFileError(str(path), f"not an {RECORD_KIND}")
    for key in ("plan", "referral"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            raise InputFileError(str(path), f"'{key}' is not an object")
    if not isinstance(record.get("reasons") or [], list) or not isinstance(
            record.get("missing") or [], list):
        raise InputFileError(str(path), "'reasons' and 'missing' must be lists")
    return record


def replay(path: str | Path, ruleset: RuleSet | None = None) -> tuple[bool, str]:
    """Re-run a saved record with today's rules; (agree, message saying what differs)."""
    try:
        record = _read_record(Path(path))
    except InputFileError as exc:
        return False, f"{path}: {exc.message}"
    rs = ruleset if ruleset is not None else default_ruleset()
    try:
        now = assess(record.get("answers") or {}, rs)
    except PatientDataError as exc:
        return False, f"{path}: today's rules cannot read the recorded answers: {exc}"
    return compare_record(record, now, rs)


def compare_record(record: Mapping[str, Any], now: Assessment,
                   rs: RuleSet) -> tuple[bool, str]:
    """Does ``now`` (the record's answers under today's rules ``rs``) agree with ``record``?"""
    old_rules = record.get("ruleset") or {}
    same_rules = old_rules.get("sha256") == rs.sha256
    rules_note = (f"rules {rs.version} (sha256 {rs.sha256[:12]}, "
                  + ("same as recorded)" if same_rules else
                     f"recorded with {old_rules.get('version')} sha256 "
                     f"{str(old_rules.get('sha256'))[:12]})"))
    new_row = dict(zip(RESULT_COLUMNS, assessment_row(now), strict=True))
    differences = [words for _, words in row_changes(record_row(record), new_row)]
    if differences:
        return False, (f"Today's {rules_note} disagree with the record: "
                       + "; ".join(differences) + ".")
    plan = new_row["protocol"]
    return True, (f"Today's {rules_note} agree with the record: {now.decision.words}"
                  + (f", plan {plan}." if plan else "."))


def is_record(data: object) -> bool:
    """True for data that says it is a decision record (a patient file does not)."""
    return isinstance(data, dict) and data.get("kind") == RECORD_KIND


@dataclass(frozen=True)
class SavedRecord:
    """What a saved decision record gives back to resume an assessment."""

    answers: dict[str, object]
    context: dict[str, str]
    overrides: tuple[Override, ...]
    record: Mapping[str, Any]


def read_record(data: Mapping[str, Any], name: str) -> SavedRecord:
    """The answers, context and overrides of a decision record, each checked for shape.

    Raises :class:`InputFileError` naming what is wrong (the answers themselves are checked by
    the rule set when they are loaded)."""
    version = data.get("record_version")
    if version != RECORD_VERSION:
        raise InputFileError(name, f"a decision record of version {quote(version)}: this "
                             f"version of ionto-cds reads version {RECORD_VERSION}")
    answers, context = data.get("answers"), data.get("context", {})
    if not isinstance(answers, dict):
        raise InputFileError(name, "the record has no 'answers' mapping")
    if not isinstance(context, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise InputFileError(name, "the record's 'context' must map names to texts")
    overrides: list[Override] = []
    for index, item in enumerate(data.get("overrides") or []):
        fields = {k: item.get(k) for k in ("rule", "severity", "reason", "comment", "time_utc")
                  } if isinstance(item, dict) else {}
        texts = {k: v for k, v in fields.items() if isinstance(v, str) and v}
        if len(texts) != 5 or texts["reason"] not in OVERRIDE_REASONS:
            raise InputFileError(name, f"override {index + 1} of the record is incomplete: "
                                 "each needs rule, severity, a coded reason, comment and time")
        overrides.append(Override(**texts))
    return SavedRecord(dict(answers), dict(context), tuple(overrides), data)


def record_files(paths: Iterable[str | Path]) -> list[Path]:
    """The record files named: files as given, folders by their *.json files (sorted)."""
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.glob("*.json") if p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            raise InputFileError(str(path), "no such record file or folder")
    return out


def replay_all(paths: Iterable[str | Path], ruleset: RuleSet | None = None
               ) -> tuple[Impact, list[str]]:
    """Replay several records (or folders of them) with today's rules: the outcome impact
    (records keyed by file) and the files that could not be read as records."""
    rs = ruleset if ruleset is not None else default_ruleset()
    then: dict[str, Row | None] = {}
    now: dict[str, Row | None] = {}
    unreadable: list[str] = []
    for path in record_files(paths):
        try:
            record = _read_record(path)
        except InputFileError as exc:
            unreadable.append(f"{path}: {exc.message}")
            continue
        then[str(path)] = record_row(record)
        try:
            a = assess(record.get("answers") or {}, rs)
        except PatientDataError:
            now[str(path)] = None
            continue
        now[str(path)] = dict(zip(RESULT_COLUMNS, assessment_row(a), strict=True))
    return impact_of_rows("records", then, now), unreadable
