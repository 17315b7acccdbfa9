"""The decision record: what was answered, decided and overridden, and its replay."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ionto_cds._version import __version__
from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import NOTICE, Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import InputFileError, OverrideError, PatientDataError, quote
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


def replay(path: str | Path, ruleset: RuleSet | None = None) -> tuple[bool, str]:
    """Re-run a saved record with today's rules; (agree, message saying what differs)."""
    try:
        record = strict_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"{path}: cannot read the record ({exc})"
    if not is_record(record):
        return False, f"{path}: not an {RECORD_KIND}"
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
    differences: list[str] = []
    if now.decision.value != record.get("decision"):
        differences.append(f"decision was {record.get('decision')}, now {now.decision.value}")
    old_plan = record.get("plan") or {}
    new_plan = now.protocol.to_dict() if now.protocol is not None else {}
    for key in ("id", "current", "duration", "dose"):
        if old_plan.get(key) != new_plan.get(key):
            differences.append(f"plan {key} was {old_plan.get(key)}, now {new_plan.get(key)}")
    old_reasons = sorted(r["rule"] for r in record.get("reasons", []))
    new_reasons = sorted(f.rule.id for f in now.findings)
    if old_reasons != new_reasons:
        differences.append(f"reasons were {old_reasons}, now {new_reasons}")
    if differences:
        return False, (f"Today's {rules_note} disagree with the record: "
                       + "; ".join(differences) + ".")
    return True, (f"Today's {rules_note} agree with the record: {now.decision.words}"
                  + (f", plan {new_plan['id']}." if new_plan else "."))


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
