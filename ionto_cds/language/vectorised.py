"""Vectorised three-valued evaluation of a whole rule set over a DataFrame of patients.

An evaluator kept apart from the rule model (as the scalar one in ``conditions`` is): every
condition node becomes an int8 array of Kleene truths (0 false, 1 unknown, 2 true) over the rows
of a chunk at once, and ``engine.assess`` (decision, protocol walk, steering, missing-fact
ranking, findings order) is mirrored with array operations. Results are identical to
one-by-one :func:`ionto_cds.engine.assess` (tests/test_vectorised.py checks 10,000 patients).

Scale: rows are evaluated in chunks (:data:`CHUNK_ROWS`), so truth and rank arrays exist for one
chunk at a time. Text cells (findings, missing facts, dose) are made once per distinct group of
rows, not per row, and the same string objects are reused across chunks; plans are built once
per distinct (protocol, caps, electrode area) through the rule set's plan cache.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.facts import FactCatalog, FactDef, FactType
from ionto_cds.language.model import AllOf, AnyOf, Condition, Leaf, Not, Severity

Int8 = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]

_F, _U, _T = np.int8(0), np.int8(1), np.int8(2)

RESULT_COLUMNS = ("decision", "findings", "missing", "protocol",
                  "current", "duration", "dose", "current_density")
"""The columns :func:`evaluate_frame` adds, in order; lists are ``;``-separated ids."""

SEPARATOR = ";"


@dataclass
class _Fact:
    """One fact over every row: canonical values and which rows answered it / skip it."""

    definition: FactDef
    answered: Bools
    not_applicable: Bools
    values: Any  # bool / float64 / enum codes (int16) / list bit masks (int64)


def _encode(fact: FactDef, column: pd.Series | None, n: int) -> _Fact:
    """Canonical column (see :func:`evaluate_frame`) to numpy arrays."""
    none = np.zeros(n, dtype=bool)
    if column is None:
        empty: dict[FactType, Any] = {FactType.BOOL: none.copy(), FactType.ENUM: np.full(
            n, -1, dtype=np.int16), FactType.LIST: np.zeros(n, dtype=np.int64)}
        return _Fact(fact, none, none.copy(), empty.get(fact.type, np.full(n, np.nan)))
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
    return _Fact(fact, answered, none.copy(), values)


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


class FrameEvaluator:
    """Kleene truths of conditions over encoded facts, memoised per node."""

    def __init__(self, facts: Mapping[str, _Fact]) -> None:
        self.facts = facts
        self._memo: dict[Any, Int8] = {}
        n = len(next(iter(facts.values())).answered) if facts else 0
        self.n = n

    def truth(self, node: Condition) -> Int8:
        """The truth of a condition on every row."""
        key: Any = node if isinstance(node, Leaf) else id(node)  # equal leaves: one array
        found = self._memo.get(key)
        if found is not None:
            return found
        if isinstance(node, Leaf):
            result = self._leaf(node)
        elif isinstance(node, Not):
            result = (2 - self.truth(node.part)).astype(np.int8)
        elif isinstance(node, AllOf):
            result = np.full(self.n, _T, dtype=np.int8)
            for part in node.parts:
                np.minimum(result, self.truth(part), out=result)
        else:
            assert isinstance(node, AnyOf)
            result = np.full(self.n, _F, dtype=np.int8)
            for part in node.parts:
                np.maximum(result, self.truth(part), out=result)
        self._memo[key] = result
        return result

    def _leaf(self, leaf: Leaf) -> Int8:
        fact = self.facts[leaf.fact]
        if leaf.op == "known":
            present = fact.answered & ~fact.not_applicable
            want, other = (_T, _F) if leaf.value else (_F, _T)
            return np.where(present, want, other).astype(np.int8)
        hit = _leaf_test(leaf, fact)
        out = np.where(fact.answered, hit.view(np.int8) * _T, _U).astype(np.int8, copy=False)
        if fact.not_applicable.any():
            out[fact.not_applicable] = _F
        return out

    def undecided(self, node: Condition, within: Bools | None = None,
                  found: dict[str, Bools] | None = None) -> dict[str, Bools]:
        """Per fact, the rows where ``undecided_facts(node, row)`` lists it."""
        found = {} if found is None else found
        mask = self.truth(node) == _U
        if within is not None:
            mask &= within
        if not mask.any():
            return found
        if isinstance(node, Leaf):
            prior = found.get(node.fact)
            found[node.fact] = mask if prior is None else prior | mask
        elif isinstance(node, Not):
            self.undecided(node.part, mask, found)
        else:
            for part in node.parts:
                self.undecided(part, mask, found)
        return found


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
}


def _leaf_test(leaf: Leaf, fact: _Fact) -> Bools:
    """The leaf's test on the answered value of every row (garbage where unanswered)."""
    kind = fact.definition.type
    values = fact.values
    op, expected = leaf.op, leaf.value
    if kind is FactType.ENUM:
        index = {v: i for i, v in enumerate(fact.definition.values)}
        if op == "in":  # a lookup table over the codes (-1, unanswered, takes the last entry)
            table = np.zeros(len(index) + 1, dtype=bool)
            table[[index[v] for v in expected if v in index]] = True
            return np.asarray(table[values], dtype=bool)
        code = index.get(expected, -2)
        return np.asarray(_COMPARE[op](values, code), dtype=bool)
    if kind is FactType.LIST:
        if op == "contains":
            bit = 1 << list(fact.definition.values).index(expected)
            return np.asarray((values & bit) != 0, dtype=bool)
        raise ValueError(f"operator {op!r} on a list fact")  # the loader never builds one
    if op == "is":
        return np.asarray(values == bool(expected), dtype=bool)
    if op == "in":
        return np.isin(values, [float(v) for v in expected])
    return np.asarray(_COMPARE[op](values, float(expected)), dtype=bool)


