"""The educator's step-through: the evaluation one pathway node at a time, in the engine's
order, with what each read and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds.engine.assessment import Assessment
from ionto_cds.render.pathway.graph import STAGES, BoxKind, Node, Pathway, Status


@dataclass(frozen=True)
class Step:
    """One step of the evaluation: a node, what it read, its result and why."""

    node: Node
    stage: str
    result: str
    why: str
    reads: Mapping[str, Any] | None = None  # the condition trace, for rules and protocols


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
        reads: Mapping[str, Any] | None = None
        why = node.note
        if node.rule_id is not None:
            rule = rs.by_id[node.rule_id]
            reads = assessment.rule_trace(rule.id)
            why = rule.rationale
            if node.status is Status.TRUE and rule.action:
                why += f"\n\nWhat to do: {rule.action}"
        elif node.protocol_id is not None:
            protocol = next(p for p in rs.protocols if p.id == node.protocol_id)
            reads = assessment.protocol_trace(protocol)
            why = node.note or protocol.summary
        elif node.kind is BoxKind.REQUIRED:
            why = "The assessment cannot be made without these answers."
        elif node.kind is BoxKind.DECISION:
            why = (f"{node.note}." if node.note else "") + (
                f" Missing: {', '.join(assessment.missing)}." if assessment.missing and
                node.note == "outcome" else "")
        elif node.kind is BoxKind.DOSE:
            why = "; ".join(node.lines)
        result = node.status.marker
        if node.note and node.kind in (BoxKind.PROTOCOL, BoxKind.DECISION):
            result += f" ({node.note})"
        steps.append(Step(node, stage_titles[stage], result, why.strip(), reads))
    return tuple(steps)
