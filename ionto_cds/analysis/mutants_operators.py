"""The mutation operators: every semantic mutant of a rule set's parsed documents.

Each operator is in one place: the number tables below (what is halved and doubled, or stepped
by one, and how it is said), the rule, protocol and fact walkers for the operators that change
structure, and :mod:`~ionto_cds.analysis.mutants_conditions` for conditions. A mutant is one
edit; whether it still loads is for the loader to say.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ionto_cds.analysis.mutants_conditions import condition_mutants
from ionto_cds.analysis.mutants_edit import DELETE, Mutant, Step, located_map
from ionto_cds.analysis.mutants_values import SCALE, STEP, changed_numbers, said, shown
from ionto_cds.language.loader import DRUGS_FILE, PROTOCOLS_FILE, REFERENCES_FILE
from ionto_cds.language.model import ALL_MODALITIES, Severity
from ionto_cds.language.packaged import FACTS_FILE
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line

Numbers = tuple[tuple[str, tuple[str, ...], str, str], ...]
"""(operator class, path in the entry, what it is in words, SCALE or STEP)."""

PROTOCOL_NUMBERS: Numbers = (
    ("protocol parameter", ("parameters", "current"), "planned current", SCALE),
    ("protocol parameter", ("parameters", "current_range", "min"), "minimum current", SCALE),
    ("protocol parameter", ("parameters", "current_range", "max"), "top of the current range",
     SCALE),
    ("protocol parameter", ("parameters", "duration"), "duration", SCALE),
    ("protocol parameter", ("parameters", "target_dose"), "target dose", SCALE),
    ("protocol parameter", ("parameters", "electrode_area"), "default electrode area", SCALE),
    ("protocol limit", ("limits", "max_current"), "maximum current", SCALE),
    ("protocol limit", ("limits", "max_dose"), "maximum dose", SCALE),
    ("protocol limit", ("limits", "max_current_density"), "maximum current density", SCALE),
    ("schedule", ("schedule", "induction", "sessions_per_week"), "sessions per week", SCALE),
    ("schedule", ("schedule", "induction", "sessions"), "induction sessions", SCALE),
    ("schedule", ("schedule", "judge_response", "after_sessions"),
     "sessions before response is judged", SCALE),
    ("schedule", ("schedule", "min_interval"), "minimum interval", SCALE),
)
VARIANT_NUMBERS: Numbers = (
    ("variant", ("current",), "current", SCALE),
    ("variant", ("current_range", "min"), "minimum current", SCALE),
    ("variant", ("current_range", "max"), "top of the current range", SCALE),
)
DRUG_NUMBERS: Numbers = (
    ("drug number", ("dose", "min"), "minimum dose", SCALE),
    ("drug number", ("dose", "max"), "maximum dose", SCALE),
    ("drug number", ("max_current",), "maximum current", SCALE),
    ("drug number", ("valence",), "valence", STEP),
    ("drug number", ("molar_mass",), "molar mass", SCALE),
)
FACT_NUMBERS: Numbers = (
    ("fact range", ("min",), "smallest answer allowed", SCALE),
    ("fact range", ("max",), "largest answer allowed", SCALE),
)
EFFECT_NUMBERS: Numbers = tuple(
    ("rule cap", ("effect", "set", name), f"cap on {name.replace('_', ' ')}", SCALE)
    for name in ("max_current", "max_dose", "max_current_density"))
SEVERITIES = tuple(s.value for s in Severity)
QUESTION_GATES = ("asked_when", "ask_only_when")
"""A fact's conditions on whether it is asked: each dropped (always asked) and negated."""


