"""The one-patient interpreter of a program: short-circuit closures, with a trace on demand.

Truth values are Kleene's, ordered F < U < T (see :class:`~ionto_cds.language.model.Truth`), so
``all`` is the minimum of its parts, ``any`` the maximum and ``not`` is ``2 - x``::

    all   F U T      any   F U T      not
    F     F F F      F     F U T      F -> T
    U     F U U      U     U U T      U -> U
    T     F U T      T     T T T      T -> F

A leaf on an unanswered fact is U; on a question that does not apply it is F (never fires,
never blocks); an operator that reads presence (``known``) is never U. Each leaf's test is the
operator table's (:data:`~ionto_cds.language.operators.OPERATORS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from ionto_cds.evaluation.program import Node, NodeKind, Program, single_condition
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Condition, Leaf, Truth
from ionto_cds.language.operators import OPERATORS

Env = Mapping[str, Any]
Compiled = Callable[[Env], int]
Show = Callable[[str, Any], Any]

_F, _U, _T = int(Truth.FALSE), int(Truth.UNKNOWN), int(Truth.TRUE)


def _leaf(leaf: Leaf) -> Compiled:
    name = leaf.fact
    op = OPERATORS[leaf.op]
    if op.reads_presence:
        want = _T if leaf.value else _F
        other = _F if leaf.value else _T

        def known(env: Env) -> int:
            v = env.get(name, UNKNOWN)
            return other if v is UNKNOWN or v is NOT_APPLICABLE else want

        return known
    test, expected = op.test, leaf.value

    def answered(env: Env) -> int:
        v = env.get(name, UNKNOWN)
        if v is UNKNOWN:
            return _U
        if v is NOT_APPLICABLE:
            return _F
        return _T if test(v, expected) else _F

    return answered


def _all(parts: tuple[Compiled, ...]) -> Compiled:
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


def _any(parts: tuple[Compiled, ...]) -> Compiled:
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


def _not(part: Compiled) -> Compiled:
    return lambda env: 2 - part(env)


def _closure(node: Node, built: Sequence[Compiled]) -> Compiled:
    if node.kind is NodeKind.LEAF and node.leaf is not None:
        return _leaf(node.leaf)
    parts = tuple(built[i] for i in node.parts)
    if node.kind is NodeKind.NOT:
        return _not(parts[0])
    return _all(parts) if node.kind is NodeKind.ALL else _any(parts)


class ScalarProgram:
    """A program as closures: ``truth(node, env)`` is one call per node, parts short-circuit."""

    def __init__(self, program: Program) -> None:
        self.program = program
        built: list[Compiled] = []
        for node in program.nodes:
            built.append(_closure(node, built))
        self.closures: tuple[Compiled, ...] = tuple(built)

    def truth(self, node: int, env: Env) -> int:
        """0, 1 or 2 (false, unknown, true) of one node for one patient's answers."""
        return self.closures[node](env)

    def undecided(self, node: int, env: Env) -> dict[str, bool]:
        """Facts of the unknown leaves that still decide an unknown node (each mapped to True),
        in the order written.

        Parts that are already true or false cannot change the result and are skipped, so a fact
        is listed only when some answer to it could still change the node.
        """
        found: dict[str, bool] = {}
        nodes, closures = self.program.nodes, self.closures

        def walk(i: int) -> None:
            if closures[i](env) != _U:
                return
            n = nodes[i]
            if n.leaf is not None:
                found.setdefault(n.leaf.fact, True)
            for part in n.parts:
                walk(part)

        walk(node)
        return found

    def trace(self, node: int, env: Env, show: Show) -> dict[str, Any]:
        """The evaluation of every part of a node, for explanations.

        Leaves record the fact, operator, expected value as written, the answer seen (through
        ``show``; ``None`` when unanswered) and the result.
        """
        n = self.program.nodes[node]
        result = Truth(self.closures[node](env)).label
        if n.leaf is not None:
            leaf = n.leaf
            seen = env.get(leaf.fact, UNKNOWN)
            shown: Any = None if seen is UNKNOWN else (
                "not applicable" if seen is NOT_APPLICABLE else show(leaf.fact, seen))
            return {"fact": leaf.fact, "op": leaf.op, "expected": leaf.shown, "seen": shown,
                    "result": result}
        kind = {NodeKind.ALL: "all", NodeKind.ANY: "any", NodeKind.NOT: "not"}[n.kind]
        return {"op": kind, "result": result,
                "parts": [self.trace(part, env, show) for part in n.parts]}


@lru_cache(maxsize=16384)
def compile_condition(condition: Condition) -> Compiled:
    """A condition outside any rule set (lint, sensitivity) as one closure; compiled once."""
    program, root = single_condition(condition)
    return ScalarProgram(program).closures[root]


def evaluate(condition: Condition, env: Env) -> Truth:
    """Evaluate a condition against answers; for tests and one-off use."""
    return Truth(compile_condition(condition)(env))
