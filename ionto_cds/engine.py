"""The rule set and :func:`assess`: answers in, an explained Assessment out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from ionto_cds import __version__
from ionto_cds.dosing import current_density, tightest
from ionto_cds.errors import RuleSetError
from ionto_cds.facts import FactCatalog, FactSet
from ionto_cds.language.conditions import Compiled, compile_condition, trace, undecided_facts
from ionto_cds.language.loader import RuleSource, read_rules
from ionto_cds.language.model import UNKNOWN, Rule, Severity, Truth
from ionto_cds.language.treatment import Protocol
from ionto_cds.protocols import Plan, PlanInfeasible, build_plan

_T, _U, _F = int(Truth.TRUE), int(Truth.UNKNOWN), int(Truth.FALSE)


NOTICE = ("Decision support for health-care professionals: it supports, and does not replace, "
          "clinical judgement. Review the reasons and sources before acting.")
"""Shown with every assessment, report and decision record (FDA CDS guidance, criterion 4)."""


class Decision(StrEnum):
    """The four outcomes of an assessment (fixed public contract)."""

    NOT_ELIGIBLE = "not_eligible"
    NEEDS_INFORMATION = "needs_information"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
    ELIGIBLE = "eligible"

    @property
    def words(self) -> str:
        """The decision in words, e.g. 'Not eligible'."""
        return self.value.replace("_", " ").capitalize()

    @property
    def allows_treatment(self) -> bool:
        """True for the two decisions that come with a plan."""
        return self in (Decision.ELIGIBLE, Decision.ELIGIBLE_WITH_PRECAUTIONS)


class RuleSet:
    """A loaded, checked rules folder with every condition compiled once."""

    def __init__(self, source: RuleSource) -> None:
        self.source = source
        self.version = source.version
        self.sha256 = source.sha256
        self.catalog: FactCatalog = source.catalog
        self.rules = source.rules
        self.references = source.references
        self.drugs = source.drugs
        self.protocols: tuple[Protocol, ...] = source.protocols
        self.limits = source.limits
        self.general = tuple(r for r in self.rules if r.is_general)
        self.steering = tuple(r for r in self.rules if not r.is_general)
        self.by_id: dict[str, Rule] = {r.id: r for r in self.rules}
        self.compiled: dict[str, Compiled] = {r.id: compile_condition(r.when) for r in self.rules}
        self.protocol_when: dict[str, Compiled] = {
            p.id: compile_condition(p.when) for p in self.protocols
        }
        self.required = tuple(f.name for f in self.catalog if f.required)
        self._plans: dict[tuple[Any, ...], Plan | str] = {}
        self._steering_for: dict[str, tuple[Rule, ...]] = {
            p.id: tuple(r for r in self.steering if r.applies_to & p.targets())
            for p in self.protocols
        }

    def plan(self, protocol: Protocol, rule_caps: list[tuple[str, Any, str]], area: Any,
             precautions: tuple[str, ...]) -> Plan:
        """The plan for a protocol under these caps and electrode area, computed once per
        distinct input (plans are immutable and depend on nothing else).

        Raises PlanInfeasible, like build_plan.
        """
        key = (protocol.id, tuple((n, str(v), r) for n, v, r in rule_caps),
               None if area is None else float(area.magnitude), precautions)
        cached = self._plans.get(key)
        if isinstance(cached, str):  # infeasible: a fresh exception, so no traceback is kept
            raise PlanInfeasible(cached)
        if cached is not None:
            return cached
        if len(self._plans) > 65536:
            self._plans.clear()
        try:
            plan = self._area_variant(protocol, rule_caps, area, precautions)
            if plan is None:
                drug = self.drugs.get(protocol.drug) if protocol.drug else None
                plan = build_plan(protocol, drug, self.limits, rule_caps, area, precautions)
        except PlanInfeasible as exc:
            # Keep only the reason: a kept exception would keep its traceback's frames alive.
            self._plans[key] = str(exc)
            raise
        self._plans[key] = plan
        return plan

    def _area_variant(self, protocol: Protocol, rule_caps: list[tuple[str, Any, str]],
                      area: Any, precautions: tuple[str, ...]) -> Plan | None:
        """The plan for an answered electrode area that does not bind the current-density
        limit: the area-free plan with the area and density filled in (what build_plan gives,
        without redoing its unit arithmetic). None when the full build is needed."""
        if area is None or protocol.electrode_area is not None:
            return None
        try:
            base = self.plan(protocol, rule_caps, None, precautions)
        except PlanInfeasible:
            return None
        cap = tightest(list(base.limits), "max_current_density")
        if cap is not None and base.current > (cap.value * area).to(base.current.units):
            return None
        return replace(base, electrode_area=area, area_source="answer",
                       current_density=current_density(base.current, area))

    def steering_rules(self, protocol: Protocol) -> tuple[Rule, ...]:
        """The modality- and drug-specific rules that bear on one protocol."""
        return self._steering_for[protocol.id]

    def __repr__(self) -> str:
        return (f"<RuleSet {self.version} sha256={self.sha256[:12]} rules={len(self.rules)} "
                f"protocols={len(self.protocols)}>")


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load and check a rules folder (the packaged rules by default).

    Raises :class:`~ionto_cds.errors.RuleSetError` listing every mistake with file:line.
    """
    report = read_rules(path)
    if report.errors or report.source is None:
        raise RuleSetError(report.errors)
    return RuleSet(report.source)


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """The packaged rules, loaded once per process."""
    return load_ruleset()