def generate(documents: Mapping[str, Any]) -> list[Mutant]:
    """Every mutant of the documents, in file order, each edit once."""
    drugs_doc = documents.get(DRUGS_FILE)
    drug_keys = tuple(drugs_doc["drugs"]) if isinstance(drugs_doc, LocatedMap) and isinstance(
        drugs_doc.get("drugs"), LocatedMap) else ()
    found: list[Mutant] = []
    for file in sorted(documents):
        doc = documents[file]
        if not isinstance(doc, LocatedMap) or file == REFERENCES_FILE:
            continue
        if file == FACTS_FILE:
            found += _facts(file, doc)
        elif file == PROTOCOLS_FILE:
            found += _protocols(file, doc)
        else:
            found += _drugs(file, doc) if file == DRUGS_FILE else []
            found += _rules(file, doc, drug_keys)
    seen: set[tuple[str, tuple[Step, ...], str]] = set()
    unique = []
    for mutant in found:
        key = (mutant.file, mutant.path, repr(mutant.value))
        if key not in seen:
            seen.add(key)
            unique.append(mutant)
    return unique


def _entries(doc: LocatedMap, key: str) -> Iterator[tuple[tuple[Step, ...], LocatedMap]]:
    """The mapping entries of a list (rules, protocols) or a mapping (drugs, facts) under key."""
    items = doc.get(key)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, LocatedMap):
                yield (key, i), item
    elif isinstance(items, LocatedMap):
        for name, item in items.items():
            if isinstance(item, LocatedMap):
                yield (key, name), item


def _numbers(file: str, entry: LocatedMap, path: tuple[Step, ...], owner: str,
             table: Numbers) -> Iterator[Mutant]:
    for operator, where, words, how in table:
        parent: Any = entry
        for step in where[:-1]:
            parent = parent.get(step) if isinstance(parent, LocatedMap) else None
        if not isinstance(parent, LocatedMap) or where[-1] not in parent:
            continue
        value = parent[where[-1]]
        for new, verb in changed_numbers(value, how):
            yield Mutant(operator, file, key_line(parent, where[-1]),
                         f"{owner}: {words} {shown(value)} {verb} to {shown(new)}",
                         (*path, *where), new)


def _rules(file: str, doc: LocatedMap, drug_keys: tuple[str, ...]) -> Iterator[Mutant]:
    for path, rule in _entries(doc, "rules"):
        owner = f"rule {rule.get('id')}"
        severity = rule.get("severity")
        for other in SEVERITIES:
            if severity in SEVERITIES and other != severity:
                yield Mutant("severity", file, key_line(rule, "severity"),
                             f"{owner}: severity {severity} changed to {other}",
                             (*path, "severity"), other)
        yield from _applies_to(file, rule, path, owner, drug_keys)
        yield from condition_mutants(file, rule.get("when"), (*path, "when"),
                                     f"{owner}: condition")
        yield from _numbers(file, rule, path, owner, EFFECT_NUMBERS)


def _applies_to(file: str, rule: LocatedMap, path: tuple[Step, ...], owner: str,
                drug_keys: tuple[str, ...]) -> Iterator[Mutant]:
    """Each target dropped (the modality pair narrowed to one), and swapped for the next
    target of its kind (the other modality, the next drug of drugs.yaml)."""
    targets = rule.get("applies_to")
    if not isinstance(targets, list):
        return
    modalities = tuple(sorted(ALL_MODALITIES))
    for i, target in enumerate(targets):
        line = item_line(targets, i)
        if len(targets) >= 2:
            rest = " and ".join(str(t) for j, t in enumerate(targets) if j != i)
            yield Mutant("applies_to", file, line, f"{owner}: applies to {rest} only, no "
                         f"longer to {target}", (*path, "applies_to", i), DELETE)
        kind = modalities if target in modalities else drug_keys
        if target in kind and len(kind) >= 2:
            other = kind[(kind.index(target) + 1) % len(kind)]
            if other not in targets:
                yield Mutant("applies_to", file, line, f"{owner}: applies to {other} instead "
                             f"of {target}", (*path, "applies_to", i), other)


