"""The frame evaluator's meaning of every operator of the operator table, registered by name.

Each test maps an encoded fact column and a leaf to the leaf's hit on every row (rows that are
unanswered get any value: the evaluator masks them). Loading this module fails if an operator
of :data:`~ionto_cds.language.operators.OPERATORS` has no frame meaning here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ionto_cds.errors import ProgramError
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import FactType, Leaf
from ionto_cds.language.operators import OPERATORS

Bools = npt.NDArray[np.bool_]


@dataclass
class Column:
    """One fact over the rows of a chunk: canonical values, which rows answered it, and which
    rows skip it (the question does not apply)."""

    definition: FactDef
    answered: Bools
    not_applicable: Bools
    values: Any  # bool / float64 / enum codes (int16) / list bit masks (int64)


FrameTest = Callable[[Column, Leaf], Bools]


def _enum_code(column: Column, value: object) -> int:
    return column.definition.values.index(value) if value in column.definition.values else -2


def _comparison(fn: Callable[[Any, Any], Any]) -> FrameTest:
    def test(column: Column, leaf: Leaf) -> Bools:
        if column.definition.type is FactType.ENUM:
            return np.asarray(fn(column.values, _enum_code(column, leaf.value)), dtype=bool)
        return np.asarray(fn(column.values, float(leaf.value)), dtype=bool)

    return test


def _is(column: Column, leaf: Leaf) -> Bools:
    return np.asarray(column.values == bool(leaf.value), dtype=bool)


def _in(column: Column, leaf: Leaf) -> Bools:
    if column.definition.type is FactType.ENUM:
        # A lookup table over the codes; -1 (unanswered) takes the last entry.
        table = np.zeros(len(column.definition.values) + 1, dtype=bool)
        table[[_enum_code(column, v) for v in leaf.value if v in column.definition.values]] = True
        return np.asarray(table[column.values], dtype=bool)
    return np.isin(column.values, [float(v) for v in leaf.value])


def _contains(column: Column, leaf: Leaf) -> Bools:
    bit = 1 << column.definition.values.index(leaf.value)
    return np.asarray((column.values & bit) != 0, dtype=bool)


def _contains_any(column: Column, leaf: Leaf) -> Bools:
    bits = sum(1 << column.definition.values.index(v) for v in leaf.value)
    return np.asarray((column.values & bits) != 0, dtype=bool)


def _known(column: Column, leaf: Leaf) -> Bools:  # presence is handled by the evaluator
    return np.full(len(column.answered), bool(leaf.value))


FRAME_TESTS: dict[str, FrameTest] = {
    "is": _is,
    "eq": _comparison(np.equal),
    "ne": _comparison(np.not_equal),
    "lt": _comparison(np.less),
    "le": _comparison(np.less_equal),
    "gt": _comparison(np.greater),
    "ge": _comparison(np.greater_equal),
    "in": _in,
    "contains": _contains,
    "contains_any": _contains_any,
    "known": _known,
}

_missing = sorted(set(OPERATORS) - set(FRAME_TESTS))
if _missing:
    raise ProgramError(f"operators without a frame meaning: {', '.join(_missing)}")
