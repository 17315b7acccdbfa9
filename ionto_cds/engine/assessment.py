"""The outcome of one assessment, explained: findings with traces, the walk, the plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds._version import __version__
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation.answers import FactSet
from ionto_cds.evaluation.one_patient import Finding, OneLane, Outcome, ProtocolStep
from ionto_cds.evaluation.outcomes import Decision
from ionto_cds.evaluation.policy import Reason, applies
from ionto_cds.language.model import Truth
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.plan import Plan

__all__ = ["NOTICE", "Assessment", "Finding", "ProtocolStep"]

NOTICE = ("Decision support for health-care professionals: it supports, and does not replace, "
          "clinical judgement. Review the reasons and sources before acting.")
"""Shown with every assessment, report and decision record (FDA CDS guidance, criterion 4)."""


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
    excluded: tuple[str, ...] = ()
    screen_decision: Decision | None = None
    protocol_walk: tuple[ProtocolStep, ...] = ()
    reasons: tuple[Reason, ...] = ()
    screen_reasons: tuple[Reason, ...] = ()

    @classmethod
    def of(cls, outcome: Outcome, answers: FactSet, ruleset: RuleSet) -> Assessment:
        """The assessment of the policy's outcome for one patient."""
        made = object.__new__(cls)  # frozen: filled in one call (an assessment is made often)
        made.__dict__.update(
            decision=outcome.decision,
            findings=tuple(outcome.findings),
            missing=outcome.missing,
            protocol=outcome.plan,
            factset=answers,
            ruleset=ruleset,
            referral=outcome.referral,
            no_plan_reason=outcome.no_plan_reason,
            plan_questions=tuple(outcome.plan_questions),
            excluded=tuple(outcome.excluded),
            screen_decision=outcome.screen,
            protocol_walk=tuple(outcome.steps),
            reasons=outcome.reasons,
            screen_reasons=outcome.screen_reasons,
        )
        return made

    def rule_truth(self, rule_id: str) -> Truth:
        """A rule's truth for this patient (the evaluator's, for renderers)."""
        return self.ruleset.rule_truth(rule_id, self.factset.env)

    def rule_trace(self, rule_id: str) -> Mapping[str, Any]:
        """A rule's condition trace for this patient."""
        rs = self.ruleset
        return rs.scalar.trace(rs.program.rule_node[rule_id], self.factset.env,
                               lambda f, v: rs.catalog[f].show(v))

    def protocol_trace(self, protocol: Protocol) -> Mapping[str, Any]:
        """A protocol condition's trace for this patient."""
        rs = self.ruleset
        return rs.scalar.trace(rs.program.node_of(protocol.when), self.factset.env,
                               lambda f, v: rs.catalog[f].show(v))

    def rule_caps(self, protocol_id: str) -> list[tuple[str, Any, str]]:
        """(limit name, value, rule id) for every cap this patient's rules put on a plan of
        one protocol: the caps a plan of that protocol is given (an unknown cap applies)."""
        rs = self.ruleset
        k = rs.program.protocol_index(protocol_id)
        lane = OneLane(rs.scalar, self.factset.env)
        rules = rs.program.caps[k] if k is not None else tuple(
            r for r in rs.general if r.effect)
        return [(name, value, r.id) for r in rules
                if applies(lane, lane.truth(rs.program.rule_node[r.id]))
                for name, value in r.effect.items()]

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
            "worked_out": [
                {"fact": f.name, "label": f.label, "value": f.show(self.factset.get(f.name))}
                for f in catalog if f.is_derived
                and catalog[f.name].show(self.factset.get(f.name)) not in (None, "not applicable")
            ],
            "not_applicable": list(self.factset.not_applicable),
            "ruleset": {"version": self.ruleset.version, "sha256": self.ruleset.sha256},
            "ionto_cds_version": __version__,
            "notice": NOTICE,
        }
