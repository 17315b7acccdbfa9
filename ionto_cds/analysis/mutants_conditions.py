"""Mutants of one condition (a rule's or protocol's ``when``, an ``asked_when``, a derived
case): parts dropped, a ``not`` unwrapped, list values dropped, thresholds moved, operators
flipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ionto_cds.analysis.mutants_edit import DELETE, Mutant, Step, located_map
from ionto_cds.analysis.mutants_values import said, shown, threshold_changes
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line

FLIPS = {"eq": "ne", "ne": "eq"}
"""Operators that say the opposite."""
BOUNDARIES = {"lt": "le", "le": "lt", "gt": "ge", "ge": "gt"}
"""Comparisons that differ only at the threshold itself."""
THRESHOLDS = ("lt", "le", "gt", "ge", "eq", "ne")
FLAGS = ("is", "known")
LISTS = ("in", "contains_any")


def condition_mutants(file: str, node: Any, path: tuple[Step, ...], owner: str
                      ) -> Iterator[Mutant]:
    """Every mutant of the condition at ``path`` (``owner`` says whose it is, e.g.
    "rule pacemaker: condition")."""
    if not isinstance(node, LocatedMap):
        return
    if "fact" in node:
        yield from _leaf(file, node, path, owner)
        return
    for kind in ("all", "any"):
        parts = node.get(kind)
        if not isinstance(parts, list):
            continue
        if len(parts) >= 2:
            for i, part in enumerate(parts):
                yield Mutant("condition part dropped", file, item_line(parts, i),
                             f"{owner} part '{said(part)}' dropped from its {kind}-of",
                             (*path, kind, i), DELETE)
        for i, part in enumerate(parts):
            yield from condition_mutants(file, part, (*path, kind, i), owner)
    if "not" in node:
        inner = node["not"]
        yield Mutant("not unwrapped", file, node.line,
                     f"{owner} '{said(node)}' unwrapped to '{said(inner)}'", path, inner)
        yield from condition_mutants(file, inner, (*path, "not"), owner)


def _leaf(file: str, node: LocatedMap, path: tuple[Step, ...], owner: str
          ) -> Iterator[Mutant]:
    ops = [k for k in node if k != "fact"]
    if len(ops) != 1:
        return
    op = ops[0]
    value, line, before = node[op], node.line, said(node)
    if op in FLAGS and isinstance(value, bool):
        after = said(located_map({"fact": node["fact"], op: not value}, node))
        yield Mutant("is flipped", file, line, f"{owner} '{before}' flipped to '{after}'",
                     (*path, op), not value)
    for table, kind in ((FLIPS, "eq/ne flipped"), (BOUNDARIES, "boundary")):
        if op in table:
            swapped = located_map({("fact" if k == "fact" else table[op]): v
                                   for k, v in node.items()}, node)
            swapped.key_lines[table[op]] = key_line(node, op) or line
            yield Mutant(kind, file, line, f"{owner} '{before}' changed to '{said(swapped)}'",
                         path, swapped)
    if op in LISTS and isinstance(value, list) and len(value) >= 2:
        for i, item in enumerate(value):
            yield Mutant("list value dropped", file, line,
                         f"{owner} '{before}' without {shown(item)}", (*path, op, i), DELETE)
    if op in THRESHOLDS:
        for new, change in threshold_changes(value):
            yield Mutant("threshold", file, line,
                         f"{owner} '{before}': threshold {shown(value)} {change}",
                         (*path, op), new)
