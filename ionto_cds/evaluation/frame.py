"""The frame interpreter of a program: every node an int8 array of Kleene truths over the
rows of a chunk (0 false, 1 unknown, 2 true), and the lane algebra the policy runs on.

The same Kleene semantics as the one-patient interpreter (:mod:`.scalar`): ``all`` is the
minimum of its parts, ``any`` the maximum, ``not`` is ``2 - x``; a leaf on an unanswered fact
is unknown, on a question that does not apply false; an operator that reads presence is never
unknown. Leaf tests are the operator table's, registered in :mod:`.frame_operators`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
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
Uint8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]

_F, _U, _T = np.int8(0), np.int8(1), np.int8(2)


def leaf_truth(fact: Column, leaf: Leaf) -> Int8:
    """A leaf's truth on every row of an encoded fact: the operator's frame test where the
    fact is answered, unknown where it is not, false where the question does not apply."""
    if OPERATORS[leaf.op].reads_presence:
        present = fact.answered & ~fact.not_applicable
        want, other = (_T, _F) if leaf.value else (_F, _T)
        return np.where(present, want, other).astype(np.int8)
    hit = FRAME_TESTS[leaf.op](fact, leaf)
    out = np.where(fact.answered, hit.view(np.int8) * _T, _U).astype(np.int8, copy=False)
    if fact.not_applicable.any():
        out[fact.not_applicable] = _F
    return out


_STATED = (FactType.BOOL, FactType.ENUM)
"""Fact types whose rows take few states: unanswered, not applicable, or one per value."""


def _states(definition: FactDef) -> Column:
    """One row per state of a yes/no or enum fact: unanswered, each answer (an enum's code -1
    too: an answer outside its values), not applicable."""
    if definition.type is FactType.BOOL:
        values: Any = np.asarray([False, False, True, False])
    else:
        values = np.arange(-2, len(definition.values) + 1, dtype=np.int16)
        values[[0, -1]] = -1
    k = len(values)
    answered = np.ones(k, dtype=bool)
    answered[[0, -1]] = False
    not_applicable = np.zeros(k, dtype=bool)
    not_applicable[-1] = True
    return Column(definition, answered, not_applicable, values)


def _state(fact: Column) -> Uint8:
    """Each row's row of :func:`_states`: 0 unanswered, then the answers, last not applicable."""
    state: Uint8
    if fact.definition.type is FactType.BOOL:
        state = (fact.answered & fact.values).view(np.uint8) + fact.answered.view(np.uint8)
        last = 3
    else:
        state = (fact.values + 2).astype(np.uint8)
        state[~fact.answered] = 0
        last = len(fact.definition.values) + 2
    if fact.not_applicable.any():
        state[fact.not_applicable] = last
    return state


@functools.lru_cache(maxsize=4096)
def _leaf_table(leaf: Leaf, kind: FactType, values: tuple[str, ...]) -> Int8:
    """A leaf's truth in each state of its fact (:func:`_states`), by :func:`leaf_truth`."""
    definition = FactDef(name=leaf.fact, type=kind, label="", help="", group="", values=values)
    return leaf_truth(_states(definition), leaf)


class FrameTruths:
    """Truths of program nodes over encoded facts, each node computed once per chunk."""

    def __init__(self, program: Program, facts: Mapping[str, Column], n: int) -> None:
        self.program = program
        self.facts = facts
        self.n = n
        self._memo: dict[int, Int8] = {}
        self._states: dict[str, Uint8] = {}

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
        if fact.definition.type in _STATED:  # few states per row: the leaf's table of them
            table = _leaf_table(leaf, fact.definition.type, fact.definition.values)
            return np.take(table, self._state(fact))
        return leaf_truth(fact, leaf)

    def _state(self, fact: Column) -> Uint8:
        """A yes/no or enum fact's state per row (see :func:`_states`), made once per fact."""
        name = fact.definition.name
        found = self._states.get(name)
        if found is None:
            found = self._states[name] = _state(fact)
        return found

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


