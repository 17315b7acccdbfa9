"""The educator's step-through: the evaluation one pathway node at a time, in the engine's
order, with what each read and why, in clinical words (the rule set's titles and question
texts, never rule ids or fact names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import Rule
from ionto_cds.language.operators import OPERATORS, effect_text
from ionto_cds.render.pathway.graph import STAGES, BoxKind, Node, Pathway, Status


@dataclass(frozen=True)
class Step:
    """One step of the evaluation: a node, what it read, its result and why.

    ``title``, ``lines``, ``result`` and ``why`` are clinical words; ``reads`` is the engine's
    condition trace (fact names), for rules and protocols; :func:`reading` words it.
    """

    node: Node
    stage: str
    result: str
    why: str
    reads: Mapping[str, Any] | None = None
    title: str = ""
    lines: tuple[str, ...] = ()


_RESULTS = {
    BoxKind.RULE: {Status.TRUE: "applies", Status.FALSE: "does not apply",
                   Status.UNKNOWN: "undecided: an answer it needs is missing"},
    BoxKind.REQUIRED: {Status.TRUE: "required answers are missing",
                       Status.FALSE: "every required question is answered"},
    BoxKind.PROTOCOL: {Status.TRUE: "matches", Status.FALSE: "does not match",
                       Status.UNKNOWN: "undecided", Status.TAKEN: "on the path"},
    BoxKind.DECISION: {Status.TAKEN: "reached"},
    BoxKind.DOSE: {Status.TAKEN: "worked out"},
}
_RESULTS[BoxKind.STEERING] = _RESULTS[BoxKind.RULE]
_DOSE_WHY = {
    "dose:plan": "The protocol's session, lowered where needed to the tightest limit that applies.",
    "dose:limits": "Every limit the plan was checked against.",
}
_MET = {"true": "met", "false": "not met", "unknown": "undecided"}
_GROUPS = {"all": "all of these", "any": "any of these", "not": "not this"}


def _result(node: Node) -> str:
    symbol = node.status.marker.split(" ", 1)[0]
    words = _RESULTS.get(node.kind, {}).get(node.status, node.status.meaning)
    return f"{symbol} {words}"


def _value_words(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v).replace("_", " ") for v in value) or "none"
    return str(value).strip("[]").replace("_", " ")


def reading(trace: Mapping[str, Any], catalog: FactCatalog, depth: int = 0
            ) -> tuple[tuple[int, str], ...]:
    """A condition trace in words, one (depth, line) per part: 'Implanted cardiac pacemaker:
    looks for yes; answer yes \u2192 met'."""
    if "fact" in trace:
        op = OPERATORS[trace["op"]]
        label = catalog[trace["fact"]].label
        if op.reads_presence:
            wanted = "an answer" if trace["expected"] in (True, "true") else "no answer"
        elif op.name == "is":
            wanted = _value_words(trace["expected"] in (True, "true"))
        else:
            wanted = f"{op.words.removeprefix('is ')} {_value_words(trace['expected'])}"
        seen = "unanswered" if trace["seen"] is None else _value_words(trace["seen"])
        return ((depth, f"{label}: looks for {wanted}; answer {seen} \u2192 "
                        f"{_MET.get(trace['result'], trace['result'])}"),)
    head = (depth, f"{_GROUPS[trace['op']].capitalize()} \u2192 "
                   f"{_MET.get(trace['result'], trace['result'])}")
    parts = tuple(line for p in trace.get("parts", ()) for line in reading(p, catalog, depth + 1))
    return (head, *parts)


def _rule_lines(rule: Rule) -> tuple[str, ...]:
    return tuple(effect_text(name, value) for name, value in rule.effect.items())


def _step(rs: RuleSet, assessment: Assessment, node: Node, stage: str) -> Step:
    reads: Mapping[str, Any] | None = None
    why, lines = node.note, node.lines
    if node.rule_id is not None:
        rule = rs.by_id[node.rule_id]
        reads = assessment.rule_trace(rule.id)
        why, lines = rule.rationale, _rule_lines(rule)
        if node.status is Status.TRUE and rule.action:
            why += f"\n\nWhat to do: {rule.action}"
    elif node.protocol_id is not None:
        protocol = next(p for p in rs.protocols if p.id == node.protocol_id)
        reads = assessment.protocol_trace(protocol)
        why = node.note or protocol.summary
        lines = (f"priority {protocol.priority} \u00b7 "
                 f"{(protocol.drug or protocol.modality).replace('_', ' ')}",)
    elif node.kind is BoxKind.REQUIRED:
        why = "The assessment cannot be made without these answers."
    elif node.kind is BoxKind.DECISION:
        missing = ", ".join(rs.catalog[n].label for n in assessment.missing)
        why = (f"{node.note}." if node.note else "") + (
            f" Still to ask: {missing}." if missing and node.note == "outcome" else "")
    elif node.kind is BoxKind.DOSE:
        why = _DOSE_WHY.get(node.id, "; ".join(node.lines))
    result = _result(node)
    if node.note and node.kind in (BoxKind.PROTOCOL, BoxKind.DECISION) \
            and node.note not in result:
        result += f" ({node.note})"
    return Step(node, stage, result, why.strip(), reads, node.title, lines)


def evaluation_steps(pathway: Pathway, assessment: Assessment) -> tuple[Step, ...]:
    """The evaluation one node at a time, in the engine's order, skipping what it never reached.

    ``pathway`` must have been built for ``assessment``.
    """
    rs = assessment.ruleset
    stage_titles = dict(STAGES)
    steps: list[Step] = []
    for node in pathway.nodes:
        if node.status in (Status.NOT_REACHED, Status.NEUTRAL) or node.kind is BoxKind.FACTS:
            continue
        stage = next(g.stage for g in pathway.groups if node.id in g.nodes)
        steps.append(_step(rs, assessment, node, stage_titles[stage]))
    return tuple(steps)