def encode_facts(frame: pd.DataFrame, catalog: FactCatalog,
                 given: Mapping[str, tuple[Bools, Any]] | None = None) -> dict[str, _Fact]:
    """Encode a canonical frame and work out, as FactCatalog.factset does, what is skipped.

    ``given``: facts already encoded (answered rows, values) for exactly these rows.
    """
    n = len(frame)
    given = given or {}
    facts = {f.name: _Fact(f, given[f.name][0], np.zeros(n, dtype=bool), given[f.name][1])
             if f.name in given else
             _encode(f, frame[f.name] if f.name in frame.columns else None, n)
             for f in catalog}
    # Like FactCatalog.factset: asked_when in catalog order, each on the env so far.
    for fact in catalog:
        if fact.asked_when is None:
            continue
        truth = FrameEvaluator(facts).truth(fact.asked_when)
        facts[fact.name].not_applicable = truth == _F
    return facts


def row_values(frame: pd.DataFrame, catalog: FactCatalog, i: int) -> dict[str, Any]:
    """Canonical answers of one row, as FactCatalog.validate would give them."""
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


def _group_codes(columns: list[npt.NDArray[Any]], n: int) -> tuple[npt.NDArray[np.int64], int]:
    """Exact group numbers of the rows of several small non-negative integer columns.

    Columns are bit-packed into 62-bit words (no hashing, so no collisions) and the words
    factorised one after another (a single narrow word is numbered by a dense table). Group
    numbers are in no particular order.
    """
    columns = columns or [np.zeros(n, dtype=np.int8)]
    widths = [max(int(col.max()).bit_length(), 1) if len(col) else 1 for col in columns]
    if sum(widths) <= 20:  # few distinct words: packed in a narrow integer, a dense table
        narrow = np.uint16 if sum(widths) <= 16 else np.uint32
        small = columns[0].astype(narrow)
        bits = widths[0]
        for col, width in zip(columns[1:], widths[1:], strict=True):
            shifted = col.astype(narrow)
            np.left_shift(shifted, bits, out=shifted)
            np.bitwise_or(small, shifted, out=small)
            bits += width
        seen = np.zeros(1 << bits, dtype=bool)
        seen[small] = True
        dense = np.cumsum(seen) - 1
        return dense[small], int(dense[-1]) + 1
    words: list[npt.NDArray[np.int64]] = []
    word = np.zeros(n, dtype=np.int64)
    bits = 0
    for col, width in zip(columns, widths, strict=True):
        if bits + width > 62:
            words.append(word)
            word = np.zeros(n, dtype=np.int64)
            bits = 0
        if bits:
            shifted = col.astype(np.int64)
            np.left_shift(shifted, bits, out=shifted)
            np.bitwise_or(word, shifted, out=word)
        else:
            word = col.astype(np.int64)
        bits += width
    words.append(word)
    first, uniques = pd.factorize(words[0])
    codes, count = np.asarray(first, dtype=np.int64), len(uniques)
    for extra in words[1:]:
        word_codes, word_uniques = pd.factorize(extra)
        joined = codes * len(word_uniques) + word_codes
        new_codes, new_uniques = pd.factorize(joined)
        codes, count = np.asarray(new_codes, dtype=np.int64), len(new_uniques)
    return codes, count