class _FocusedFacts(Mapping[str, Column]):
    """The facts of a chunk on some of its rows, each narrowed when first read."""

    def __init__(self, facts: Mapping[str, Column], rows: Positions) -> None:
        self._facts, self._rows, self._done = facts, rows, dict[str, Column]()

    def __getitem__(self, name: str) -> Column:
        found = self._done.get(name)
        if found is None:
            c, rows = self._facts[name], self._rows
            found = self._done[name] = Column(c.definition, c.answered[rows],
                                              c.not_applicable[rows], c.values[rows])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)


class FocusedTruths(FrameTruths):
    """The truths of a chunk on some of its rows (``rows``, in order): a node the chunk has
    worked out is narrowed, any other is worked out on those rows alone."""

    def __init__(self, whole: FrameTruths, rows: Positions) -> None:
        super().__init__(whole.program, _FocusedFacts(whole.facts, rows), len(rows))
        self.whole, self.rows = whole, rows

    def truth(self, node: int) -> Int8:
        found = self._memo.get(node)
        if found is None:
            known = self.whole._memo.get(node)
            if known is None:
                return super().truth(node)
            found = self._memo[node] = known[self.rows]
        return found


class FocusedTally:
    """A tally over focused lanes that counts into the chunk's tally, on the chunk's rows."""

    def __init__(self, whole: FrameTally, rows: Positions) -> None:
        self.whole, self.rows = whole, rows

    def add(self, fact: str, rows: Bools, times: Int16, severity: int) -> None:
        at = np.flatnonzero(rows)
        self.whole.add_at(fact, self.rows[at], times[at], severity)

    def first(self, fact: str, rows: Bools) -> None:
        self.whole.first_at(fact, self.rows[np.flatnonzero(rows)])


class FrameFocus:
    """Lanes of only some rows of a chunk (:meth:`FrameLanes.focus`)."""

    def __init__(self, lanes: FrameLanes, rows: Positions | None) -> None:
        self.rows = rows
        self.lanes = lanes if rows is None else FrameLanes(FocusedTruths(lanes.frame, rows))

    def narrow(self, lanes: Any) -> Any:
        """A mask or truth of the chunk on the focused rows."""
        return lanes if self.rows is None else lanes[self.rows]

    def tally(self, tally: FrameTally) -> FrameTally | FocusedTally:
        """What the focused lanes count into ``tally`` (which stays the chunk's)."""
        return tally if self.rows is None else FocusedTally(tally, self.rows)


FOCUS_SHARE = 0.5
"""Above this share of a chunk's rows, focused lanes would cost more (the narrowing) than they
save: the whole chunk is used."""


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

    def focus(self, rows: Bools) -> FrameFocus:
        """Lanes of only ``rows`` (the lanes are independent, so work on them alone gives the
        same results there); the whole chunk when most of its rows are wanted."""
        count = int(np.count_nonzero(rows))
        return FrameFocus(self, np.flatnonzero(rows) if count <= FOCUS_SHARE * self.frame.n
                          else None)

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
        self.add_at(fact, idx, times[idx], severity)

    def add_at(self, fact: str, idx: Positions, times: Int16, severity: int) -> None:
        """:meth:`add` on the rows ``idx``, asked ``times`` on each."""
        if not len(idx):
            return
        counted = self.counts.get(fact)
        if counted is None:
            counted = self.counts[fact] = np.zeros(self.n, dtype=np.int16)
            self.ranks[fact] = np.full(self.n, 3, dtype=np.int16)
        counted[idx] = np.minimum(counted[idx] + times, MAX_ASKS)
        asked = idx[times > 0]
        ranked = self.ranks[fact]
        ranked[asked] = np.minimum(ranked[asked], severity)

    def first(self, fact: str, rows: Bools) -> None:
        self.first_at(fact, np.flatnonzero(rows))

    def first_at(self, fact: str, idx: Positions) -> None:
        """:meth:`first` on the rows ``idx``."""
        if not len(idx):
            return
        counts = self.counts.get(fact)
        if counts is None:
            counts = self.counts[fact] = np.zeros(self.n, dtype=np.int16)
            self.ranks[fact] = np.full(self.n, 3, dtype=np.int16)
        counts[idx] = 0
        self.ranks[fact][idx] = -1

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
    return ColumnSource(fact, column).rows(0, n)


