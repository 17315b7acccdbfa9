"""The policy run for one patient: one lane, Python ints and bools, with the full record.

The lane algebra is the builtins themselves (``==``, ``|``, ``&``; "a without b" is ``a > b``
on bools), so the policy costs little more than a hand-written walk. The collector keeps what
an explanation needs: each finding with its role, each protocol step, the plan or referral.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import compress
from typing import Any, NamedTuple

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
from ionto_cds.evaluation.program import AREA_FACT, Program
from ionto_cds.evaluation.scalar import ScalarProgram
from ionto_cds.language.model import UNKNOWN, Rule, Truth
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import Quantity, unit

Caps = list[tuple[str, Any, str]]
Planner = Callable[[Protocol, Caps, Any, tuple[str, ...]], Plan]
"""Plans a protocol under caps (name, value, rule id) and an electrode area, or raises
:class:`~ionto_cds.errors.PlanInfeasible`."""


_TRUTHS = (Truth.FALSE, Truth.UNKNOWN, Truth.TRUE)
_CONDITION = {StepOutcome.NO_MATCH: Truth.FALSE, StepOutcome.UNDECIDED: Truth.UNKNOWN,
              StepOutcome.NOT_REACHED: None}
"""A protocol's condition by the outcome of its step (the rest were true)."""


class OneLane:
    """Lanes of one patient: truths are 0/1/2, masks are bools, counts are ints."""

    none = False
    everyone = True
    is_ = staticmethod(operator.eq)
    is_not = staticmethod(operator.ne)
    any_is = staticmethod(operator.contains)
    either = staticmethod(operator.or_)
    both = staticmethod(operator.and_)
    without = staticmethod(operator.gt)  # a and not b, for bools
    any = staticmethod(bool)
    any_of = staticmethod(builtins.any)
    plus = staticmethod(operator.add)
    count = staticmethod(int)

    def __init__(self, scalar: ScalarProgram, env: Mapping[str, Any]) -> None:
        self.closures = scalar.closures
        self.scalar = scalar
        self.env = env

    def truth(self, node: int) -> int:
        return self.closures[node](self.env)

    def truths(self, nodes: Sequence[int]) -> list[int]:
        closures, env = self.closures, self.env
        return [closures[n](env) for n in nodes]

    def unanswered(self, fact: str) -> bool:
        return self.env.get(fact, UNKNOWN) is UNKNOWN

    def undecided(self, node: int, rows: bool) -> dict[str, bool]:
        return self.scalar.undecided(node, self.env) if rows else {}

    def focus(self, rows: bool) -> OneFocus:
        """One lane: it is its own focus."""
        return OneFocus(self)

    @staticmethod
    def select(conditions: Sequence[bool]) -> int:
        return next(i for i, holds in enumerate(conditions) if holds)


class OneFocus:
    """The one lane, focused on (nothing to narrow)."""

    def __init__(self, lanes: OneLane) -> None:
        self.lanes = lanes

    @staticmethod
    def narrow(lanes: Any) -> Any:
        return lanes

    @staticmethod
    def tally(tally: OneTally) -> OneTally:
        return tally


