"""The operator table: every leaf operator of the rule language, declared once.

Each entry says what the operator is called, how it is written for a reader, which fact types
it fits, how its YAML value is read, and what it means for one patient's answer. The reader,
:func:`describe`, lint and the sensitivity analysis read this table; the one-patient evaluator
calls :attr:`Operator.test`; the frame evaluator registers its own meaning for every name here
(and refuses to load if one is missing). Adding an operator is one entry here and one in
``evaluation/frame_operators.py``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ionto_cds.language.model import VARIANT_EFFECT, AllOf, AnyOf, Condition, FactType, Leaf, Not
from ionto_cds.units import pretty_quantity


class ValueShape(StrEnum):
    """How an operator's value is written in YAML."""

    FLAG = "flag"  # true or false (is, known)
    ONE = "one"  # one value of the fact's kind (a number with unit, an enum value, a list item)
    SET = "set"  # a non-empty list of values (in)


@dataclass(frozen=True)
class Operator:
    """One leaf operator of the rule language."""

    name: str
    symbol: str
    words: str
    fits: frozenset[FactType]
    shape: ValueShape
    test: Callable[[Any, Any], bool]
    """The meaning for one answered fact: ``test(answer, expected)``."""
    ordered: bool = False
    """True for the comparisons whose thresholds split a number line (lt, le, gt, ge, eq, ne)."""
    reads_presence: bool = False
    """True for ``known``: it looks at whether the fact is answered, never at the answer."""


_NUMBERS = frozenset({FactType.INT, FactType.QUANTITY})
_ALL_TYPES = frozenset(FactType)


def _is_in(answer: Any, expected: Any) -> bool:
    return bool(answer in expected)


def _known(answer: Any, expected: Any) -> bool:  # the evaluators handle presence themselves
    return bool(expected)


# The comparisons are the builtins themselves (answers are plain bools, numbers and words, so
# they return bools): a leaf costs one C call.
_eq: Callable[[Any, Any], bool] = operator.eq
_ne: Callable[[Any, Any], bool] = operator.ne
_lt: Callable[[Any, Any], bool] = operator.lt
_le: Callable[[Any, Any], bool] = operator.le
_gt: Callable[[Any, Any], bool] = operator.gt
_ge: Callable[[Any, Any], bool] = operator.ge
_contains: Callable[[Any, Any], bool] = operator.contains  # contains(answer, item)


def _contains_any(answer: Any, expected: Any) -> bool:
    return not answer.isdisjoint(expected)


OPERATORS: Mapping[str, Operator] = {
    op.name: op
    for op in (
        Operator("is", "is", "is", frozenset({FactType.BOOL}), ValueShape.FLAG, _eq),
        Operator("eq", "=", "is", frozenset({FactType.ENUM, *_NUMBERS}), ValueShape.ONE, _eq,
                 ordered=True),
        Operator("ne", "≠", "is not", frozenset({FactType.ENUM, *_NUMBERS}), ValueShape.ONE,
                 _ne, ordered=True),
        Operator("lt", "<", "is under", _NUMBERS, ValueShape.ONE, _lt, ordered=True),
        Operator("le", "≤", "is at most", _NUMBERS, ValueShape.ONE, _le, ordered=True),
        Operator("gt", ">", "is over", _NUMBERS, ValueShape.ONE, _gt, ordered=True),
        Operator("ge", "≥", "is at least", _NUMBERS, ValueShape.ONE, _ge, ordered=True),
        Operator("in", "in", "is one of", frozenset({FactType.ENUM, FactType.INT}),
                 ValueShape.SET, _is_in),
        Operator("contains", "contains", "includes", frozenset({FactType.LIST}), ValueShape.ONE,
                 _contains),
        Operator("contains_any", "contains any of", "includes any of",
                 frozenset({FactType.LIST}), ValueShape.SET, _contains_any),
        Operator("known", "known", "is answered", _ALL_TYPES, ValueShape.FLAG, _known,
                 reads_presence=True),
    )
}
"""Every leaf operator, in the order the language documentation lists them."""


def fitting(kind: FactType) -> tuple[str, ...]:
    """The operators that fit a fact type, in table order."""
    return tuple(name for name, op in OPERATORS.items() if kind in op.fits)


def describe(condition: Condition) -> str:
    """A compact reading of a condition, e.g. 'age < 6 year and site in [palms, soles]'."""
    if isinstance(condition, Leaf):
        op = OPERATORS[condition.op]
        if op.shape is ValueShape.FLAG and not op.reads_presence:
            return condition.fact if condition.value else f"not {condition.fact}"
        if op.reads_presence:
            return f"{condition.fact} {'answered' if condition.value else 'unanswered'}"
        return f"{condition.fact} {op.symbol} {condition.shown}"
    if isinstance(condition, Not):
        return f"not ({describe(condition.part)})"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    return joiner.join(
        f"({describe(p)})" if isinstance(p, AllOf | AnyOf) else describe(p)
        for p in condition.parts
    )


def effect_text(name: str, value: Any) -> str:
    """One item of a rule's effect in words, e.g. 'caps max current at 10 mA' or 'uses the
    protocols' children parameters'."""
    if name == VARIANT_EFFECT:
        return f"uses the protocols' {str(value).replace('_', ' ')} parameters"
    return f"caps {name.replace('_', ' ')} at {pretty_quantity(value)}"
