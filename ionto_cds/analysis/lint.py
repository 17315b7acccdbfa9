"""Static warnings on a loaded rule source: rules that can never fire, always-true or duplicate
conditions, unreachable protocols and priority ties.

Satisfiability is checked by trying every combination of representative answers for the facts a
condition reads (each enum value, each side of every threshold, yes/no), which is exact for the
leaf operators of the language.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ionto_cds.errors import Location, RuleError
from ionto_cds.evaluation.answers import factset
from ionto_cds.evaluation.program import compile_program
from ionto_cds.evaluation.scalar import ScalarProgram, compile_condition
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.loader import RuleSource
from ionto_cds.language.model import (
    UNKNOWN,
    AllOf,
    AnyOf,
    Condition,
    FactType,
    Leaf,
    Not,
    Truth,
    leaves,
)
from ionto_cds.language.operators import OPERATORS, ValueShape

_MAX_COMBINATIONS = 50_000


def _candidates(catalog: FactCatalog, fact: str, used: list[Leaf]) -> list[Any]:
    """Representative answers for a fact: every value class its leaves can tell apart, and
    'unanswered' where a leaf asks whether it is answered."""
    unanswered = [UNKNOWN] if any(OPERATORS[leaf.op].reads_presence for leaf in used) else []
    return _answered_candidates(catalog, fact, used) + unanswered


def _answered_candidates(catalog: FactCatalog, fact: str, used: list[Leaf]) -> list[Any]:
    f = catalog[fact]
    if f.type is FactType.BOOL:
        return [True, False]
    if f.type is FactType.ENUM:
        return list(f.values)
    if f.type is FactType.LIST:
        mentioned: set[str] = set()
        for leaf in used:
            if leaf.op == "contains":
                mentioned.add(leaf.value)
            elif OPERATORS[leaf.op].shape is ValueShape.SET:
                mentioned.update(leaf.value)
        words = sorted(mentioned)
        return [frozenset(c) for n in range(len(words) + 1)
                for c in itertools.combinations(words, n)]
    points: set[float] = set()
    step = 1.0 if f.type is FactType.INT else 1e-6
    for leaf in used:
        values = leaf.value if OPERATORS[leaf.op].shape is ValueShape.SET else [leaf.value]
        for v in values if isinstance(values, frozenset | list) else [values]:
            if isinstance(v, int | float) and not isinstance(v, bool):
                points.update({v - step, float(v), v + step})
    for bound in (f.minimum, f.maximum):
        if bound is not None:
            points.add(bound)
    if not points:
        points = {f.minimum if f.minimum is not None else 0.0}
    low = f.minimum if f.minimum is not None else float("-inf")
    high = f.maximum if f.maximum is not None else float("inf")
    inside = sorted(p for p in points if low <= p <= high)
    return [int(p) if f.type is FactType.INT else p for p in inside] or [low]


def _domain(catalog: FactCatalog, conditions: list[Condition]) -> list[str]:
    """The answered facts the conditions depend on: the facts they read, those that decide
    whether each is asked, and in place of a derived fact the facts it is worked out from."""
    facts: dict[str, None] = {}
    todo = [leaf.fact for condition in conditions for leaf in leaves(condition)]
    seen: set[str] = set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        fact = catalog[name]
        if fact.is_derived:
            todo += [leaf.fact for case in fact.derived for leaf in leaves(case.when)]
            continue
        facts.setdefault(name, None)
        todo += [leaf.fact for c in catalog.gate_conditions(name) for leaf in leaves(c)]
    return sorted(facts, key=lambda n: catalog.order[n])


def _leaves_about(catalog: FactCatalog, conditions: list[Condition]) -> list[Leaf]:
    """Every leaf that can tell answers apart: of the conditions, of the gates, and of the
    cases of the derived facts they read."""
    out: list[Leaf] = []
    todo = list(conditions)
    while todo:
        condition = todo.pop()
        for leaf in leaves(condition):
            out.append(leaf)
            fact = catalog[leaf.fact]
            todo += list(catalog.gate_conditions(leaf.fact))
            todo += [case.when for case in fact.derived]
    return out


def assignments(catalog: FactCatalog, conditions: list[Condition],
                applicability: ScalarProgram) -> Iterator[dict[str, Any]]:
    """Every combination of representative answers (with applicability worked out)."""
    names = _domain(catalog, conditions)
    all_leaves = _leaves_about(catalog, conditions)
    options = [_candidates(catalog, n, [x for x in all_leaves if x.fact == n]) for n in names]
    total = 1
    for o in options:
        total *= len(o)
    if total > _MAX_COMBINATIONS:
        return
    for combo in itertools.product(*options):
        given = {n: v for n, v in zip(names, combo, strict=True) if v is not UNKNOWN}
        yield dict(factset(applicability, given).env)


def _satisfiable(scalar: ScalarProgram, condition: Condition) -> bool | None:
    compiled = compile_condition(condition)
    seen_any = False
    for env in assignments(scalar.program.catalog, [condition], scalar):
        seen_any = True
        if compiled(env) == Truth.TRUE:
            return True
    return False if seen_any else None


def _tautology(scalar: ScalarProgram, condition: Condition) -> bool:
    compiled = compile_condition(condition)
    seen_any = False
    for env in assignments(scalar.program.catalog, [condition], scalar):
        seen_any = True
        if compiled(env) != Truth.TRUE:
            return False
    return seen_any


def _duplicate_parts(condition: Condition) -> list[Condition]:
    found: list[Condition] = []
    if isinstance(condition, AllOf | AnyOf):
        seen: list[Condition] = []
        for part in condition.parts:
            if part in seen:
                found.append(part)
            seen.append(part)
            found.extend(_duplicate_parts(part))
    elif isinstance(condition, Not):
        found.extend(_duplicate_parts(condition.part))
    return found


def lint_warnings(source: RuleSource) -> list[RuleError]:
    """Every static warning, each with the location of the rule or protocol concerned."""
    scalar = ScalarProgram(compile_program(source.catalog, source.rules, source.protocols))
    out: list[RuleError] = []
    seen: dict[tuple[Condition, frozenset[str]], str] = {}
    for rule in source.rules:
        where = rule.location
        sat = _satisfiable(scalar, rule.when)
        if sat is False:
            out.append(RuleError(where, f"rule '{rule.id}' can never fire: its condition is "
                                 "false for every possible answer (contradictory parts, or a "
                                 "question that does not apply)"))
        elif _tautology(scalar, rule.when):
            out.append(RuleError(where, f"rule '{rule.id}' fires for every answered patient: "
                                 "its condition is always true"))
        for part in _duplicate_parts(rule.when):
            out.append(RuleError(part.location or where, f"rule '{rule.id}' repeats a part of "
                                 "its condition; remove the copy"))
        key = (rule.when, rule.applies_to)
        if key in seen:
            out.append(RuleError(where, f"rule '{rule.id}' has the same condition and scope as "
                                 f"rule '{seen[key]}': merge them or make them differ"))
        else:
            seen[key] = rule.id
    out.extend(_protocol_warnings(source, scalar))
    out.extend(_uncited(source))
    return out


def _uncited(source: RuleSource) -> list[RuleError]:
    """References no rule, drug, protocol or limit cites."""
    cited = {key for r in source.rules for key in r.references}
    cited |= {key for p in source.protocols for key in p.references}
    cited |= {key for d in source.drugs.values() for key in d.references}
    cited |= set(source.limits.references)
    return [RuleError(ref.location, f"reference '{key}' is cited by no rule, drug or protocol: "
                      "cite it where it is used, or remove it")
            for key, ref in source.references.items() if key not in cited]


def _protocol_warnings(source: RuleSource, scalar: ScalarProgram) -> list[RuleError]:
    catalog = source.catalog
    out: list[RuleError] = []
    protocols = list(source.protocols)
    compiled = {p.id: compile_condition(p.when) for p in protocols}
    excludable = {
        p.id: any(r.applies_to & p.targets() and not r.is_general
                  and r.severity.value == "absolute" for r in source.rules)
        for p in protocols
    }
    conditions = [p.when for p in protocols]
    envs = list(assignments(catalog, conditions, scalar))
    for index, protocol in enumerate(protocols):
        where = protocol.location or Location("protocols.yaml")
        if not envs:
            break
        reachable = False
        for env in envs:
            if compiled[protocol.id](env) != Truth.TRUE:
                continue
            # Reached when every higher-priority protocol is false here or can be excluded.
            if all(compiled[h.id](env) != Truth.TRUE or excludable[h.id]
                   for h in protocols[:index]):
                reachable = True
                break
        if not reachable:
            out.append(RuleError(where, f"protocol '{protocol.id}' is unreachable: a "
                                 "higher-priority protocol always comes first, or its "
                                 "condition can never be true"))
        for other in protocols[index + 1:]:
            if other.priority != protocol.priority:
                continue
            if any(compiled[protocol.id](env) == Truth.TRUE and compiled[other.id](env)
                   == Truth.TRUE for env in envs):
                out.append(RuleError(where, f"protocols '{protocol.id}' and '{other.id}' "
                                     f"overlap with the same priority {protocol.priority}: the "
                                     "file order decides; give them different priorities"))
    return out