def _group_listed(columns: list[npt.NDArray[Any]], n: int, listing: npt.NDArray[np.intp]
                  ) -> tuple[npt.NDArray[np.int64], int, npt.NDArray[np.int64]]:
    """:func:`_group_codes` and :func:`_first_rows` when the columns are zero on every row but
    ``listing`` (sorted, often few): only those rows are grouped, the others (if any) are
    group 0."""
    if len(listing) == n:
        codes, count = _group_codes(columns, n)
        return codes, count, _first_rows(codes, count)
    some, count = _group_codes([c[listing] for c in columns], len(listing))
    codes = np.zeros(n, dtype=np.int64)
    codes[listing] = some + 1
    # The first unlisted row: the first k where listing[k] != k (else len(listing)).
    skipped = np.flatnonzero(listing != np.arange(len(listing)))
    unlisted = int(skipped[0]) if len(skipped) else len(listing)
    first = np.empty(count + 1, dtype=np.int64)
    first[0] = unlisted
    first[1:] = listing[_first_rows(some, count)]
    return codes, count + 1, first


class _Joiner:
    """Ids that a row lists when a column is true, in a fixed order: text per distinct row."""

    def __init__(self, n: int, shared: _Texts) -> None:
        self.n = n
        self.shared = shared
        self.columns: list[Bools] = []
        self.ids: list[str] = []

    def add(self, column: Bools, item: str) -> None:
        if column.any():
            self.columns.append(column)
            self.ids.append(item)

    def codes(self) -> tuple[npt.NDArray[np.int64], list[str]]:
        """Group number per row and the joined text of each group."""
        if not self.columns:
            return np.zeros(self.n, dtype=np.int64), [""]
        small = [c.view(np.int8) for c in self.columns]
        listed = np.zeros(self.n, dtype=bool)  # rows listing any id
        for column in self.columns:
            listed |= column
        codes, _, first = _group_listed(small, self.n, np.flatnonzero(listed))

        ids = self.ids

        def make(row: list[int]) -> str:
            return SEPARATOR.join(compress(ids, row))
        return codes, self.shared.texts(("ids", *self.ids), small, first, make)


def _first_rows(codes: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.int64]:
    """The first row of every group."""
    first = np.full(count, -1, dtype=np.int64)
    # Rows in reverse (a view, no gather): later writes win, so the lowest row index stays.
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


def _join_groups(parts: list[tuple[npt.NDArray[np.int64], list[str]]], n: int,
                 shared: _Texts) -> npt.NDArray[np.object_]:
    """Join several per-row texts (each given as group codes + texts) with the separator."""
    if not n:
        return np.asarray([], dtype=object)
    codes, count = _group_codes([c for c, _ in parts], n)
    first = _first_rows(codes, count)
    # Each part's texts as ids that hold across chunks, so a group's signature is its ids.
    ids = [shared.ids(texts)[c[first]] for c, texts in parts]  # per group, not per row
    words = shared.words

    def make(row: list[int]) -> str:
        return SEPARATOR.join(filter(None, map(words.__getitem__, row)))
    # texts() keeps one object per signature across chunks: no per-row strings.
    groups = np.arange(count, dtype=np.int64)
    joined = np.asarray(shared.texts(("join", len(parts)), ids, groups, make), dtype=object)
    return joined[codes]