def _protocols(file: str, doc: LocatedMap) -> Iterator[Mutant]:
    limits = doc.get("limits")
    densities = limits.get("max_current_density") if isinstance(limits, LocatedMap) else None
    if isinstance(densities, LocatedMap):
        table = tuple(("global limit", (polarity,), f"{polarity} current-density limit", SCALE)
                      for polarity in densities)
        yield from _numbers(file, densities, ("limits", "max_current_density"), "limits", table)
    entries = list(_entries(doc, "protocols"))
    for path, protocol in entries:
        owner = f"protocol {protocol.get('id')}"
        yield from _priority(file, protocol, path, owner, [p for _, p in entries])
        yield from condition_mutants(file, protocol.get("when"), (*path, "when"),
                                     f"{owner}: condition")
        yield from _numbers(file, protocol, path, owner, PROTOCOL_NUMBERS)
        parameters = protocol.get("parameters")
        variants = parameters.get("variants") if isinstance(parameters, LocatedMap) else None
        for name, variant in (variants or {}).items():
            if isinstance(variant, LocatedMap):
                yield from _numbers(file, variant, (*path, "parameters", "variants", name),
                                    f"{owner}: variant {name}", VARIANT_NUMBERS)
        requires = protocol.get("requires")
        for i, fact in enumerate(requires if isinstance(requires, list) else []):
            yield Mutant("requires dropped", file, item_line(requires, i),
                         f"{owner}: no longer requires {fact}", (*path, "requires", i), DELETE)


def _priority(file: str, protocol: LocatedMap, path: tuple[Step, ...], owner: str,
              protocols: list[LocatedMap]) -> Iterator[Mutant]:
    """The priority moved just below the next lower one: tried after that protocol."""
    mine = protocol.get("priority")
    if isinstance(mine, bool) or not isinstance(mine, int):
        return
    lower = [(p["priority"], str(p.get("id"))) for p in protocols
             if isinstance(p.get("priority"), int) and not isinstance(p.get("priority"), bool)
             and p["priority"] < mine]
    if lower:
        below, name = max(lower, key=lambda pair: pair[0])
        yield Mutant("priority", file, key_line(protocol, "priority"),
                     f"{owner}: priority {mine} moved below {name} ({below}), to {below - 1}: "
                     "tried after it", (*path, "priority"), below - 1)


def _drugs(file: str, doc: LocatedMap) -> Iterator[Mutant]:
    for path, drug in _entries(doc, "drugs"):
        yield from _numbers(file, drug, path, f"drug {path[-1]}", DRUG_NUMBERS)


def _facts(file: str, doc: LocatedMap) -> Iterator[Mutant]:
    for path, fact in _entries(doc, "facts"):
        owner = f"fact {path[-1]}"
        yield from _numbers(file, fact, path, owner, FACT_NUMBERS)
        for gate in QUESTION_GATES:
            if gate not in fact:
                continue
            condition, line = fact[gate], key_line(fact, gate)
            yield Mutant(f"{gate} dropped", file, line,
                         f"{owner}: {gate} '{said(condition)}' dropped: always asked",
                         (*path, gate), DELETE)
            yield Mutant(f"{gate} negated", file, line,
                         f"{owner}: {gate} '{said(condition)}' negated",
                         (*path, gate), located_map({"not": condition}, condition))
            yield from condition_mutants(file, condition, (*path, gate), f"{owner}: {gate}")
        derived = fact.get("derived")
        if isinstance(derived, list):
            yield from _derived(file, derived, path, owner)
        elif "otherwise" not in fact:
            required = fact.get("required", False)
            yield Mutant("required flipped", file, key_line(fact, "required"),
                         f"{owner}: {'no longer' if required else 'now'} required",
                         (*path, "required"), not required)


def _derived(file: str, cases: list[Any], path: tuple[Step, ...], owner: str
             ) -> Iterator[Mutant]:
    for i, case in enumerate(cases):
        if not isinstance(case, LocatedMap):
            continue
        gives = shown(case.get("value"))
        words = f"derived case {i + 1} ('{said(case.get('when'))}' gives {gives})"
        if len(cases) >= 2:
            yield Mutant("derived case dropped", file, item_line(cases, i),
                         f"{owner}: {words} dropped", (*path, "derived", i), DELETE)
        yield from condition_mutants(file, case.get("when"), (*path, "derived", i, "when"),
                                     f"{owner}: derived case {i + 1}")
