"""The policy run for one patient: one lane, Python ints and bools, with the full record.

The lane algebra is the builtins themselves (``==``, ``|``, ``&``; "a without b" is ``a > b``
on bools), so the policy costs little more than a hand-written walk. The collector keeps what
an explanation needs: each finding with its role, each protocol step, the plan or referral.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.errors import PlanInfeasible
from ionto_cds.evaluation.answers import FactSet
from ionto_cds.evaluation.outcomes import DECISIONS, Decision, FindingRole, StepOutcome
from ionto_cds.evaluation.policy import (
    MAX_ASKS,
    REASONS,
    Reason,
    evaluate,
    fact_score,
    finding_order,
)
from ionto_cds.evaluation.scalar import ScalarProgram
from ionto_cds.language.model import UNKNOWN, Rule, Truth
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import Quantity, unit

Caps = list[tuple[str, Any, str]]
Planner = Callable[[Protocol, Caps, Any, tuple[str, ...]], Plan]
"""Plans a protocol under caps (name, value, rule id) and an electrode area, or raises
:class:`~ionto_cds.errors.PlanInfeasible`."""


class OneLane:
    """Lanes of one patient: truths are 0/1/2, masks are bools, counts are ints."""

    none = False
    everyone = True
    is_ = staticmethod(operator.eq)
    any_is = staticmethod(operator.contains)
    either = staticmethod(operator.or_)
    both = staticmethod(operator.and_)
    without = staticmethod(operator.gt)  # a and not b, for bools
    any = staticmethod(bool)
    plus = staticmethod(operator.add)
    count = staticmethod(int)

    def __init__(self, scalar: ScalarProgram, env: Mapping[str, Any]) -> None:
        self.closures = scalar.closures
        self.scalar = scalar
        self.env = env

    def truth(self, node: int) -> int:
        return self.closures[node](self.env)

    def unanswered(self, fact: str) -> bool:
        return self.env.get(fact, UNKNOWN) is UNKNOWN

    def undecided(self, node: int, rows: bool) -> dict[str, bool]:
        if not rows:
            return {}
        return dict.fromkeys(self.scalar.undecided(node, self.env), True)

    @staticmethod
    def select(conditions: Sequence[bool]) -> int:
        return next(i for i, holds in enumerate(conditions) if holds)


class OneTally:
    """Counts and best severity of each fact to ask, for one patient."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.ranks: dict[str, int] = {}

    def add(self, fact: str, rows: bool, times: int, severity: int) -> None:
        if rows and times:
            self.counts[fact] = min(self.counts.get(fact, 0) + times, MAX_ASKS)
            self.ranks[fact] = min(self.ranks.get(fact, 3), severity)

    def first(self, fact: str, rows: bool) -> None:
        if rows:
            self.counts[fact] = 0
            self.ranks[fact] = -1

    def ordered(self, order: Mapping[str, int]) -> tuple[str, ...]:
        """The facts, most decisive first (ties in catalog order)."""
        score = {f: fact_score(self.ranks[f], self.counts[f]) for f in self.counts}
        return tuple(sorted(score, key=lambda f: (score[f], order[f])))


@dataclass(frozen=True)
class FoundRule:
    """A rule that is true or unknown for the patient, and why it is shown."""

    rule: Rule
    status: Truth
    protocol: str | None
    role: FindingRole


@dataclass(frozen=True)
class Step:
    """One protocol looked at while choosing the plan, and what came of it."""

    protocol: str
    condition: Truth | None
    outcome: StepOutcome
    rules: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class Outcome:
    """Everything the policy decided for one patient."""

    screen: Decision = Decision.ELIGIBLE
    decision: Decision = Decision.ELIGIBLE
    findings: list[FoundRule] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    plan: Plan | None = None
    referral: Protocol | None = None
    steps: list[Step] = field(default_factory=list)
    plan_questions: dict[str, None] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    screen_reasons: tuple[Reason, ...] = ()
    reasons: tuple[Reason, ...] = ()
    pending: Protocol | None = None
    no_plan_reason: str | None = None


