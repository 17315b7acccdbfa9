"""The frame interpreter of a program: every node an int8 array of Kleene truths over the
rows of a chunk (0 false, 1 unknown, 2 true), and the lane algebra the policy runs on.

The same Kleene semantics as the one-patient interpreter (:mod:`.scalar`): ``all`` is the
minimum of its parts, ``any`` the maximum, ``not`` is ``2 - x``; a leaf on an unanswered fact
is unknown, on a question that does not apply false; an operator that reads presence is never
unknown. Leaf tests are the operator table's, registered in :mod:`.frame_operators`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.evaluation.frame_operators import FRAME_TESTS, Column
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.policy import MAX_ASKS, fact_score
from ionto_cds.evaluation.program import Derivation, Gate, NodeKind, Program
from ionto_cds.language.facts import FactCatalog, FactDef
from ionto_cds.language.model import FactType, Leaf
from ionto_cds.language.operators import OPERATORS

Int8 = npt.NDArray[np.int8]
Int16 = npt.NDArray[np.int16]
Bools = npt.NDArray[np.bool_]

_F, _U, _T = np.int8(0), np.int8(1), np.int8(2)


class FrameTruths:
    """Truths of program nodes over encoded facts, each node computed once per chunk."""

    def __init__(self, program: Program, facts: Mapping[str, Column], n: int) -> None:
        self.program = program
        self.facts = facts
        self.n = n
        self._memo: dict[int, Int8] = {}

    def truth(self, node: int) -> Int8:
        """The truth of a node on every row."""
        found = self._memo.get(node)
        if found is not None:
            return found
        n = self.program.nodes[node]
        if n.kind is NodeKind.LEAF and n.leaf is not None:
            result = self._leaf(n.leaf)
        elif n.kind is NodeKind.NOT:
            result = (2 - self.truth(n.parts[0])).astype(np.int8)
        elif n.kind is NodeKind.ALL:
            result = np.full(self.n, _T, dtype=np.int8)
            for part in n.parts:
                np.minimum(result, self.truth(part), out=result)
        else:
            result = np.full(self.n, _F, dtype=np.int8)
            for part in n.parts:
                np.maximum(result, self.truth(part), out=result)
        self._memo[node] = result
        return result

    def _leaf(self, leaf: Leaf) -> Int8:
        fact = self.facts[leaf.fact]
        if OPERATORS[leaf.op].reads_presence:
            present = fact.answered & ~fact.not_applicable
            want, other = (_T, _F) if leaf.value else (_F, _T)
            return np.where(present, want, other).astype(np.int8)
        hit = FRAME_TESTS[leaf.op](fact, leaf)
        out = np.where(fact.answered, hit.view(np.int8) * _T, _U).astype(np.int8, copy=False)
        if fact.not_applicable.any():
            out[fact.not_applicable] = _F
        return out

    def undecided(self, node: int, within: Bools, found: dict[str, Bools] | None = None
                  ) -> dict[str, Bools]:
        """Per fact, the rows of ``within`` where an answer to it could still settle the node
        (the frame form of :meth:`ScalarProgram.undecided`)."""
        found = {} if found is None else found
        mask = (self.truth(node) == _U) & within
        if not mask.any():
            return found
        n = self.program.nodes[node]
        if n.leaf is not None:
            prior = found.get(n.leaf.fact)
            found[n.leaf.fact] = mask if prior is None else prior | mask
        for part in n.parts:
            self.undecided(part, mask, found)
        return found


class FrameLanes:
    """The lane algebra over numpy arrays: one lane per row of a chunk."""

    def __init__(self, truths: FrameTruths) -> None:
        self.frame = truths
        n = truths.n
        self.none: Bools = np.zeros(n, dtype=bool)
        self.everyone: Bools = np.ones(n, dtype=bool)
        self._compared: dict[tuple[int, int], tuple[Int8, Bools]] = {}

    def truth(self, node: int) -> Int8:
        return self.frame.truth(node)

    def truths(self, nodes: Sequence[int]) -> list[Int8]:
        return [self.frame.truth(n) for n in nodes]

    def is_(self, truth: Int8, value: int) -> Bools:
        key = (id(truth), value)
        found = self._compared.get(key)
        if found is None:  # the truth is kept beside its comparison, so its id stays its own
            found = self._compared[key] = (truth, truth == value)
        return found[1]

    def is_not(self, truth: Int8, value: int) -> Bools:
        return ~self.is_(truth, value)

    def any_is(self, truths: Sequence[Int8], value: int) -> Bools:
        out = self.none.copy()
        for truth in truths:
            out |= self.is_(truth, value)
        return out

    @staticmethod
    def any_of(masks: Sequence[Bools]) -> Bools:
        out = masks[0].copy()
        for mask in masks[1:]:
            out |= mask
        return out

    @staticmethod
    def either(a: Bools, b: Bools) -> Bools:
        return a | b

    @staticmethod
    def both(a: Bools, b: Bools) -> Bools:
        return a & b

    @staticmethod
    def without(a: Bools, b: Bools) -> Bools:
        return a & ~b

    @staticmethod
    def any(rows: Bools) -> bool:
        return bool(rows.any())

    def unanswered(self, fact: str) -> Bools:
        column = self.frame.facts[fact]
        return ~column.answered & ~column.not_applicable

    def undecided(self, node: int, rows: Bools) -> dict[str, Bools]:
        return self.frame.undecided(node, rows)

    @staticmethod
    def count(rows: Bools) -> Int16:
        return rows.astype(np.int16)

    @staticmethod
    def plus(a: Int16, b: Int16) -> Int16:
        return a + b

    @staticmethod
    def select(conditions: Sequence[Bools]) -> Int8:
        return np.select(list(conditions), list(range(len(conditions))),
                         default=len(conditions) - 1).astype(np.int8)


class FrameTally:
    """Counts and best severity of each fact to ask, per row."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.counts: dict[str, Int16] = {}
        self.ranks: dict[str, Int16] = {}

    def add(self, fact: str, rows: Bools, times: Int16, severity: int) -> None:
        idx = np.flatnonzero(rows)  # a rule's rows are few: work on them, not on every row
        if not len(idx):
            return
        counted = self.counts.get(fact)
        if counted is None:
            counted = self.counts[fact] = np.zeros(self.n, dtype=np.int16)
            self.ranks[fact] = np.full(self.n, 3, dtype=np.int16)
        here = times[idx]
        counted[idx] = np.minimum(counted[idx] + here, MAX_ASKS)
        asked = idx[here > 0]
        ranked = self.ranks[fact]
        ranked[asked] = np.minimum(ranked[asked], severity)

    def first(self, fact: str, rows: Bools) -> None:
        if not rows.any():
            return
        zero = np.zeros(self.n, dtype=np.int16)
        self.counts[fact] = np.where(rows, 0, self.counts.get(fact, zero)).astype(np.int16)
        self.ranks[fact] = np.where(rows, -1, self.ranks.get(fact, zero + 3)).astype(np.int16)

    def codes(self, order: Mapping[str, int]) -> tuple[list[str], list[Int16]]:
        """Facts in catalog order, and per fact a code per row: 0 when not asked, else
        1 + its ask score (lower is asked first)."""
        names = sorted(self.counts, key=lambda f: order[f])
        out = []
        for f in names:
            code = np.zeros(self.n, dtype=np.int16)
            present = np.flatnonzero(self.ranks[f] < 3)
            code[present] = 1 + fact_score(self.ranks[f][present], self.counts[f][present])
            out.append(code)
        return names, out