@dataclass(frozen=True)
class Finding:
    """A rule that is true, or could be true, for this patient, with its explanation.

    The trace (every condition node with the answer it read) is worked out when first asked
    for, from the answers the rule was evaluated on.
    """

    rule: Rule
    status: Truth
    env: Mapping[str, Any] = field(repr=False, compare=False)
    catalog: FactCatalog = field(repr=False, compare=False)
    scope: str = "decision"  # decision | protocol:<id>
    outcome: str = ""

    @cached_property
    def trace(self) -> Mapping[str, Any]:
        """Each leaf: fact, operator, expected value as written, the answer seen, the result."""
        catalog = self.catalog
        return trace(self.rule.when, self.env, lambda f, v: catalog[f].show(v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly, with the rule's metadata so a report never looks it up again."""
        r = self.rule
        return {
            "rule": r.id,
            "severity": r.severity.value,
            "status": self.status.label,
            "title": r.title,
            "rationale": r.rationale,
            "action": r.action,
            "references": list(r.references),
            "applies_to": sorted(r.applies_to),
            "scope": self.scope,
            "outcome": self.outcome or None,
            "metadata": {
                "version": r.metadata.version,
                "author": r.metadata.author,
                "last_reviewed": r.metadata.last_reviewed,
            },
            "location": str(r.location),
            "trace": dict(self.trace),
        }


@dataclass(frozen=True)
class ProtocolStep:
    """One protocol looked at while choosing the plan, and what came of it.

    ``outcome`` is one of: does not match, undecided, excluded by rule, excluded by limit,
    pending questions, chosen, referral, not reached. ``rules`` are the steering rules that
    excluded it, left it pending, or apply to the chosen plan.
    """

    protocol: str
    condition: Truth
    outcome: str
    rules: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {"protocol": self.protocol, "condition": self.condition.label,
                "outcome": self.outcome, "rules": list(self.rules),
                "reason": self.reason or None}


@dataclass(frozen=True)
class Assessment:
    """The outcome for one patient: decision, findings, missing facts, plan, provenance."""

    decision: Decision
    findings: tuple[Finding, ...]
    missing: tuple[str, ...]
    protocol: Plan | None
    factset: FactSet
    ruleset: RuleSet
    referral: Protocol | None = None
    no_plan_reason: str | None = None
    plan_questions: tuple[str, ...] = ()
    excluded: tuple[str, ...] = field(default=())
    screen_decision: Decision | None = None
    protocol_walk: tuple[ProtocolStep, ...] = ()

    def rule_caps(self, protocol_id: str) -> list[tuple[str, Any, str]]:
        """(limit name, value, rule id) for every cap this patient's rules put on a plan of
        one protocol: the caps :meth:`RuleSet.plan` is given when that protocol is chosen.

        General rules that are true or unknown count, and so do the protocol's own relative and
        precaution rules (an unknown cap applies: the safer side).
        """
        rs, env = self.ruleset, self.factset.env
        general = [r for r in rs.general if r.effect and rs.compiled[r.id](env) != _F]
        protocol = next((p for p in rs.protocols if p.id == protocol_id), None)
        steering = rs.steering_rules(protocol) if protocol is not None else ()
        soft = [r for r in steering if r.effect
                and r.severity is not Severity.ABSOLUTE and rs.compiled[r.id](env) != _F]
        return [(name, value, r.id) for r in (*general, *soft) for name, value in r.effect.items()]

    def to_dict(self) -> dict[str, Any]:
        """The fixed JSON contract of `ionto-cds assess --format json`, plus extra context."""
        catalog = self.ruleset.catalog
        answers = {
            name: catalog[name].show(value) for name, value in self.factset.values.items()
        }
        return {
            "decision": self.decision.value,
            "decision_text": self.decision.words,
            "findings": [f.to_dict() for f in self.findings],
            "missing": list(self.missing),
            "questions": [
                {"fact": name, "label": catalog[name].label, "help": catalog[name].help}
                for name in self.missing
            ],
            "protocol": self.protocol.to_dict() if self.protocol is not None else None,
            "referral": {
                "id": self.referral.id,
                "title": self.referral.title,
                "summary": self.referral.summary,
                "references": list(self.referral.references),
            } if self.referral is not None else None,
            "no_plan_reason": self.no_plan_reason,
            "plan_questions": list(self.plan_questions),
            "excluded_protocols": list(self.excluded),
            "screen_decision": (self.screen_decision or self.decision).value,
            "protocol_walk": [step.to_dict() for step in self.protocol_walk],
            "answers": answers,
            "not_applicable": list(self.factset.not_applicable),
            "ruleset": {"version": self.ruleset.version, "sha256": self.ruleset.sha256},
            "ionto_cds_version": __version__,
            "notice": NOTICE,
        }


def assess(answers: Mapping[str, object] | FactSet, ruleset: RuleSet | None = None) -> Assessment:
    """Assess one patient's answers against a rule set (the packaged rules by default).

    Raises :class:`~ionto_cds.errors.PatientDataError` for answers that cannot be used.
    """
    rs = ruleset if ruleset is not None else default_ruleset()
    factset = answers if isinstance(answers, FactSet) else rs.catalog.validate(answers)
    env = factset.env
    status = {r.id: rs.compiled[r.id](env) for r in rs.general}

    absolute_true = absolute_unknown = soft_true = soft_unknown = False
    for rule in rs.general:
        s = status[rule.id]
        if s == _F:
            continue
        if rule.severity is Severity.ABSOLUTE:
            absolute_true |= s == _T
            absolute_unknown |= s == _U
        else:
            soft_true |= s == _T
            soft_unknown |= s == _U
    required_missing = tuple(n for n in rs.required if env.get(n, UNKNOWN) is UNKNOWN)

    if absolute_true:
        decision = Decision.NOT_ELIGIBLE
    elif absolute_unknown or required_missing:
        decision = Decision.NEEDS_INFORMATION
    elif soft_true or soft_unknown:
        decision = Decision.ELIGIBLE_WITH_PRECAUTIONS
    else:
        decision = Decision.ELIGIBLE

    fired = [r for r in rs.general if status[r.id] != _F]
    findings = [_finding(rs, r, Truth(status[r.id]), env) for r in fired]
    missing = _missing(rs, decision, fired, status, factset, required_missing)

    result = base = Assessment(decision, (), missing, None, factset, rs)
    if decision.allows_treatment and rs.protocols:
        result = _choose_protocol(rs, decision, findings, factset, status)
    findings_sorted = tuple(sorted(
        result.findings or findings,
        key=lambda f: (f.rule.severity.rank, -int(f.status), f.scope != "decision"),
    ))
    return Assessment(
        decision=result.decision,
        findings=findings_sorted,
        missing=result.missing if result is not base else missing,
        protocol=result.protocol,
        factset=factset,
        ruleset=rs,
        referral=result.referral,
        no_plan_reason=result.no_plan_reason,
        plan_questions=result.plan_questions,
        excluded=result.excluded,
        screen_decision=decision,
        protocol_walk=result.protocol_walk,
    )


def _finding(rs: RuleSet, rule: Rule, status: Truth, env: Mapping[str, Any],
             scope: str = "decision", outcome: str = "") -> Finding:
    return Finding(rule, status, env, rs.catalog, scope, outcome)


def _missing(
    rs: RuleSet, decision: Decision, fired: list[Rule], status: Mapping[str, int],
    factset: FactSet, required_missing: tuple[str, ...],
) -> tuple[str, ...]:
    """The unanswered facts whose answer could change the decision, most decisive first.

    Only unknown rules that can still move the decision count: unknown absolute ones while the
    decision is needs_information; unknown relative/precaution ones when none is already true
    (otherwise the patient stays eligible with precautions whatever the answer). A fact is
    listed only when an answer to it could still settle its rule (see undecided_facts).
    """
    if decision in (Decision.NOT_ELIGIBLE, Decision.ELIGIBLE):
        return ()
    soft_true = any(status[r.id] == _T for r in fired if r.severity is not Severity.ABSOLUTE)
    relevant = [
        r for r in fired
        if status[r.id] == _U and (
            (r.severity is Severity.ABSOLUTE and decision is Decision.NEEDS_INFORMATION)
            or (r.severity is not Severity.ABSOLUTE and not soft_true)
        )
    ]
    return _rank_facts(rs, relevant, factset, required_missing)


def _rank_facts(rs: RuleSet, rules: list[Rule], factset: FactSet,
                first: tuple[str, ...] = ()) -> tuple[str, ...]:
    catalog = rs.catalog
    env = factset.env
    score: dict[str, tuple[int, int]] = {}
    for rule in rules:
        for fact in _facts_to_ask(rs, rule, env):
            rank, count = score.get(fact, (3, 0))
            score[fact] = (min(rank, rule.severity.rank), count + 1)
    for fact in first:
        score[fact] = (-1, 0)
    return tuple(sorted(score, key=lambda f: (score[f][0], -score[f][1], catalog.order[f])))


def _facts_to_ask(rs: RuleSet, rule: Rule, env: Mapping[str, Any]) -> list[str]:
    """Undecided facts of a rule, plus the unanswered facts that decide whether they apply.

    A question whose applicability waits on an unanswered *required* fact (the hyperhidrosis
    history while the indication is unknown) is deferred: the required fact is asked first.
    """
    out: list[str] = []
    for fact in undecided_facts(rule.when, env):
        condition = rs.catalog[fact].asked_when
        gate = undecided_facts(condition, env) if condition is not None else ()
        if any(g in rs.required for g in gate):
            out.extend(g for g in gate if g in rs.required)
            continue
        out.append(fact)
        out.extend(gate)
    return out


def _choose_protocol(
    rs: RuleSet, decision: Decision, findings: list[Finding], factset: FactSet,
    status: Mapping[str, int],
) -> Assessment:
    """Walk the protocols by priority; drug- and modality-specific rules steer the choice.

    Every protocol looked at is recorded as a :class:`ProtocolStep`, so renderers (the pathway)
    show the walk without re-deriving it.
    """
    env = factset.env
    caps = [
        (name, value, f.rule.id)
        for f in findings
        for name, value in f.rule.effect.items()
    ]
    area_value = env.get("electrode_area", UNKNOWN)
    area = None
    if isinstance(area_value, float):
        from ionto_cds.units import Quantity

        area = Quantity(area_value, rs.catalog["electrode_area"].unit)
    all_findings = list(findings)
    excluded: list[str] = []
    walk: list[ProtocolStep] = []
    undecided_protocols: list[Protocol] = []

    def finish(result_decision: Decision, found: list[Finding], missing: tuple[str, ...],
               plan: Plan | None = None, referral: Protocol | None = None,
               reason: str | None = None) -> Assessment:
        walked = {step.protocol for step in walk}
        steps = walk + [ProtocolStep(p.id, Truth(rs.protocol_when[p.id](env)), "not reached")
                        for p in rs.protocols if p.id not in walked]
        return Assessment(result_decision, tuple(found), missing, plan, factset, rs,
                          referral=referral, no_plan_reason=reason,
                          plan_questions=_plan_questions(rs, undecided_protocols, env),
                          excluded=tuple(excluded), screen_decision=decision,
                          protocol_walk=tuple(steps))

    for protocol in rs.protocols:
        when = Truth(rs.protocol_when[protocol.id](env))
        if when is Truth.FALSE:
            walk.append(ProtocolStep(protocol.id, when, "does not match"))
            continue
        if when is Truth.UNKNOWN:
            walk.append(ProtocolStep(protocol.id, when, "undecided",
                                     reason="its condition waits on unanswered questions"))
            undecided_protocols.append(protocol)
            continue
        if protocol.is_referral:
            walk.append(ProtocolStep(protocol.id, when, "referral"))
            return finish(_with_steering(decision, all_findings, excluded), all_findings,
                          _soft_missing(rs, all_findings, factset), referral=protocol,
                          reason=f"No standard protocol: {protocol.summary}")
        steering = rs.steering_rules(protocol)
        s = {r.id: rs.compiled[r.id](env) for r in steering}
        blocking = [r for r in steering if r.severity is Severity.ABSOLUTE and s[r.id] == _T]
        if blocking:
            for r in blocking:
                all_findings.append(_finding(rs, r, Truth.TRUE, env, f"protocol:{protocol.id}",
                                             f"excludes {protocol.id}"))
            excluded.append(protocol.id)
            walk.append(ProtocolStep(protocol.id, when, "excluded by rule",
                                     tuple(r.id for r in blocking)))
            continue
        pending = [r for r in steering if r.severity is Severity.ABSOLUTE and s[r.id] == _U]
        soft = [r for r in steering if r.severity is not Severity.ABSOLUTE and s[r.id] != _F]
        scoped = [
            _finding(rs, r, Truth(s[r.id]), env, f"protocol:{protocol.id}",
                     "must be answered before this protocol" if r in pending
                     else f"applies to {protocol.id}")
            for r in (*pending, *soft)
        ]
        if pending:
            walk.append(ProtocolStep(protocol.id, when, "pending questions",
                                     tuple(r.id for r in pending)))
            return finish(Decision.NEEDS_INFORMATION, all_findings + scoped,
                          _rank_facts(rs, pending, factset),
                          reason=f"Answer the questions above before {protocol.title} can be "
                          "planned.")
        rule_caps = caps + [(n, v, r.id) for r in soft for n, v in r.effect.items()]
        try:
            plan = rs.plan(protocol, rule_caps, area, tuple(
                f"{r.title}: {r.action}" for r in (*[f.rule for f in findings], *soft)))
        except PlanInfeasible as exc:
            excluded.append(f"{protocol.id} ({exc})")
            walk.append(ProtocolStep(protocol.id, when, "excluded by limit", reason=str(exc)))
            continue
        walk.append(ProtocolStep(protocol.id, when, "chosen", tuple(r.id for r in soft)))
        final_findings = all_findings + scoped
        return finish(_with_steering(decision, final_findings, excluded), final_findings,
                      _soft_missing(rs, final_findings, factset), plan=plan)
    reason = "No suitable protocol for this indication and site"
    if excluded:
        reason = ("Every suitable protocol is excluded (" + "; ".join(excluded) +
                  "): consider other treatments or refer.")
    elif undecided_protocols:
        reason = "Answer the plan questions to choose a protocol."
    return finish(_with_steering(decision, all_findings, excluded), all_findings,
                  _soft_missing(rs, all_findings, factset), reason=reason)


def _with_steering(decision: Decision, findings: list[Finding], excluded: list[str]
                   ) -> Decision:
    """A drug- or modality-specific finding (a drug precaution, a protocol excluded by a rule or
    by a limit) means the patient is eligible *with precautions*: read it before treating."""
    if decision is Decision.ELIGIBLE and (
        excluded or any(f.scope != "decision" for f in findings)
    ):
        return Decision.ELIGIBLE_WITH_PRECAUTIONS
    return decision


def _soft_missing(rs: RuleSet, findings: list[Finding], factset: FactSet) -> tuple[str, ...]:
    """Once treatment is allowed, the unanswered facts that could still make the patient plainly
    eligible: those of unknown relative/precaution findings, when none is already true."""
    soft = [f for f in findings if f.rule.severity is not Severity.ABSOLUTE]
    if any(f.status is Truth.TRUE for f in soft) or any(
        f.status is Truth.TRUE and f.scope != "decision" for f in findings
    ):
        return ()
    return _rank_facts(rs, [f.rule for f in soft if f.status is Truth.UNKNOWN], factset)


def _plan_questions(rs: RuleSet, protocols: list[Protocol], env: Mapping[str, Any]
                    ) -> tuple[str, ...]:
    """Unanswered facts that could move the choice to a higher-priority protocol."""
    found: dict[str, None] = {}
    for protocol in protocols:
        for fact in undecided_facts(protocol.when, env):
            found.setdefault(fact, None)
    return tuple(found)
