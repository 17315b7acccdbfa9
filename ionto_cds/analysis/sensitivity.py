"""What-if analysis: which single answer change would change the decision, and what changed.

Every alternative is judged by re-running :func:`~ionto_cds.engine.assess.assess`, so the
answers here agree with the engine by construction. Numeric alternatives come from the
thresholds written in the rules' leaves (never from numbers held in Python).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import AnswerError, PatientDataError
from ionto_cds.evaluation.outcomes import Decision
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import Condition, FactType, leaves
from ionto_cds.language.operators import OPERATORS, ValueShape

CLEAR: Any = None
"""The alternative 'leave this unanswered'."""


@dataclass(frozen=True)
class Alternative:
    """One single-answer change: the fact, the new raw answer (``CLEAR`` clears it), words."""

    fact: str
    value: Any
    shown: str


@dataclass(frozen=True)
class Change:
    """An alternative with the assessment it gives."""

    alternative: Alternative
    before: Assessment
    after: Assessment

    @property
    def changes_decision(self) -> bool:
        """True when the decision differs."""
        return self.before.decision is not self.after.decision


@dataclass(frozen=True)
class Difference:
    """What differs between two assessments: decision, findings, protocol, dose."""

    decision: tuple[Decision, Decision] | None
    findings_added: tuple[str, ...]
    findings_removed: tuple[str, ...]
    findings_changed: tuple[tuple[str, str, str], ...]  # (rule, status before, after)
    protocol: tuple[str | None, str | None] | None
    dose: tuple[tuple[str, str | None, str | None], ...]  # (field, before, after)

    @property
    def empty(self) -> bool:
        """True when nothing that matters changed."""
        return not (self.decision or self.findings_added or self.findings_removed
                    or self.findings_changed or self.protocol or self.dose)


DOSE_FIELDS = ("current", "duration", "dose", "current_density", "electrode_area")


def _outcome_protocol(a: Assessment) -> str | None:
    if a.protocol is not None:
        return a.protocol.protocol.id
    return a.referral.id if a.referral is not None else None


def difference(before: Assessment, after: Assessment) -> Difference:
    """Compare two assessments field by field."""
    def statuses(a: Assessment) -> dict[str, str]:
        return {f"{f.rule.id}" + ("" if f.scope == "decision" else f" ({f.scope})"):
                f.status.label for f in a.findings}

    old, new = statuses(before), statuses(after)
    p_old, p_new = _outcome_protocol(before), _outcome_protocol(after)
    d_old = before.protocol.to_dict() if before.protocol else {}
    d_new = after.protocol.to_dict() if after.protocol else {}
    dose = tuple((name, d_old.get(name), d_new.get(name)) for name in DOSE_FIELDS
                 if d_old.get(name) != d_new.get(name))
    return Difference(
        decision=(before.decision, after.decision) if before.decision is not after.decision
        else None,
        findings_added=tuple(k for k in new if k not in old),
        findings_removed=tuple(k for k in old if k not in new),
        findings_changed=tuple((k, old[k], new[k]) for k in new if k in old and old[k] != new[k]),
        protocol=(p_old, p_new) if p_old != p_new else None,
        dose=dose,
    )


def _all_conditions(rs: RuleSet) -> list[Condition]:
    conditions: list[Condition] = [r.when for r in rs.rules]
    conditions += [p.when for p in rs.protocols]
    conditions += [c for f in rs.catalog for c in rs.catalog.gate_conditions(f.name)]
    return conditions


def thresholds(rs: RuleSet, fact: str) -> tuple[float, ...]:
    """The values a number fact is compared with anywhere in the rules, sorted."""
    found: set[float] = set()
    for condition in _all_conditions(rs):
        for leaf in leaves(condition):
            if leaf.fact != fact:
                continue
            op = OPERATORS[leaf.op]
            if op.ordered and isinstance(leaf.value, int | float):
                found.add(float(leaf.value))
            elif op.shape is ValueShape.SET:
                found.update(float(v) for v in leaf.value if isinstance(v, int | float))
    return tuple(sorted(found))


def _number_text(fact: FactDef, value: float) -> str:
    text = f"{value:g}"
    return f"{text} {fact.unit}" if fact.type is FactType.QUANTITY else text


def _number_points(rs: RuleSet, fact: FactDef) -> list[tuple[float, str]]:
    """One value per region the thresholds cut the fact's range into, plus each threshold."""
    cuts = thresholds(rs, fact.name)
    if not cuts:
        return []
    whole = fact.type is FactType.INT
    low = fact.minimum
    high = fact.maximum
    points: list[tuple[float, str]] = []

    def add(value: float, region: str) -> None:
        if whole:
            value = float(round(value))
        if (low is not None and value < low) or (high is not None and value > high):
            return
        if all(value != v for v, _ in points):
            points.append((value, region))

    first = cuts[0]
    below = (low + first) / 2 if low is not None else first - 1
    if whole and below >= first:
        below = first - 1
    add(below, f"below {_number_text(fact, first)}")
    for i, cut in enumerate(cuts):
        add(cut, "exactly the threshold")
        if i + 1 < len(cuts):
            nxt = cuts[i + 1]
            mid = (cut + nxt) / 2
            if whole:
                mid = float(int(cut) + 1)
                if mid >= nxt:
                    continue
            add(mid, f"between {_number_text(fact, cut)} and {_number_text(fact, nxt)}")
    last = cuts[-1]
    above = (last + high) / 2 if high is not None else last + 1
    if whole and above <= last:
        above = last + 1
    add(above, f"above {_number_text(fact, last)}")
    return points