class OneCollector:
    """Keeps the policy's results for one patient as an :class:`Outcome`."""

    def __init__(self, lane: OneLane, planner: Planner, area: Any) -> None:
        self.lane = lane
        self.program = lane.scalar.program
        self.planner = planner
        self.area = area
        self.out = Outcome()
        self._found: list[tuple[int, int, FoundRule]] = []

    def tally(self) -> OneTally:
        return OneTally()

    def findings(self, rules: Sequence[Rule], truths: Sequence[object], protocol: int | None,
                 role: FindingRole, rows: bool, statuses: tuple[int, ...]) -> None:
        if not rows:
            return
        pid = self.program.protocols[protocol].id if protocol is not None else None
        found = self._found
        for rule, truth in zip(rules, truths, strict=True):
            if truth in statuses:
                status = Truth(truth)
                found.append((finding_order(rule.severity, int(status), pid is not None),
                              len(found), FoundRule(rule, status, pid, role)))

    def step(self, protocol: int, outcome: StepOutcome, rows: bool,
             rules: Sequence[tuple[Rule, bool]] = ()) -> None:
        if not rows:
            return
        p = self.program.protocols[protocol]
        condition = None if outcome is StepOutcome.NOT_REACHED else Truth(
            self.lane.truth(self.program.protocol_node[protocol]))
        ids = tuple(r.id for r, on in rules if on)
        self.out.steps.append(Step(p.id, condition, outcome, ids))
        if outcome is StepOutcome.REFERRAL:
            self.out.referral = p
        elif outcome is StepOutcome.EXCLUDED_BY_RULE:
            self.out.excluded.append(p.id)
        elif outcome is StepOutcome.PENDING:
            self.out.pending = p

    def questions(self, protocol: int, facts: Mapping[str, bool]) -> None:
        for fact, on in facts.items():
            if on:
                self.out.plan_questions.setdefault(fact, None)

    def plan(self, protocol: int, rows: bool, caps: Sequence[tuple[Rule, bool]],
             precautions: Sequence[tuple[Rule, bool]]) -> bool:
        if not rows:
            return False
        p = self.program.protocols[protocol]
        limits = [(name, value, r.id) for r, on in caps if on for name, value in r.effect.items()]
        general = [f.rule for _, _, f in self._found if f.role is FindingRole.DECISION]
        texts = tuple(f"{r.title}: {r.action}"
                      for r in (*general, *(r for r, on in precautions if on)))
        try:
            self.out.plan = self.planner(p, limits, self.area, texts)
        except PlanInfeasible as exc:
            self.out.excluded.append(f"{p.id} ({exc})")
            self.out.steps.append(Step(p.id, Truth.TRUE, StepOutcome.EXCLUDED_BY_LIMIT,
                                       reason=str(exc)))
            return False
        return True

    def missing(self, tally: OneTally) -> None:
        self.out.missing = tally.ordered(self.program.catalog.order)

    def decision(self, screen: int, final: int, screen_held: Sequence[bool],
                 final_held: Sequence[bool]) -> None:
        self.out.screen = DECISIONS[screen]
        self.out.decision = DECISIONS[final]
        self.out.screen_reasons = tuple(r for r, on in zip(REASONS, screen_held, strict=True)
                                        if on)
        self.out.reasons = tuple(r for r, on in zip(REASONS, final_held, strict=True) if on)

    def result(self) -> Outcome:
        """The outcome, findings in reading order."""
        out = self.out
        out.findings = [f for _, _, f in sorted(self._found, key=lambda x: (x[0], x[1]))]
        if not out.decision.allows_treatment:
            out.plan = None
        if out.steps and out.plan is None:
            out.no_plan_reason = _no_plan_reason(out)
        return out


def _no_plan_reason(out: Outcome) -> str:
    """Why a walk that was made gave no plan, and what to do."""
    if out.referral is not None:
        return f"No standard protocol: {out.referral.summary}"
    if out.pending is not None:
        return f"Answer the questions above before {out.pending.title} can be planned."
    if out.excluded:
        return ("Every suitable protocol is excluded (" + "; ".join(out.excluded) +
                "): consider other treatments or refer.")
    if out.plan_questions:
        return "Answer the plan questions to choose a protocol."
    return "No suitable protocol for this indication and site"


def evaluate_patient(scalar: ScalarProgram, answers: FactSet, planner: Planner) -> Outcome:
    """The policy's outcome for one patient's validated answers."""
    lane = OneLane(scalar, answers.env)
    area_value = answers.env.get("electrode_area", UNKNOWN)
    area = None
    if isinstance(area_value, float):
        area = Quantity(area_value, unit(scalar.program.catalog["electrode_area"].unit or ""))
    collector = OneCollector(lane, planner, area)
    evaluate(lane, scalar.program, collector)
    return collector.result()
