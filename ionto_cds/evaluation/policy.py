"""The decision policy, written once: the decision table, the protocol walk, steering and the
ranking of the facts to ask. Every evaluator runs this code over its own lanes.

1. **Screen.** The general rules (those about iontophoresis as such) are evaluated; the
   decision table gives the screen decision. Findings are the rules that are true or unknown.
2. **Protocol walk.** After a screen that allows treatment, the protocols are tried by
   priority, on every lane without a true absolute. A treatment protocol whose condition is
   unknown is skipped for now (its facts become plan questions); a referral whose condition is
   unknown stops the walk until answered; a referral reached ends it (``refer``). A drug- or
   modality-specific absolute rule that is true excludes the protocol; the protocol is pending
   (its questions first) while such a rule, a rule capping its plan, or a fact it requires is
   unknown; otherwise it is planned under the caps of the rules that are true. An electrode too
   small for its minimum current asks for a larger one; other limits that leave no safe
   current exclude it.
3. **Decision.** The same table, now also reading the walk: a referral reached refers (said
   at once: no screening question is asked or listed for it); a pending protocol needs
   information; an exclusion or a steering finding means precautions.
4. **Facts to ask.** For the rules that can still move the decision, the unanswered facts
   that could settle them (and the questions their applicability waits on), most decisive
   first: :func:`fact_score`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from ionto_cds.evaluation.lanes import C, Collector, D, Lanes, M, T, Tally, Y
from ionto_cds.evaluation.outcomes import Basis, Decision, FindingRole, StepOutcome
from ionto_cds.evaluation.program import AREA_FACT, Derivation, Program
from ionto_cds.language.model import Rule, Truth

_F, _U, _T = int(Truth.FALSE), int(Truth.UNKNOWN), int(Truth.TRUE)

FINDING_STATUSES = (_T, _U)
"""A rule is a finding where it is true or unknown: an unknown is never silently 'no'."""


@dataclass(frozen=True)
class Reason:
    """One reason a row of the decision table holds: a group of lanes, and its edge label."""

    basis: Basis
    edge: str
    group: str  # one of GROUPS


@dataclass(frozen=True)
class DecisionRow:
    """A decision and the reasons that give it (the first row that holds decides)."""

    decision: Decision
    reasons: tuple[Reason, ...]


DECISION_TABLE: tuple[DecisionRow, ...] = (
    DecisionRow(Decision.NOT_ELIGIBLE, (
        Reason(Basis.ABSOLUTE, "any true", "absolute_true"),)),
    DecisionRow(Decision.REFER, (
        Reason(Basis.WALK, "referral reached", "referred"),)),
    DecisionRow(Decision.NEEDS_INFORMATION, (
        Reason(Basis.REQUIRED, "unanswered", "required_missing"),
        Reason(Basis.ABSOLUTE, "any unknown", "absolute_unknown"),
        Reason(Basis.WALK, "plan question open", "pending"))),
    DecisionRow(Decision.ELIGIBLE_WITH_PRECAUTIONS, (
        Reason(Basis.SOFT, "any true or unknown", "soft"),
        Reason(Basis.WALK, "drug finding or exclusion", "steered"))),
    DecisionRow(Decision.ELIGIBLE, (
        Reason(Basis.NOTHING, "nothing applies", "everyone"),)),
)
"""Decision semantics (DESIGN section 4), in order: the first row that holds decides."""

REASONS: tuple[Reason, ...] = tuple(r for row in DECISION_TABLE for r in row.reasons)
"""Every reason of the table, in order (collectors receive which ones held)."""

_ROWS = tuple(tuple(REASONS.index(r) for r in row.reasons) for row in DECISION_TABLE)
_REASON_GROUPS = tuple(reason.group for reason in REASONS)

WALK_AFTER = frozenset({Decision.NEEDS_INFORMATION, Decision.ELIGIBLE_WITH_PRECAUTIONS,
                        Decision.ELIGIBLE})
"""The screen decisions after which protocols are tried: all but a true absolute. The walk
runs while screening questions are still open so that a referral is said at once; a plan it
makes there is not given (the decision stays needs_information)."""

MAX_ASKS = 63
"""The most times a fact is counted as asked (the ranking's count saturates here)."""


def finding_order(rank: int, status: int, scoped: bool) -> int:
    """Where a finding is listed (``rank`` its rule's severity rank): most serious first, true
    before unknown, the decision's findings before a protocol's; equal places keep the order
    they were found in."""
    return rank * 4 + (0 if status == _T else 2) + scoped


def fact_score(rank: Any, count: Any) -> Any:
    """Ask order of a fact (lower first): the most serious rule that asks for it (rank -1 for
    a required answer), then how many rules ask for it (tallies stop counting at
    :data:`MAX_ASKS`); ties go to catalog order. Works lane-wise on arrays too."""
    return (rank + 1) * (MAX_ASKS + 1) + (MAX_ASKS - count)


GROUPS = ("absolute_true", "absolute_unknown", "required_missing", "soft_true", "soft",
          "everyone", "referred", "pending", "steered")
"""The groups of lanes the reasons of the decision table read."""


def applies(lanes: Lanes[T, M, C, D], truth: T) -> M:
    """Lanes where a rule is not false: its effect caps the plan (a plan is made only where
    every cap rule is decided, so this is where it is true; the course log, checking a
    session, keeps an unknown cap: the safer side)."""
    return lanes.is_not(truth, _F)


def _table(lanes: Lanes[T, M, C, D], groups: Mapping[str, M]
           ) -> tuple[D, list[M], list[M]]:
    """Decision codes, the lanes of each reason, and the lanes that hold each row."""
    held = [groups[group] for group in _REASON_GROUPS]
    holds = [lanes.any_of([held[i] for i in row]) for row in _ROWS]
    return lanes.select(holds), held, holds


def _decided(lanes: Lanes[T, M, C, D], holds: Sequence[M]) -> dict[Decision, M]:
    """The lanes each row of the table decides (it holds, and no earlier row does)."""
    decided: dict[Decision, M] = {}
    taken = lanes.none
    for row, mask in zip(DECISION_TABLE, holds, strict=True):
        decided[row.decision] = lanes.without(mask, taken)
        taken = lanes.either(taken, mask)
    return decided


class _Asks(Generic[T, M, C, D]):
    """Per rule, how often each fact is asked per lane (memoised for one evaluation)."""

    def __init__(self, lanes: Lanes[T, M, C, D], program: Program) -> None:
        self.lanes = lanes
        self.program = program
        self.gates = program.gates
        self.required = program.required
        self.memo: dict[int, dict[str, C]] = {}
        self.derived = {d.fact: tuple(node for node, _value in d.cases)
                        for d in program.prepare if isinstance(d, Derivation)}
        self.gate_memo: dict[str, Mapping[str, M]] = {}

    def gate(self, fact: str) -> Mapping[str, M]:
        """Per fact, the lanes where an answer to it could still settle whether ``fact`` is
        asked (empty for a question that is always asked)."""
        found = self.gate_memo.get(fact)
        if found is None:
            node = self.gates.get(fact)
            found = self.gate_memo[fact] = (
                self.lanes.undecided(node, self.lanes.everyone) if node is not None else {})
        return found

    def of(self, node: int) -> Mapping[str, C]:
        found = self.memo.get(node)
        if found is None:
            found = self.memo[node] = self._asks(node)
        return found

    def _asks(self, node: int) -> dict[str, C]:
        """The undecided facts of a rule, plus the unanswered facts that decide whether they
        apply. A question whose applicability waits on an unanswered *required* fact (the
        hyperhidrosis history while the indication is unknown) is deferred: the required
        fact is asked instead."""
        lanes = self.lanes
        out: dict[str, C] = {}

        def add(fact: str, rows: M) -> None:
            if lanes.any(rows):
                count = lanes.count(rows)
                prior = out.get(fact)
                out[fact] = count if prior is None else lanes.plus(prior, count)

        undecided = list(lanes.undecided(node, lanes.everyone).items())
        while undecided:
            fact, rows = undecided.pop(0)
            if fact in self.derived:
                for case in self.derived[fact]:
                    undecided += [(f, r) for f, r in lanes.undecided(case, rows).items()
                                  if lanes.any(r)]
                continue
            gate = self.gate(fact) if fact in self.gates else None
            if not gate:  # always asked: counted where undecided (never empty lanes)
                count = lanes.count(rows)
                out[fact] = lanes.plus(out[fact], count) if fact in out else count
                continue
            gated = lanes.none
            for g, g_rows in gate.items():
                if g in self.required:
                    gated = lanes.either(gated, lanes.both(rows, g_rows))
            add(fact, lanes.without(rows, gated))
            for g, g_rows in gate.items():
                if g in self.required:
                    add(g, lanes.both(rows, lanes.both(g_rows, gated)))
                else:
                    add(g, lanes.both(rows, lanes.without(g_rows, gated)))
        return out


Ask = tuple[int, int, Any]
"""What may ask for facts: (condition node, severity rank, lanes)."""


def _ask(tally: Tally[M, C], asks: _Asks[T, M, C, D], items: Sequence[Ask]) -> None:
    lanes = asks.lanes
    for node, rank, rows in items:
        if lanes.any(rows):
            for fact, times in asks.of(node).items():
                tally.add(fact, rows, times, rank)


def _rule_asks(program: Program, rule_rows: Sequence[tuple[Rule, M]]) -> list[Ask]:
    return [(program.rule_node[r.id], program.rank[r.id], rows) for r, rows in rule_rows]


@dataclass
class _Walk(Generic[M]):
    """What the protocol walk leaves for the decision and the facts to ask."""

    walked: M
    excluded: M
    blocked: M
    steered_findings: M
    scoped_soft_true: M
    pending: M
    referred: M
    pending_rules: list[tuple[Rule, M]]
    soft_unknown: list[tuple[Rule, M]]
    asked_first: list[tuple[str, M]]
    """Facts a plan cannot be made without (``requires``, an electrode too small), by lanes."""
    open_referrals: list[Ask]
    """Referrals whose condition is still unknown: their questions come before any plan."""
    general_soft: list[tuple[Rule, M]]
    """The general relative and precaution rules that apply (their actions go on plans)."""

    @classmethod
    def empty(cls, none: M) -> _Walk[M]:
        return cls(none, none, none, none, none, none, none, [], [], [], [], [])

    def narrowed(self, narrow: Callable[[M], M]) -> _Walk[M]:
        """The walk's lanes narrowed (see :meth:`Lanes.focus`)."""
        n = narrow
        return _Walk(
            walked=n(self.walked), excluded=n(self.excluded), blocked=n(self.blocked),
            steered_findings=n(self.steered_findings),
            scoped_soft_true=n(self.scoped_soft_true), pending=n(self.pending),
            referred=n(self.referred),
            pending_rules=[(r, n(m)) for r, m in self.pending_rules],
            soft_unknown=[(r, n(m)) for r, m in self.soft_unknown],
            asked_first=[(f, n(m)) for f, m in self.asked_first],
            open_referrals=[(node, rank, n(m)) for node, rank, m in self.open_referrals],
            general_soft=[(r, n(m)) for r, m in self.general_soft])


REFERRAL_RANK = 0
"""A referral whose condition is unknown asks its questions like an absolute rule does."""


def _walk(lanes: Lanes[T, M, C, D], program: Program, out: Collector[M, D, Y], walk: M,
          general_soft: list[tuple[Rule, M]]) -> _Walk[M]:
    state: _Walk[M] = _Walk.empty(lanes.none)
    state.walked, state.general_soft = walk, general_soft
    live = walk
    for k, protocol in enumerate(program.protocols):
        if not lanes.any(live):
            break  # the protocols after it are not reached (collectors record that)
        node = program.protocol_node[k]
        when = lanes.truth(node)
        here = lanes.both(live, lanes.is_(when, _T))
        passed = lanes.without(live, here)
        if lanes.any(passed):  # its condition is false (no match) or unknown
            no_match = lanes.both(passed, lanes.is_(when, _F))
            if lanes.any(no_match):
                out.step(k, StepOutcome.NO_MATCH, no_match)
            undecided = lanes.both(passed, lanes.is_(when, _U))
            if lanes.any(undecided) and protocol.is_referral:
                # A referral that may apply: no plan past it until its questions are answered.
                out.step(k, StepOutcome.OPEN_REFERRAL, undecided)
                state.open_referrals.append((node, REFERRAL_RANK, undecided))
                state.pending = lanes.either(state.pending, undecided)
                live = lanes.without(live, undecided)
            elif lanes.any(undecided):  # skipped for now: its facts are plan questions
                out.step(k, StepOutcome.UNDECIDED, undecided)
                out.questions(k, lanes.undecided(node, undecided))
        if not lanes.any(here):
            continue
        if protocol.is_referral:
            out.step(k, StepOutcome.REFERRAL, here)
            state.referred = lanes.either(state.referred, here)
            live = lanes.without(live, here)
            continue
        taken = _try_protocol(lanes, program, out, k, here, state)
        live = lanes.without(live, taken)
    return state


def _try_protocol(lanes: Lanes[T, M, C, D], program: Program, out: Collector[M, D, Y], k: int,
                  here: M, state: _Walk[M]) -> M:
    """One protocol whose condition is true on ``here``: the lanes that take it."""
    steering = program.steering[k]
    absolute = lanes.truths(steering.absolute_nodes)
    blocking = lanes.any_is(absolute, _T)
    blocked = lanes.both(here, blocking)
    if lanes.any(blocked):
        out.findings(steering.absolute, absolute, k, FindingRole.EXCLUDES, blocked, (_T,))
        out.step(k, StepOutcome.EXCLUDED_BY_RULE, blocked,
                 [(r, lanes.both(blocked, lanes.is_(t, _T)))
                  for r, t in zip(steering.absolute, absolute, strict=True)])
        state.blocked = lanes.either(state.blocked, blocked)
        state.excluded = lanes.either(state.excluded, blocked)
    rest = lanes.without(here, blocking)
    # The plan waits for what it depends on: an open absolute drug question, a fact it
    # requires, and a rule whose cap on it is still unknown.
    unanswered = [(f, lanes.both(rest, lanes.unanswered(f)))
                  for f in program.protocols[k].requires]
    cap_truths = lanes.truths(program.cap_nodes[k])
    pending = lanes.both(rest, lanes.any_of([lanes.any_is(absolute, _U),
                                             lanes.any_is(cap_truths, _U),
                                             *(rows for _, rows in unanswered)]))
    if lanes.any(pending):
        out.findings(steering.absolute, absolute, k, FindingRole.MUST_ANSWER, pending, (_U,))
        waiting = [(r, lanes.both(pending, lanes.is_(t, _U)))
                   for r, t in zip((*steering.absolute, *program.caps[k]),
                                   (*absolute, *cap_truths), strict=True)]
        out.step(k, StepOutcome.PENDING, pending, waiting)
        state.pending_rules += waiting
        state.asked_first += unanswered
        state.pending = lanes.either(state.pending, pending)
    planned = lanes.without(rest, pending)
    soft = lanes.truths(steering.soft_nodes)
    feasible = lanes.none
    if lanes.any(planned):
        caps = [(r, lanes.is_not(t, _F)) for r, t in  # see applies(): here none is unknown
                zip(program.caps[k], cap_truths, strict=True)]
        soft_applying = [(r, lanes.is_not(t, _F)) for r, t in zip(steering.soft, soft,
                                                                   strict=True)]
        feasible, short = out.plan(k, planned, caps, [*state.general_soft, *soft_applying])
        if lanes.any(short):  # the remedy is a larger electrode: ask for its area
            state.asked_first.append((AREA_FACT, short))
            state.pending = lanes.either(state.pending, short)
            pending = lanes.either(pending, short)
        state.excluded = lanes.either(state.excluded,
                                      lanes.without(lanes.without(planned, feasible), short))
    taken = lanes.either(pending, feasible)
    if steering.soft and lanes.any(taken):
        out.findings(steering.soft, soft, k, FindingRole.APPLIES, taken, FINDING_STATUSES)
        soft_true = lanes.both(taken, lanes.any_is(soft, _T))
        state.scoped_soft_true = lanes.either(state.scoped_soft_true, soft_true)
        state.steered_findings = lanes.either(
            state.steered_findings, lanes.either(soft_true,
                                                 lanes.both(taken, lanes.any_is(soft, _U))))
        state.soft_unknown += [(r, lanes.both(taken, lanes.is_(t, _U)))
                               for r, t in zip(steering.soft, soft, strict=True)]
    if lanes.any(feasible):
        out.step(k, StepOutcome.CHOSEN, feasible,
                 [(r, lanes.both(feasible, lanes.is_not(t, _F)))
                  for r, t in zip(steering.soft, soft, strict=True)])
    return taken


def evaluate(lanes: Lanes[T, M, C, D], program: Program, out: Collector[M, D, Y]) -> None:
    """Run the whole policy on every lane; the collector keeps the results."""
    absolute = lanes.truths(program.general_absolute_nodes)
    soft = lanes.truths(program.general_soft_nodes)
    required = lanes.none
    for fact in program.required:
        required = lanes.either(required, lanes.unanswered(fact))
    soft_true = lanes.any_is(soft, _T)
    groups = {
        "absolute_true": lanes.any_is(absolute, _T),
        "absolute_unknown": lanes.any_is(absolute, _U),
        "required_missing": required,
        "soft_true": soft_true,
        "soft": lanes.either(soft_true, lanes.any_is(soft, _U)),
        "everyone": lanes.everyone,
        "referred": lanes.none,
        "pending": lanes.none,
        "steered": lanes.none,
    }
    out.findings(program.general_absolute, absolute, None, FindingRole.DECISION,
                 lanes.everyone, (_T,))
    out.findings(program.general_soft, soft, None, FindingRole.DECISION, lanes.everyone, (_T,))
    screen, screen_held, holds = _table(lanes, groups)
    by_decision = _decided(lanes, holds)
    walk = lanes.none
    if program.protocols:
        for decision in WALK_AFTER:
            walk = lanes.either(walk, by_decision[decision])
    state: _Walk[M] = _Walk.empty(lanes.none)
    if lanes.any(walk):
        general_soft = [(r, lanes.is_not(t, _F))  # see applies()
                        for r, t in zip(program.general_soft, soft, strict=True)]
        state = _walk(lanes, program, out, walk, general_soft)
    final, held, decided = screen, screen_held, by_decision
    if lanes.any(state.walked):
        groups["referred"] = state.referred
        groups["pending"] = state.pending
        groups["steered"] = lanes.both(state.walked,
                                       lanes.either(state.excluded, state.steered_findings))
        final, held, final_holds = _table(lanes, groups)
        decided = _decided(lanes, final_holds)
    # A referral is said at once: no screening question is listed or asked to reach it.
    talk = lanes.without(lanes.everyone, decided[Decision.REFER])
    out.findings(program.general_absolute, absolute, None, FindingRole.DECISION, talk, (_U,))
    out.findings(program.general_soft, soft, None, FindingRole.DECISION, talk, (_U,))
    out.decision(screen, final, screen_held, held)
    _missing(lanes, program, out, groups, by_decision, state, absolute, soft, talk)


def _missing(lanes: Lanes[T, M, C, D], program: Program, out: Collector[M, D, Y],
             groups: Mapping[str, M], by_decision: Mapping[Decision, M], state: _Walk[M],
             absolute: Sequence[Any], soft: Sequence[Any], talk: M) -> None:
    """The facts to ask for the rules that can still move each lane's decision (on the lanes
    of ``talk``: none is asked to reach a referral).

    Only lanes that need information, are eligible with precautions before the walk, or
    walked the protocols can have a question (every question below is asked on some of those
    lanes); the work is done on those lanes alone."""
    tally = out.tally()
    asking = lanes.both(talk, lanes.either(lanes.either(
        by_decision[Decision.NEEDS_INFORMATION],
        by_decision[Decision.ELIGIBLE_WITH_PRECAUTIONS]), state.walked))
    if lanes.any(asking):
        focus = lanes.focus(asking)
        n = focus.narrow
        _ask_missing(focus.lanes, program, focus.tally(tally),
                     {k: n(v) for k, v in groups.items()},
                     {k: n(v) for k, v in by_decision.items()}, state.narrowed(n),
                     [n(t) for t in absolute], [n(t) for t in soft], n(talk))
    out.missing(tally)


def _ask_missing(lanes: Lanes[T, M, C, D], program: Program, tally: Tally[M, C],
                 groups: Mapping[str, M], by_decision: Mapping[Decision, M], state: _Walk[M],
                 absolute: Sequence[Any], soft: Sequence[Any], talk: M) -> None:
    """:func:`_missing`'s questions, tallied."""
    needs = lanes.both(by_decision[Decision.NEEDS_INFORMATION], talk)
    walked = lanes.both(state.walked, talk)
    asks: _Asks[T, M, C, D] = _Asks(lanes, program)
    # Before any walk: unknown absolutes while information is needed; unknown soft rules when
    # none is true (else the lane stays with precautions whatever the answer).
    if lanes.any(lanes.both(needs, groups["absolute_unknown"])):
        _ask(tally, asks, _rule_asks(program, [
            (r, lanes.both(needs, lanes.is_(t, _U)))
            for r, t in zip(program.general_absolute, absolute, strict=True)]))
    # (The walk also runs while screening questions are open, to refer at once; those lanes keep
    # the screen's questions.)
    after_screen = lanes.without(walked, needs)
    open_soft = lanes.without(
        lanes.either(needs, lanes.both(by_decision[Decision.ELIGIBLE_WITH_PRECAUTIONS], talk)),
        lanes.either(groups["soft_true"], after_screen))
    # After the walk: a pending protocol's questions; else the unknown soft rules, general and
    # the chosen protocol's, unless a soft or steering finding is already true.
    settled = lanes.either(groups["soft_true"], lanes.either(state.blocked, state.scoped_soft_true))
    walked_open = lanes.without(lanes.without(after_screen, state.pending), settled)
    soft_open = lanes.both(lanes.either(open_soft, walked_open), lanes.any_is(soft, _U))
    if lanes.any(soft_open):
        _ask(tally, asks, _rule_asks(program, [
            (r, lanes.both(soft_open, lanes.is_(t, _U)))
            for r, t in zip(program.general_soft, soft, strict=True)]))
    if state.soft_unknown:
        _ask(tally, asks, _rule_asks(program, [
            (r, lanes.both(lanes.without(rows, lanes.either(state.pending, settled)), talk))
            for r, rows in state.soft_unknown]))
    if state.pending_rules:
        _ask(tally, asks, _rule_asks(program, [(r, lanes.both(rows, talk))
                                               for r, rows in state.pending_rules]))
    if state.open_referrals:
        _ask(tally, asks, [(node, rank, lanes.both(rows, talk))
                           for node, rank, rows in state.open_referrals])
    for fact, rows in state.asked_first:
        tally.first(fact, lanes.both(rows, talk))
    if lanes.any(lanes.both(needs, groups["required_missing"])):
        for fact in program.required:
            tally.first(fact, lanes.both(needs, lanes.unanswered(fact)))