class ColumnSource:
    """A canonical column read once into compact arrays (views of the frame's own arrays where
    it can: categorical codes, boolean data and masks, floats), encoded a slice of rows at a
    time (:meth:`rows`), so that a large frame is never encoded whole."""

    def __init__(self, fact: FactDef, column: pd.Series | None) -> None:
        self.fact = fact
        self.arrays: tuple[Any, ...] | None = None  # None: no such column (unanswered)
        if column is None:
            return
        kind = fact.type
        if kind is FactType.BOOL:
            self.arrays = _booleans(column)
        elif kind in (FactType.INT, FactType.QUANTITY):
            self.arrays = (column.to_numpy(dtype="float64", na_value=np.nan),)
        else:
            codes, uniques = distinct_values(column)
            table: npt.NDArray[Any]
            if kind is FactType.ENUM:
                index = {v: i for i, v in enumerate(fact.values)}
                table = np.asarray([index.get(str(u), -1) for u in uniques] + [-1],
                                   dtype=np.int16)
            else:
                table = _list_table(fact, uniques)
            self.arrays = (codes, table)

    def rows(self, start: int, stop: int) -> Column:
        """The encoded rows ``start:stop`` (answered rows, values; no question skipped)."""
        fact, m = self.fact, stop - start
        none = np.zeros(m, dtype=bool)
        if self.arrays is None:
            empty: dict[FactType, Any] = {FactType.BOOL: none.copy(), FactType.ENUM: np.full(
                m, -1, dtype=np.int16), FactType.LIST: np.zeros(m, dtype=np.int64)}
            return Column(fact, none, none.copy(), empty.get(fact.type, np.full(m, np.nan)))
        if fact.type is FactType.BOOL:
            answered, data = (a[start:stop] for a in self.arrays)
            return Column(fact, answered, none, data & answered)
        if fact.type in (FactType.INT, FactType.QUANTITY):
            values = self.arrays[0][start:stop]
            return Column(fact, ~np.isnan(values), none, values)
        codes, table = self.arrays[0][start:stop], self.arrays[1]
        return Column(fact, codes >= 0, none, table[codes])  # NA (-1): the last entry


def _booleans(column: pd.Series) -> tuple[Bools, Bools]:
    """Which rows answered a yes/no column, and the stored answers (any value where
    unanswered)."""
    array = column.array
    if isinstance(array, pd.arrays.BooleanArray):  # the data and mask as they are stored
        return ~array._mask, array._data
    answered = np.asarray(column.notna().to_numpy(), dtype=bool)
    return answered, column.to_numpy(dtype=bool, na_value=False)


def distinct_values(column: pd.Series) -> tuple[npt.NDArray[np.signedinteger[Any]], Any]:
    """A code per row (-1 for NA) and the distinct values: a categorical's own (narrow)
    codes, else factorised."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes.to_numpy()), column.cat.categories
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes), uniques


def _list_table(fact: FactDef, uniques: Any) -> npt.NDArray[np.int64]:
    """``;``-separated list texts to one bit per allowed value, and a last entry 0 for NA."""
    bit = {v: 1 << i for i, v in enumerate(fact.values)}
    table = np.zeros(len(uniques) + 1, dtype=np.int64)
    for i, text in enumerate(uniques):
        items = text if isinstance(text, frozenset | set | list | tuple) else (
            [s for s in str(text).split(SEPARATOR) if s])
        table[i] = sum(bit[item] for item in items)
    return table


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
    return prepare_facts(program, facts, n)


def prepare_facts(program: Program, facts: dict[str, Column], n: int) -> dict[str, Column]:
    """Apply the program's preparation steps to encoded facts (one column per catalog fact),
    each on what the earlier ones left: the questions that do not apply, the derived facts."""
    for step in program.prepare:
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