# --- encoding a canonical frame ---------------------------------------------------------------

def encode_column(fact: FactDef, column: pd.Series | None, n: int) -> Column:
    """A canonical column (see :func:`evaluate_frame`) as numpy arrays."""
    none = np.zeros(n, dtype=bool)
    if column is None:
        empty: dict[FactType, Any] = {FactType.BOOL: none.copy(), FactType.ENUM: np.full(
            n, -1, dtype=np.int16), FactType.LIST: np.zeros(n, dtype=np.int64)}
        return Column(fact, none, none.copy(), empty.get(fact.type, np.full(n, np.nan)))
    answered = np.asarray(column.notna().to_numpy(), dtype=bool)
    kind = fact.type
    values: Any
    if kind is FactType.BOOL:
        values = column.to_numpy(dtype=bool, na_value=False)
    elif kind in (FactType.INT, FactType.QUANTITY):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    elif kind is FactType.ENUM:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        index = {v: i for i, v in enumerate(fact.values)}
        table = np.asarray([index.get(str(u), -1) for u in uniques] + [-1], dtype=np.int16)
        values = table[codes]
    else:
        values = _list_bits(fact, column)
    return Column(fact, answered, none.copy(), values)


def _list_bits(fact: FactDef, column: pd.Series) -> npt.NDArray[np.int64]:
    """``;``-separated list cells to one bit per allowed value (unknown rows: 0)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    bit = {v: 1 << i for i, v in enumerate(fact.values)}
    table = np.zeros(len(uniques) + 1, dtype=np.int64)
    for i, text in enumerate(uniques):
        items = text if isinstance(text, frozenset | set | list | tuple) else (
            [s for s in str(text).split(SEPARATOR) if s])
        table[i] = sum(bit[item] for item in items)
    out: npt.NDArray[np.int64] = table[codes]  # the NA sentinel -1 takes the last (zero) entry
    return out


def encode_facts(frame: pd.DataFrame, program: Program,
                 given: Mapping[str, tuple[Bools, Any]] | None = None) -> dict[str, Column]:
    """Encode a canonical frame and work out, in catalog order, which questions do not apply
    (as :func:`~ionto_cds.evaluation.answers.factset` does for one patient).

    ``given``: facts already encoded (answered rows, values) for exactly these rows.
    """
    n = len(frame)
    given = given or {}
    facts = {f.name: Column(f, given[f.name][0], np.zeros(n, dtype=bool), given[f.name][1])
             if f.name in given else
             encode_column(f, frame[f.name] if f.name in frame.columns else None, n)
             for f in program.catalog}
    for step in program.prepare:  # each on what the earlier ones left
        if isinstance(step, Gate):
            column = facts[step.fact]
            skipped = FrameTruths(program, facts, n).truth(step.node) == _F
            if step.keeps_answer:
                skipped &= ~column.answered
            column.not_applicable = column.not_applicable | skipped
        else:
            facts[step.fact] = _derived(program, facts, n, step)
    return facts


def _derived(program: Program, facts: Mapping[str, Column], n: int, step: Derivation) -> Column:
    """A derived fact's column (as :func:`~ionto_cds.evaluation.answers.derive` per row)."""
    fact = program.catalog[step.fact]
    truths = FrameTruths(program, facts, n)
    answered = np.zeros(n, dtype=bool)
    decided = np.zeros(n, dtype=bool)
    values = np.zeros(n, dtype=np.int64) if fact.type is FactType.LIST else np.full(
        n, -1, dtype=np.int16)
    for node, value in step.cases:
        truth = truths.truth(node)
        hit = ~decided & (truth == _T)
        values[hit] = _code(fact, value)
        answered |= hit
        decided |= hit | (truth == _U)
    if step.otherwise is not None:
        values[~decided] = _code(fact, step.otherwise)
        answered |= ~decided
    return Column(fact, answered, np.zeros(n, dtype=bool), values)


def _code(fact: FactDef, value: Any) -> int:
    """An enum word's code, or a list's bit mask."""
    if fact.type is FactType.LIST:
        return sum(1 << fact.values.index(v) for v in value)
    return fact.values.index(value)


def row_values(frame: pd.DataFrame, catalog: FactCatalog, i: int) -> dict[str, Any]:
    """Canonical answers of one row, as the one-patient validation would give them."""
    values: dict[str, Any] = {}
    for name in frame.columns:
        if name not in catalog:
            continue
        raw = frame[name].iloc[i]
        if raw is None or raw is pd.NA or (isinstance(raw, float) and np.isnan(raw)):
            continue
        kind = catalog[name].type
        if kind is FactType.BOOL:
            values[name] = bool(raw)
        elif kind is FactType.INT:
            values[name] = int(raw)
        elif kind is FactType.QUANTITY:
            values[name] = float(raw)
        elif kind is FactType.ENUM:
            values[name] = str(raw)
        else:
            values[name] = frozenset(
                raw if isinstance(raw, frozenset | set | list | tuple)
                else [s for s in str(raw).split(SEPARATOR) if s])
    return values