class _Ranker:
    """engine._rank_facts over every row: facts to ask, most decisive first."""

    def __init__(self, rs: Any, ev: FrameEvaluator, facts: Mapping[str, _Fact],
                 shared: _Texts) -> None:
        self.rs = rs
        self.shared = shared
        self.ev = ev
        self.n = ev.n
        self.catalog: FactCatalog = rs.catalog
        self._gates: dict[str, dict[str, Bools]] = {}
        self._asks: dict[str, dict[str, npt.NDArray[np.int16]]] = {}
        self.facts = facts

    def _gate(self, fact: str) -> dict[str, Bools]:
        if fact not in self._gates:
            condition = self.catalog[fact].asked_when
            self._gates[fact] = self.ev.undecided(condition) if condition is not None else {}
        return self._gates[fact]

    def asks(self, rule: Any) -> dict[str, npt.NDArray[np.int16]]:
        """Per fact, how many times engine._facts_to_ask lists it for this rule, per row."""
        if rule.id in self._asks:
            return self._asks[rule.id]
        out: dict[str, npt.NDArray[np.int16]] = {}
        required = set(self.rs.required)

        def add(fact: str, mask: Bools) -> None:
            if mask.any():
                prior = out.get(fact)
                out[fact] = mask.astype(np.int16) if prior is None else prior + mask
        for fact, undecided in self.ev.undecided(rule.when).items():
            gate = self._gate(fact)
            gated = np.zeros(self.n, dtype=bool)
            for g, m in gate.items():
                if g in required:
                    gated |= m
            add(fact, undecided & ~gated)
            for g, m in gate.items():
                add(g, undecided & m & (gated if g in required else ~gated))
        self._asks[rule.id] = out
        return out

    def rank(self, chosen: list[tuple[Any, Bools]], first: Mapping[str, Bools] | None = None
             ) -> tuple[npt.NDArray[np.int64], list[str]]:
        """Rows' ranked facts for the rules each row lists (rule, rows) plus ``first`` facts."""
        count: dict[str, npt.NDArray[np.int16]] = {}
        rank: dict[str, npt.NDArray[np.int16]] = {}
        for rule, rows in chosen:
            idx = np.flatnonzero(rows)  # a rule's rows are few: work on them, not every row
            if not len(idx):
                continue
            severity = np.int16(rule.severity.rank)
            for fact, times in self.asks(rule).items():
                counted = count.get(fact)
                if counted is None:
                    counted = count[fact] = np.zeros(self.n, dtype=np.int16)
                    rank[fact] = np.full(self.n, 3, dtype=np.int16)
                # Count the rule's asks on its rows, the best severity where asked.
                here = times[idx]
                counted[idx] += here
                asked = idx[here > 0]
                ranked = rank[fact]
                ranked[asked] = np.minimum(ranked[asked], severity)
        for fact, rows in (first or {}).items():
            if rows.any():
                zero = np.zeros(self.n, dtype=np.int16)
                count[fact] = np.where(rows, 0, count.get(fact, zero)).astype(np.int16)
                rank[fact] = np.where(rows, -1, rank.get(fact, zero + 3)).astype(np.int16)
        names = sorted(count, key=lambda f: self.catalog.order[f])
        if not names:
            return np.zeros(self.n, dtype=np.int64), [""]
        # One small code per fact: 0 absent, else ordered by (rank, -count).
        codes_per_fact = []
        listed = np.zeros(self.n, dtype=bool)  # rows listing any fact
        for f in names:
            assert int(count[f].max()) < 64
            code = np.zeros(self.n, dtype=np.int16)  # 0 where absent; computed where present
            present = np.flatnonzero(rank[f] < 3)
            code[present] = 1 + (rank[f][present] + 1) * 64 + (63 - count[f][present])
            codes_per_fact.append(code)
            listed[present] = True
        codes, _, first_rows = _group_listed(codes_per_fact, self.n,
                                             np.flatnonzero(listed))

        order = [self.catalog.order[f] for f in names]

        def make(row: list[int]) -> str:
            ordered = sorted((c, o, f) for c, o, f in zip(row, order, names, strict=True) if c)
            return SEPARATOR.join(f for _, _, f in ordered)
        return codes, self.shared.texts(("rank", *names), codes_per_fact, first_rows, make)