class OneTally:
    """Counts and best severity of each fact to ask, for one patient."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.ranks: dict[str, int] = {}

    def add(self, fact: str, rows: bool, times: int, severity: int) -> None:
        if rows and times:
            count = self.counts.get(fact, 0) + times
            self.counts[fact] = count if count < MAX_ASKS else MAX_ASKS
            if severity < self.ranks.get(fact, 3):
                self.ranks[fact] = severity

    def first(self, fact: str, rows: bool) -> None:
        if rows:
            self.counts[fact] = 0
            self.ranks[fact] = -1

    def ordered(self, order: Mapping[str, int]) -> tuple[str, ...]:
        """The facts, most decisive first (ties in catalog order)."""
        score = {f: fact_score(self.ranks[f], self.counts[f]) for f in self.counts}
        return tuple(sorted(score, key=lambda f: (score[f], order[f])))


@dataclass(frozen=True)
class Finding:
    """A rule that is true, or could be true, for this patient, and why it is shown.

    The trace (every condition node with the answer it read) is worked out when first asked
    for, from the answers the rule was evaluated on.
    """

    rule: Rule
    status: Truth
    env: Mapping[str, Any] = field(repr=False, compare=False)
    scalar: ScalarProgram = field(repr=False, compare=False)
    protocol: str | None = None
    role: FindingRole = FindingRole.DECISION

    @property
    def scope(self) -> str:
        """'decision', or 'protocol:<id>' for a finding about one protocol."""
        return "decision" if self.protocol is None else f"protocol:{self.protocol}"

    @property
    def outcome(self) -> str:
        """What the finding does to its protocol ('' for decision findings)."""
        return self.role.outcome_text(self.protocol)

    @cached_property
    def trace(self) -> Mapping[str, Any]:
        """Each leaf: fact, operator, expected value as written, the answer seen, the result."""
        program = self.scalar.program
        return self.scalar.trace(program.rule_node[self.rule.id], self.env,
                                 lambda f, v: program.catalog[f].show(v))

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


class ProtocolStep(NamedTuple):
    """One protocol looked at while choosing the plan, and what came of it.

    ``rules`` are the steering rules that excluded it, left it pending, or apply to the chosen
    plan; ``condition`` is None for a protocol the walk never reached.
    """

    protocol: str
    condition: Truth | None
    outcome: StepOutcome
    rules: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {"protocol": self.protocol,
                "condition": self.condition.label if self.condition is not None else None,
                "outcome": self.outcome.value, "rules": list(self.rules),
                "reason": self.reason or None}


@dataclass
class Outcome:
    """Everything the policy decided for one patient."""

    screen: Decision = Decision.ELIGIBLE
    decision: Decision = Decision.ELIGIBLE
    findings: list[Finding] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    plan: Plan | None = None
    referral: Protocol | None = None
    steps: list[ProtocolStep] = field(default_factory=list)
    plan_questions: dict[str, None] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    screen_reasons: tuple[Reason, ...] = ()
    reasons: tuple[Reason, ...] = ()
    pending: Protocol | None = None
    too_small: str | None = None
    no_plan_reason: str | None = None


class OneCollector:
    """Keeps the policy's results for one patient as an :class:`Outcome`."""

    def __init__(self, lane: OneLane, planner: Planner, area: Any) -> None:
        self.lane = lane
        self.program = lane.scalar.program
        self.planner = planner
        self.area = area
        self.out = Outcome()
        self._found: list[tuple[int, int, Finding]] = []

    def tally(self) -> OneTally:
        return OneTally()

    def findings(self, rules: Sequence[Rule], truths: Sequence[int], protocol: int | None,
                 role: FindingRole, rows: bool, statuses: tuple[int, ...]) -> None:
        if not rows or not builtins.any(truths):  # every rule false: no finding
            return
        pid = self.program.protocols[protocol].id if protocol is not None else None
        found, env, scalar, rank = self._found, self.lane.env, self.lane.scalar, self.program.rank
        for rule, truth in zip(rules, truths, strict=True):
            if truth in statuses:
                status = _TRUTHS[truth]
                finding = object.__new__(Finding)  # a frozen dataclass, filled in one call
                finding.__dict__.update(rule=rule, status=status, env=env, scalar=scalar,
                                        protocol=pid, role=role)
                found.append((finding_order(rank[rule.id], truth, pid is not None),
                              len(found), finding))

    def step(self, protocol: int, outcome: StepOutcome, rows: bool,
             rules: Sequence[tuple[Rule, bool]] = ()) -> None:
        if not rows:
            return
        p = self.program.protocols[protocol]
        condition = _CONDITION.get(outcome, Truth.TRUE)
        ids = tuple(r.id for r, on in rules if on)
        self.out.steps.append(ProtocolStep(p.id, condition, outcome, ids))
        if outcome is StepOutcome.REFERRAL:
            self.out.referral = p
        elif outcome is StepOutcome.EXCLUDED_BY_RULE:
            self.out.excluded.append(p.id)
        elif outcome in (StepOutcome.PENDING, StepOutcome.OPEN_REFERRAL):
            self.out.pending = p

    def questions(self, protocol: int, facts: Mapping[str, bool]) -> None:
        for fact, on in facts.items():
            if on:
                self.out.plan_questions.setdefault(fact, None)

    def plan(self, protocol: int, rows: bool, caps: Sequence[tuple[Rule, bool]],
             precautions: Sequence[tuple[Rule, bool]]) -> tuple[bool, bool]:
        if not rows:
            return False, False
        p = self.program.protocols[protocol]
        limits = [(name, value, r.id) for r, on in caps if on for name, value in r.effect.items()]
        texts = tuple(f"{r.title}: {r.action}" for r, on in precautions if on)
        try:
            self.out.plan = self.planner(p, limits, self.area, texts)
        except PlanInfeasible as exc:
            short = exc.minimum_area is not None
            outcome = StepOutcome.ELECTRODE_TOO_SMALL if short else StepOutcome.EXCLUDED_BY_LIMIT
            if short:
                self.out.pending = p
                self.out.too_small = str(exc)
            else:
                self.out.excluded.append(f"{p.id} ({exc})")
            self.out.steps.append(ProtocolStep(p.id, Truth.TRUE, outcome, reason=str(exc)))
            return False, short
        return True, False

    def missing(self, tally: OneTally) -> None:
        self.out.missing = tally.ordered(self.program.catalog.order)

    def decision(self, screen: int, final: int, screen_held: Sequence[bool],
                 final_held: Sequence[bool]) -> None:
        self.out.screen = DECISIONS[screen]
        self.out.decision = DECISIONS[final]
        self.out.screen_reasons = tuple(compress(REASONS, screen_held))
        self.out.reasons = tuple(compress(REASONS, final_held))

    def result(self) -> Outcome:
        """The outcome, findings in reading order."""
        out = self.out
        out.findings = [f for _, _, f in sorted(self._found, key=lambda x: (x[0], x[1]))]
        if out.steps:  # the protocols after the walk ended were never looked at
            seen = {step.protocol for step in out.steps}
            out.steps += [step for step in _not_reached(self.program) if step.protocol not in seen]
        if not out.decision.allows_treatment:
            out.plan = None
        if out.decision is not Decision.REFER:
            out.referral = None
        if out.steps and out.plan is None:
            out.no_plan_reason = _no_plan_reason(out)
        return out


