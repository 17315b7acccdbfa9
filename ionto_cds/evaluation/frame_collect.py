"""What the policy decides for a frame of patients, kept as result columns.

Findings and facts to ask become text per distinct group of rows (:mod:`.frame_text`); plans
are made once per distinct (protocol, caps that apply, electrode area) through the planner, and
their dose texts remembered across chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.errors import PlanInfeasible
from ionto_cds.evaluation.frame import FrameTally, FrameTruths
from ionto_cds.evaluation.frame_operators import Column
from ionto_cds.evaluation.frame_text import (
    SEPARATOR,
    Joiner,
    Texts,
    first_rows,
    group_codes,
    group_listed,
)
from ionto_cds.evaluation.outcomes import DECISIONS, Decision, FindingRole, StepOutcome
from ionto_cds.evaluation.policy import finding_order
from ionto_cds.evaluation.program import AREA_FACT
from ionto_cds.language.model import Rule
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import Quantity, format_quantity, unit

Bools = npt.NDArray[np.bool_]
Int8 = npt.NDArray[np.int8]
Codes = npt.NDArray[np.int64]
Coded = tuple[Codes, Any]
"""A text column as a code per row and the text of each code (a list of texts, or an Arrow
string array)."""
Caps = list[tuple[str, Any, str]]
Planner = Callable[[Protocol, Caps, Any, tuple[str, ...]], Plan]

RESULT_COLUMNS = ("decision", "findings", "missing", "protocol", "referral",
                  "current", "duration", "dose", "current_density")
"""The columns the frame evaluator adds, in order; lists are ``;``-separated ids. ``protocol``
is the planned protocol, ``referral`` the referral of a ``refer`` decision."""


PlanTexts = tuple[str, str, str, str]
KnownPlans = dict[tuple[Any, ...], "PlanTexts | str | None"]
"""Plans already made, by (protocol, caps, area): see :class:`Shared`."""
SHORT = "electrode too small"
"""What ``Shared.known`` holds for a plan that only a larger electrode would allow."""
_NO_PLAN, _SHORT = -1, -2


class Shared(Texts):
    """What chunks share: texts, and the dose texts of each plan made.

    ``known`` (the caller's, kept across calls) maps (protocol, caps, area) to the dose texts of
    its plan, :data:`SHORT` when only a larger electrode would allow one, or None when the
    limits leave no plan.
    """

    def __init__(self, known: KnownPlans | None = None) -> None:
        super().__init__()
        self.plans: dict[tuple[Any, ...], int] = {}
        self.plan_texts: list[PlanTexts] = []
        self.known: KnownPlans = known if known is not None else {}


class FrameCollector:
    """Keeps the policy's results for the rows of one chunk."""

    def __init__(self, truths: FrameTruths, facts: Mapping[str, Column], shared: Shared,
                 planner: Planner) -> None:
        self.truths = truths
        self.program = truths.program
        self.n = n = truths.n
        self.shared = shared
        self.planner = planner
        self.found: list[tuple[int, int, Bools, str]] = []  # (place, order found, rows, id)
        self.chosen = np.full(n, -1, dtype=np.int16)
        self.referred = np.full(n, -1, dtype=np.int16)
        self.plan_group = np.full(n, -1, dtype=np.int64)
        self.final: Int8 = np.zeros(n, dtype=np.int8)
        self.missing_column: Coded = (np.zeros(n, dtype=np.int64), [""])
        self.area_codes, self.area_values = self._areas(facts.get(AREA_FACT))

    def _areas(self, area: Column | None) -> tuple[npt.NDArray[np.int64], Any]:
        """A code per row for its electrode area (0 = none given), and the areas by code."""
        if area is None:
            return np.zeros(self.n, dtype=np.int64), np.asarray([])
        ok = area.answered & ~area.not_applicable
        codes, values = pd.factorize(np.where(ok, area.values, np.nan))
        return np.asarray(codes, dtype=np.int64) + 1, values

    def tally(self) -> FrameTally:
        return FrameTally(self.n)

    def findings(self, rules: Sequence[Rule], truths: Sequence[Int8], protocol: int | None,
                 role: FindingRole, rows: Bools, statuses: tuple[int, ...]) -> None:
        for rule, truth in zip(rules, truths, strict=True):
            for status in statuses:
                mask = rows & (truth == status)
                place = finding_order(self.program.rank[rule.id], status, protocol is not None)
                self.found.append((place, len(self.found), mask, rule.id))

    def step(self, protocol: int, outcome: StepOutcome, rows: Bools,
             rules: Sequence[tuple[Rule, Bools]] = ()) -> None:
        if outcome is StepOutcome.CHOSEN:
            self.chosen[rows] = protocol
        elif outcome is StepOutcome.REFERRAL:
            self.referred[rows] = protocol

    def questions(self, protocol: int, facts: Mapping[str, Bools]) -> None:
        """Plan questions are not a result column."""

    def plan(self, protocol: int, rows: Bools, caps: Sequence[tuple[Rule, Bools]],
             precautions: Sequence[tuple[Rule, Bools]]) -> tuple[Bools, Bools]:
        """Plans for the rows, one per distinct (caps that apply, electrode area); the rows
        that got one, and those whose electrode is too small."""
        idx = np.flatnonzero(rows)
        feasible = np.zeros(self.n, dtype=bool)
        short = np.zeros(self.n, dtype=bool)
        if not len(idx):
            return feasible, short
        columns = [c for _, c in caps]
        keyed = [c[idx].astype(np.int8) for c in columns] + [self.area_codes[idx]]
        codes_idx, count = group_codes(keyed, len(idx))
        firsts = idx[first_rows(codes_idx, count)]
        flags = (np.ascontiguousarray(np.stack([c[firsts] for c in columns], axis=1))
                 if columns else np.zeros((len(firsts), 0), dtype=bool))
        group_of = np.full(count, -1, dtype=np.int64)
        for g, row in enumerate(firsts.tolist()):
            a_code = int(self.area_codes[row])
            area = float(self.area_values[a_code - 1]) if a_code > 0 else None
            key = (protocol, flags[g].tobytes(), area)
            found = self.shared.plans.get(key)
            if found is None:
                limits = [(name, value, r.id) for (r, _), on in zip(caps, flags[g], strict=True)
                          if on for name, value in r.effect.items()]
                found = self.shared.plans[key] = self._plan_row(protocol, limits, area)
            group_of[g] = found
        got = group_of[codes_idx]
        ok = got >= 0
        feasible[idx[ok]] = True
        short[idx[got == _SHORT]] = True
        self.plan_group[idx[ok]] = got[ok]
        return feasible, short

    def _plan_row(self, protocol: int, caps: Caps, area: float | None) -> int:
        """The row of ``shared.plan_texts`` of one plan; -1 when the limits leave none, -2 when
        only a larger electrode would allow one."""
        key = (self.program.protocols[protocol].id, tuple((c[0], c[2]) for c in caps), area)
        if key not in self.shared.known:
            self.shared.known[key] = self._plan_texts(protocol, caps, area)
        texts = self.shared.known[key]
        if texts is None:
            return _NO_PLAN
        if isinstance(texts, str):
            return _SHORT
        self.shared.plan_texts.append(texts)
        return len(self.shared.plan_texts) - 1

    def _plan_texts(self, protocol: int, caps: Caps, area: float | None
                    ) -> PlanTexts | str | None:
        quantity = None
        if area is not None:
            quantity = Quantity(area, unit(self.program.catalog[AREA_FACT].unit or ""))
        try:
            plan = self.planner(self.program.protocols[protocol], caps, quantity, ())
        except PlanInfeasible as exc:
            return SHORT if exc.minimum_area is not None else None
        return (format_quantity(plan.current), format_quantity(plan.duration),
                format_quantity(plan.dose),
                format_quantity(plan.current_density) if plan.current_density is not None
                else "")

    def missing(self, tally: FrameTally) -> None:
        names, codes = tally.codes(self.program.catalog.order)
        if not names:
            return
        listed = np.zeros(self.n, dtype=bool)
        for code in codes:
            listed |= code > 0
        groups, _, first = group_listed(codes, self.n, np.flatnonzero(listed))
        order = [self.program.catalog.order[f] for f in names]

        def make(row: list[int]) -> str:
            ordered = sorted((c, o, f) for c, o, f in zip(row, order, names, strict=True) if c)
            return SEPARATOR.join(f for _, _, f in ordered)

        self.missing_column = groups, self.shared.texts(("rank", *names), codes, first, make)

    def decision(self, screen: Int8, final: Int8, screen_held: Sequence[Bools],
                 final_held: Sequence[Bools]) -> None:
        self.final = final

    def columns(self) -> list[Coded]:
        """The result columns (:data:`RESULT_COLUMNS`), each as codes and texts."""
        n = self.n
        joiner = Joiner(n)  # every finding, in the order they are listed
        for _, _, rows, rule in sorted(self.found, key=lambda f: f[:2]):
            joiner.add(rows, rule)
        none = [p.id for p in self.program.protocols] + [""]
        dose = [*self.shared.plan_texts, ("", "", "", "")]
        # A plan only where the decision allows treatment (as for one patient).
        allows = np.isin(self.final, [i for i, d in enumerate(DECISIONS) if d.allows_treatment])
        planned = allows & (self.plan_group >= 0)
        picked = np.where(planned, self.plan_group, len(dose) - 1)
        protocol = np.where(planned, self.chosen, len(none) - 1).astype(np.int64)
        refer = self.final == DECISIONS.index(Decision.REFER)
        referral = np.where(refer, self.referred, len(none) - 1).astype(np.int64)
        return [(self.final.astype(np.int64), [d.value for d in DECISIONS]), joiner.codes(),
                self.missing_column, (protocol, none), (referral, none),
                *((picked, [texts[k] for texts in dose]) for k in range(4))]
