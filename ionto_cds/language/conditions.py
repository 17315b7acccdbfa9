"""Three-valued (Kleene) evaluation of conditions, compiled once at load time.

Truth tables (F = false, U = unknown, T = true)::

    all   F U T      any   F U T      not
    F     F F F      F     F U T      F -> T
    U     F U U      U     U U T      U -> U
    T     F U T      T     T T T      T -> F

A leaf on an unanswered fact is U; on a question that does not apply it is F (never fires,
never blocks); ``known`` is never U.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ionto_cds.language.model import (
    NOT_APPLICABLE,
    UNKNOWN,
    AllOf,
    Condition,
    Leaf,
    Not,
    Truth,
)

Env = Mapping[str, Any]
Compiled = Callable[[Env], int]

_F, _U, _T = int(Truth.FALSE), int(Truth.UNKNOWN), int(Truth.TRUE)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def kleene_all(values: list[Truth]) -> Truth:
    """Conjunction: false if any is false, else unknown if any is unknown, else true."""
    return Truth(min(values, default=Truth.TRUE))


def kleene_any(values: list[Truth]) -> Truth:
    """Disjunction: true if any is true, else unknown if any is unknown, else false."""
    return Truth(max(values, default=Truth.FALSE))


def kleene_not(value: Truth) -> Truth:
    """Negation: unknown stays unknown."""
    return Truth(2 - value)


def _leaf_test(leaf: Leaf) -> Callable[[Any], bool]:
    expected = leaf.value
    op = leaf.op
    if op == "is":
        return lambda v: bool(v == expected)
    if op in _COMPARE:
        compare = _COMPARE[op]
        return lambda v: bool(compare(v, expected))
    if op == "in":
        return lambda v: v in expected
    if op == "contains":
        return lambda v: expected in v
    raise ValueError(f"unknown operator {op!r}")  # the loader never builds one


@lru_cache(maxsize=16384)
def compile_condition(condition: Condition) -> Compiled:
    """Turn a condition into a fast function of an answers mapping returning 0, 1 or 2.

    Conditions are immutable values, so each distinct one is compiled once.
    """
    if isinstance(condition, Leaf):
        name = condition.fact
        if condition.op == "known":
            want = _T if condition.value else _F
            other = _F if condition.value else _T

            def known(env: Env) -> int:
                v = env.get(name, UNKNOWN)
                return other if v is UNKNOWN or v is NOT_APPLICABLE else want

            return known
        test = _leaf_test(condition)

        def leaf(env: Env) -> int:
            v = env.get(name, UNKNOWN)
            if v is UNKNOWN:
                return _U
            if v is NOT_APPLICABLE:
                return _F
            return _T if test(v) else _F

        return leaf
    if isinstance(condition, Not):
        inner = compile_condition(condition.part)
        return lambda env: 2 - inner(env)
    parts = tuple(compile_condition(p) for p in condition.parts)
    if isinstance(condition, AllOf):

        def all_of(env: Env) -> int:
            result = _T
            for part in parts:
                value = part(env)
                if value == _F:
                    return _F
                if value < result:
                    result = value
            return result

        return all_of

    def any_of(env: Env) -> int:
        result = _F
        for part in parts:
            value = part(env)
            if value == _T:
                return _T
            if value > result:
                result = value
        return result

    return any_of


def evaluate(condition: Condition, env: Env) -> Truth:
    """Evaluate a condition (uncompiled) against answers; for tests and one-off use."""
    return Truth(compile_condition(condition)(env))


def undecided_facts(condition: Condition, env: Env) -> tuple[str, ...]:
    """Facts of the unknown leaves that still decide an unknown condition.

    Parts that are already true or false cannot change the result and are skipped, so a fact is
    listed only when some answer to it could still change the condition.
    """
    found: dict[str, None] = {}

    def walk(node: Condition) -> None:
        if compile_condition(node)(env) != _U:
            return
        if isinstance(node, Leaf):
            found.setdefault(node.fact, None)
        elif isinstance(node, Not):
            walk(node.part)
        else:
            for part in node.parts:
                walk(part)

    walk(condition)
    return tuple(found)


def trace(condition: Condition, env: Env, show: Callable[[str, Any], Any]) -> dict[str, Any]:
    """The evaluation of every node, for explanations.

    Leaves record the fact, operator, expected value as written, the answer seen (through
    ``show``; ``None`` when unanswered) and the result.
    """
    result = Truth(compile_condition(condition)(env)).label
    if isinstance(condition, Leaf):
        seen = env.get(condition.fact, UNKNOWN)
        if seen is UNKNOWN:
            shown: Any = None
        elif seen is NOT_APPLICABLE:
            shown = "not applicable"
        else:
            shown = show(condition.fact, seen)
        return {
            "fact": condition.fact,
            "op": condition.op,
            "expected": condition.shown,
            "seen": shown,
            "result": result,
        }
    if isinstance(condition, Not):
        return {"op": "not", "result": result, "parts": [trace(condition.part, env, show)]}
    kind = "all" if isinstance(condition, AllOf) else "any"
    return {
        "op": kind,
        "result": result,
        "parts": [trace(p, env, show) for p in condition.parts],
    }