CHUNK_ROWS = 131_072
"""Rows evaluated at once: every truth and rank array exists for one chunk at a time, which
bounds peak memory (and keeps the int8 arrays in cache) whatever the frame's length."""


def evaluate_frame(frame: pd.DataFrame, ruleset: Any, chunk_rows: int = CHUNK_ROWS
                   ) -> pd.DataFrame:
    """Assess every row of a canonical frame; the result has :data:`RESULT_COLUMNS`.

    The frame has one column per answered fact, named by the fact (absent columns are
    unanswered): booleans (nullable), enum values as text, ints and quantities as numbers in the
    fact's default unit, lists as ``;``-separated keys ("" for none); NA means unknown. Rows must
    be valid (as :meth:`FactCatalog.validate` would accept them).

    Rows are evaluated ``chunk_rows`` at a time into one preallocated object block (cells are
    shared string objects, never a new string per row), so peak memory stays a small multiple
    of one chunk's working set plus the output's pointers.
    """
    n = len(frame)
    out = np.empty((len(RESULT_COLUMNS), n), dtype=object)
    texts = _Texts()
    step = max(int(chunk_rows), 1)
    # Text columns are factorised once over the whole frame (small integer arrays), not per
    # chunk: pandas' string factorisation has a large cost per call.
    catalog: FactCatalog = ruleset.catalog
    whole = {f.name: _encode(f, frame[f.name], n) for f in catalog
             if f.type in (FactType.ENUM, FactType.LIST) and f.name in frame.columns} if (
                 n > step) else {}
    for start in range(0, n, step):
        part = frame.iloc[start:start + step]
        given = {name: (fact.answered[start:start + step], fact.values[start:start + step])
                 for name, fact in whole.items()}
        for j, column in enumerate(_evaluate_chunk(part, ruleset, texts, given)):
            out[j, start:start + len(part)] = column
    # The block is (columns, rows), as pandas stores it: the frame wraps it without a copy.
    result = pd.DataFrame(out.T, index=frame.index, columns=list(RESULT_COLUMNS), dtype=object,
                          copy=False)
    return result


class _Texts:
    """What chunks share: one object per distinct text, the texts already joined for a group
    signature, and the plan chosen for a (protocol, caps, area) group."""

    def __init__(self) -> None:
        self.joined: dict[Any, dict[bytes, str]] = {}
        self._ids: dict[str, int] = {}
        self.words: list[str] = []
        self.plans: dict[tuple[Any, ...], int] = {}
        self.plan_texts: list[tuple[str, ...]] = []

    def ids(self, values: list[str]) -> npt.NDArray[np.int32]:
        """A number per distinct text, the same in every chunk (``words`` maps it back)."""
        known, words = self._ids, self.words
        out = np.empty(len(values), dtype=np.int32)
        for j, v in enumerate(values):
            k = known.get(v)
            if k is None:
                k = known[v] = len(words)
                words.append(v)
            out[j] = k
        return out

    def texts(self, kind: Any, columns: list[npt.NDArray[Any]], first: npt.NDArray[np.int64],
              make: Callable[[list[int]], str]) -> list[str]:
        """The text of every group (first rows ``first``), made by ``make`` from the columns'
        values on the group's row once per distinct signature under ``kind``."""
        known = self.joined.setdefault(kind, {})
        matrix = np.ascontiguousarray(np.stack([c[first] for c in columns], axis=1))
        width = matrix.dtype.itemsize * matrix.shape[1]
        if not len(first) or not width:
            return [make(matrix[g].tolist()) for g in range(len(first))]
        # Each group's row as one bytes key, and the lookups, in C loops.
        keys: list[Any] = matrix.view(np.dtype((np.void, width))).ravel().tolist()  # bytes
        out: list[str] = list(map(known.get, keys, [""] * len(keys)))
        for g in [g for g, text in enumerate(out) if not text]:
            out[g] = known[keys[g]] = make(matrix[g].tolist())
        return out