def _words(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value).replace("_", " ")


def alternatives(rs: RuleSet, answers: Mapping[str, Any], fact: FactDef) -> list[Alternative]:
    """Every single change to one fact: each other value, and clearing it if answered."""
    current = answers.get(fact.name, CLEAR)
    out: list[Alternative] = []
    if current is not CLEAR:
        out.append(Alternative(fact.name, CLEAR, "clear (unknown)"))
    if fact.type is FactType.BOOL:
        try:
            now = fact.normalise(current) if current is not CLEAR else None
        except AnswerError:
            now = None
        out += [Alternative(fact.name, v, _words(v)) for v in (True, False) if v != now]
    elif fact.type is FactType.ENUM:
        out += [Alternative(fact.name, v, _words(v)) for v in fact.values if v != current]
    elif fact.type is FactType.LIST:
        held = set(current) if isinstance(current, list | tuple | set | frozenset) else None
        if held != set():
            out.append(Alternative(fact.name, [], "none"))
        for v in fact.values:
            base = held or set()
            changed = sorted(base ^ {v})
            verb = "remove" if v in base else "add"
            out.append(Alternative(fact.name, changed, f"{verb} {_words(v)}"))
    else:
        try:
            now_value = fact.normalise(current) if current is not CLEAR else None
        except AnswerError:
            now_value = None
        for value, region in _number_points(rs, fact):
            if now_value is not None and abs(value - float(now_value)) < 1e-12:
                continue
            text = _number_text(fact, value)
            raw: Any = int(value) if fact.type is FactType.INT else text
            out.append(Alternative(fact.name, raw, f"{text} ({region})"))
    return out


def apply(answers: Mapping[str, Any], alternative: Alternative) -> dict[str, Any]:
    """The answers with one change applied."""
    changed = dict(answers)
    if alternative.value is CLEAR:
        changed.pop(alternative.fact, None)
    else:
        changed[alternative.fact] = alternative.value
    return changed


def single_changes(answers: Mapping[str, Any], rs: RuleSet) -> list[Change]:
    """Every single-answer change that can be assessed, in catalog order.

    Changes the catalog refuses (answering yes to a question that does not apply) are skipped.
    """
    before = assess(answers, rs)
    out: list[Change] = []
    for fact in rs.catalog:
        for alternative in alternatives(rs, answers, fact):
            try:
                after = assess(apply(answers, alternative), rs)
            except PatientDataError:
                continue
            out.append(Change(alternative, before, after))
    return out


def sensitivity(answers: Mapping[str, Any], rs: RuleSet) -> list[Change]:
    """The single-answer changes that would change the decision."""
    return [c for c in single_changes(answers, rs) if c.changes_decision]