def _no_plan_reason(out: Outcome) -> str:
    """Why a walk that was made gave no plan, and what to do."""
    if out.decision is Decision.NOT_ELIGIBLE:
        return "An absolute contraindication applies (see the findings): no plan."
    if out.referral is not None:
        return f"Refer: {out.referral.title}. {out.referral.summary}"
    if out.too_small is not None and out.pending is not None:
        return (f"{out.pending.title}: {out.too_small}. Give the area of the larger electrode "
                "to get the plan.")
    if out.pending is not None:
        return f"Answer the questions above before {out.pending.title} can be planned."
    if out.decision is Decision.NEEDS_INFORMATION:
        return "Answer the questions above before a plan can be made."
    if out.excluded:
        return ("Every suitable protocol is excluded (" + "; ".join(out.excluded) +
                "): consider other treatments or refer.")
    if out.plan_questions:
        return "Answer the plan questions to choose a protocol."
    return "No suitable protocol for this indication and site"


@lru_cache(maxsize=64)
def _not_reached(program: Program) -> tuple[ProtocolStep, ...]:
    """A 'not reached' step for every protocol of a program (immutable, so made once)."""
    return tuple(ProtocolStep(p.id, None, StepOutcome.NOT_REACHED) for p in program.protocols)


def evaluate_patient(scalar: ScalarProgram, answers: FactSet, planner: Planner) -> Outcome:
    """The policy's outcome for one patient's validated answers."""
    lane = OneLane(scalar, answers.env)
    area_value = answers.env.get(AREA_FACT, UNKNOWN)
    area = None
    if isinstance(area_value, float):
        area = Quantity(area_value, unit(scalar.program.catalog[AREA_FACT].unit or ""))
    collector = OneCollector(lane, planner, area)
    evaluate(lane, scalar.program, collector)
    return collector.result()