def _evaluate_chunk(frame: pd.DataFrame, ruleset: Any, shared: _Texts,
                    given: Mapping[str, tuple[Bools, Any]]) -> list[npt.NDArray[np.object_]]:
    """:func:`evaluate_frame` on one chunk: the result columns as object arrays."""
    from ionto_cds.engine import Decision

    rs = ruleset
    catalog: FactCatalog = rs.catalog
    n = len(frame)
    facts = encode_facts(frame, catalog, given)
    ev = FrameEvaluator(facts)
    ranker = _Ranker(rs, ev, facts, shared)
    ABS = Severity.ABSOLUTE

    status = {r.id: ev.truth(r.when) for r in rs.rules}
    zeros = np.zeros(n, dtype=bool)
    compared: dict[tuple[str, int], Bools] = {}

    def eq(rule_id: str, value: int) -> Bools:
        """``status[rule_id] == value``, compared once per chunk (callers never write to it)."""
        found = compared.get((rule_id, value))
        if found is None:
            found = compared[(rule_id, value)] = status[rule_id] == value
        return found

    def any_of(rules: Any, value: np.int8) -> Bools:
        out = zeros.copy()
        for r in rules:
            out |= eq(r.id, int(value))
        return out

    general_abs = [r for r in rs.general if r.severity is ABS]
    general_soft = [r for r in rs.general if r.severity is not ABS]
    abs_true, abs_unknown = any_of(general_abs, _T), any_of(general_abs, _U)
    soft_true, soft_unknown = any_of(general_soft, _T), any_of(general_soft, _U)
    required_missing = {name: ~facts[name].answered & ~facts[name].not_applicable
                        for name in rs.required}
    any_required = zeros.copy()
    for rows in required_missing.values():
        any_required |= rows

    # engine.assess: the decision before protocol choice (codes index DECISIONS).
    NE, NI, EWP, EL = 0, 1, 2, 3
    decision = np.full(n, EL, dtype=np.int8)
    decision[soft_true | soft_unknown] = EWP
    decision[abs_unknown | any_required] = NI
    decision[abs_true] = NE
    base_decision = decision.copy()

    # engine._missing (used as is when no protocol walk happens).
    treat = (decision == EWP) | (decision == EL)
    walk = treat if rs.protocols else zeros
    missing_rules: list[tuple[Any, Bools]] = []
    for r in rs.general:
        unknown = eq(r.id, 1)
        if r.severity is ABS:
            missing_rules.append((r, unknown & (decision == NI)))
        else:
            missing_rules.append((r, unknown & ~soft_true & ~walk & ((decision == NI) |
                                                                     (decision == EWP))))
    base_missing = ranker.rank(missing_rules, {k: v & (decision == NI)
                                               for k, v in required_missing.items()})
    # engine._choose_protocol, every row at once.
    done = zeros.copy()
    excluded = zeros.copy()
    pending_kind = zeros.copy()
    chosen = np.full(n, -1, dtype=np.int16)
    plan_group = np.full(n, -1, dtype=np.int64)
    blocked_joiner = _Joiner(n, shared)
    scoped: dict[tuple[int, int], _Joiner] = {}  # (severity rank, status) -> findings
    for rank_ in (0, 1, 2):
        for st in (2, 1):
            scoped[(rank_, st)] = _Joiner(n, shared)
    soft_rules_rows: list[tuple[Any, Bools]] = []
    scoped_soft_true = zeros.copy()
    pending_rules: list[tuple[Any, Bools]] = []
    effect_rules = [r for r in rs.general if r.effect]
    effect_caps = [~eq(r.id, 0) for r in effect_rules]  # the same for every protocol
    area_fact = facts.get("electrode_area")
    if area_fact is not None:
        area_ok = area_fact.answered & ~area_fact.not_applicable
        area_codes, area_values = pd.factorize(np.where(area_ok, area_fact.values, np.nan))
        area_codes = area_codes + 1
    else:
        area_codes, area_values = np.zeros(n, dtype=np.int64), np.asarray([])
    plan_cache = shared.plans  # (protocol, caps that fire, area) -> row of plan_texts
    plan_texts = shared.plan_texts

    for k, protocol in enumerate(rs.protocols):
        live = walk & ~done
        if not live.any():
            break
        here = live & (ev.truth(protocol.when) == _T)
        if not here.any():
            continue
        if protocol.is_referral:
            chosen[here] = k
            done |= here
            continue
        steering = rs.steering_rules(protocol)
        blocking = zeros.copy()
        for r in steering:
            if r.severity is ABS:
                blocking |= eq(r.id, 2)
        blocked = here & blocking
        for r in steering:
            if r.severity is ABS:
                blocked_joiner.add(blocked & eq(r.id, 2), r.id)
        excluded |= blocked
        rest = here & ~blocking
        pending = zeros.copy()
        for r in steering:
            if r.severity is ABS:
                pending |= eq(r.id, 1)
        waiting = rest & pending
        planned = rest & ~pending
        for r in steering:
            if r.severity is ABS:
                rows = waiting & eq(r.id, 1)
                scoped[(0, 1)].add(rows, r.id)
                pending_rules.append((r, rows))
        # Plans: one build_plan per distinct (caps that fire, electrode area).
        cap_columns = list(effect_caps)
        soft = [r for r in steering if r.severity is not ABS]
        cap_columns += [~eq(r.id, 0) for r in soft if r.effect]
        feasible = zeros.copy()
        idx = np.flatnonzero(planned)
        if len(idx):
            keyed = [c[idx].astype(np.int8) for c in cap_columns] + [area_codes[idx]]
            codes_idx, count = _group_codes(keyed, len(idx))
            codes = np.zeros(n, dtype=np.int64)
            codes[idx] = codes_idx
            firsts = _first_rows(codes_idx, count)
            local: dict[int, int] = {}
            rows_ = idx[firsts[firsts >= 0]]
            flags = (np.ascontiguousarray(np.stack([c[rows_] for c in cap_columns], axis=1))
                     if cap_columns else np.zeros((len(rows_), 0), dtype=bool))
            for g, row in enumerate(rows_.tolist()):
                a_code = int(area_codes[row])
                area = float(area_values[a_code - 1]) if a_code > 0 else None
                key = (k, flags[g].tobytes(), area)
                found = plan_cache.get(key)
                if found is None:
                    caps = [(name, value, r.id) for r in effect_rules if status[r.id][row] != _F
                            for name, value in r.effect.items()]
                    caps += [(name, value, r.id) for r in soft if status[r.id][row] != _F
                             for name, value in r.effect.items()]
                    found = plan_cache[key] = _plan(rs, protocol, caps, area, plan_texts)
                local[int(codes[row])] = found
            group_of = np.full(count, -1, dtype=np.int64)
            for code, g in local.items():
                group_of[code] = g
            got = np.where(planned, group_of[codes], -1)
            feasible = planned & (got >= 0)
            plan_group[feasible] = got[feasible]
            excluded |= planned & (got < 0)
        taken = waiting | feasible
        for r in soft:
            for st in (2, 1):
                rows = taken & eq(r.id, st)
                scoped[(r.severity.rank, st)].add(rows, r.id)
                if st == 2:
                    scoped_soft_true |= rows
            soft_rules_rows.append((r, taken & eq(r.id, 1)))
        chosen[taken] = k
        pending_kind |= waiting
        done |= taken

    # engine._with_steering and the missing facts of the walk.
    walked = walk
    final = decision.copy()
    steer = walked & (base_decision == EL) & (excluded | scoped_soft_true | _has_scoped(scoped))
    final[steer] = EWP
    final[pending_kind] = NI
    # A protocol excluded by a rule is a true finding; one excluded by limits alone is not.
    blocked_rows = _rows_of(blocked_joiner, n)
    no_soft_missing = soft_true | blocked_rows | scoped_soft_true
    soft_missing_rules = [(r, walked & ~pending_kind & ~no_soft_missing & eq(r.id, 1))
                          for r in general_soft]
    soft_missing_rules += [(r, rows & ~pending_kind & ~no_soft_missing)
                           for r, rows in soft_rules_rows]
    walk_missing = ranker.rank(soft_missing_rules)
    pend_missing = ranker.rank(pending_rules)
    missing = _join_groups([base_missing, walk_missing, pend_missing], n, shared)

    # Findings in engine order: by severity, true before unknown, decision before protocol.
    parts: list[tuple[npt.NDArray[np.int64], list[str]]] = []
    for rank_ in (0, 1, 2):
        for st in (2, 1):
            general = _Joiner(n, shared)
            for r in rs.general:
                if r.severity.rank == rank_:
                    general.add(eq(r.id, st), r.id)
            parts.append(general.codes())
            if (rank_, st) == (0, 2):
                parts.append(blocked_joiner.codes())
            parts.append(scoped[(rank_, st)].codes())
    findings = _join_groups(parts, n, shared)

    protocol_ids = np.asarray([p.id for p in rs.protocols] + [""], dtype=object)
    dose = np.asarray([*plan_texts, ("", "", "", "")], dtype=object).reshape(-1, 4)
    names = np.asarray([d.value for d in (Decision.NOT_ELIGIBLE, Decision.NEEDS_INFORMATION,
                                          Decision.ELIGIBLE_WITH_PRECAUTIONS, Decision.ELIGIBLE)],
                       dtype=object)
    result = {
        "decision": names[final] if n else np.asarray([], dtype=object),
        "findings": findings,
        "missing": missing,
        "protocol": protocol_ids[np.where(pending_kind, -1, chosen).astype(np.int64)],
    }
    picked = dose[plan_group]  # -1: the empty last row
    for j, name in enumerate(("current", "duration", "dose", "current_density")):
        result[name] = picked[:, j] if n else np.asarray([], dtype=object)
    return [result[name] for name in RESULT_COLUMNS]


def _has_scoped(scoped: Mapping[tuple[int, int], _Joiner]) -> Bools | bool:
    out: Bools | bool = False
    for joiner in scoped.values():
        for column in joiner.columns:
            out = out | column
    return out


def _rows_of(joiner: _Joiner, n: int) -> Bools:
    out = np.zeros(n, dtype=bool)
    for column in joiner.columns:
        out |= column
    return out


_PLANS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[str, ...] | None]] = (
    weakref.WeakKeyDictionary())


def _plan(rs: Any, protocol: Any, caps: list[tuple[str, Any, str]], area: float | None,
          texts: list[tuple[str, ...]]) -> int:
    """build_plan for one group, as engine._choose_protocol calls it; -1 when infeasible.

    The dose texts are those of Plan.to_dict(), remembered per rule set across calls (chunks).
    """
    from ionto_cds.protocols import PlanInfeasible
    from ionto_cds.units import Quantity, unit

    cache = _PLANS.setdefault(rs, {})
    key = (protocol.id, tuple((c[0], c[2]) for c in caps), area)
    if key not in cache:
        # As engine._choose_protocol: the answered area in the fact's default unit (the unit
        # parsed once, not per group).
        quantity = (Quantity(area, unit(rs.catalog["electrode_area"].unit))
                    if area is not None else None)
        try:
            plan = rs.plan(protocol, caps, quantity, ())
        except PlanInfeasible:
            cache[key] = None
        else:
            cache[key] = (_format(plan.current), _format(plan.duration), _format(plan.dose),
                          _format(plan.current_density)
                          if plan.current_density is not None else "")
    found = cache[key]
    if found is None:
        return -1
    texts.append(found)
    return len(texts) - 1


_UNIT_TEXTS: dict[Any, str] = {}


def _format(quantity: Any, digits: int = 4) -> str:
    """Exactly units.format_quantity, with the unit's text (pint's slow formatter) made once
    per unit rather than once per plan (the differential test compares the two)."""
    from ionto_cds.units import unit_text

    units = quantity.units
    text = _UNIT_TEXTS.get(units)
    if text is None:
        text = _UNIT_TEXTS[units] = unit_text(units)
    rounded = float(f"{float(quantity.magnitude):.{digits}g}")
    shown: float | int = int(rounded) if rounded.is_integer() else rounded
    return f"{shown} {text}"


def assessment_row(a: Any) -> tuple[str, ...]:
    """One assessment as the text cells of :data:`RESULT_COLUMNS`."""
    plan = a.protocol
    protocol = plan.protocol.id if plan is not None else (
        a.referral.id if a.referral is not None else "")
    dose = plan.to_dict() if plan is not None else {}
    return (
        a.decision.value,
        SEPARATOR.join(f.rule.id for f in a.findings),
        SEPARATOR.join(a.missing),
        protocol,
        dose.get("current") or "",
        dose.get("duration") or "",
        dose.get("dose") or "",
        dose.get("current_density") or "",
    )
