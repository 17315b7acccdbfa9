"""The decision-pathway graph: nodes, edges and groups in five stages, left to right.

answers -> contraindication screen (the general rules, grouped by severity) -> decision ->
protocol choice (in priority order, each protocol with its drug- and modality-specific rules)
-> dose and limits. The graph is built from the loaded rule set (:mod:`.build`), so a rule
edit changes it; it is drawn apart from this model (:mod:`.svg`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ionto_cds.language.model import Severity, Truth


class Status(StrEnum):
    """How a node stands on one patient's path."""

    TRUE = "true"  # a rule that applies
    FALSE = "false"  # a rule that does not apply; a protocol that does not match
    UNKNOWN = "unknown"  # a rule or protocol undecided for want of an answer
    NOT_REACHED = "not_reached"  # the evaluation never got there
    TAKEN = "taken"  # a stage the path passes through (decision, protocol, plan)
    NEUTRAL = "neutral"  # no patient: nothing is highlighted

    @property
    def marker(self) -> str:
        """The text marker that says the status without colour."""
        return _MARKERS[self]

    @property
    def meaning(self) -> str:
        """What the status means, for the legend."""
        return _MEANINGS[self]


_MARKERS = {
    Status.TRUE: "\u2714 TRUE",
    Status.FALSE: "\u2717 false",
    Status.UNKNOWN: "? UNKNOWN",
    Status.NOT_REACHED: "\u2013 not reached",
    Status.TAKEN: "\u279c on the path",
    Status.NEUTRAL: "",
}
_MEANINGS = {
    Status.TRUE: "rule applies",
    Status.FALSE: "rule does not apply / protocol does not match",
    Status.UNKNOWN: "undecided: an answer is missing",
    Status.NOT_REACHED: "not evaluated on this path",
    Status.TAKEN: "stage the patient passes through",
    Status.NEUTRAL: "no patient loaded",
}
TRUTH_STATUS = {Truth.TRUE: Status.TRUE, Truth.FALSE: Status.FALSE,
                 Truth.UNKNOWN: Status.UNKNOWN}

SEVERITY_HEADINGS = {
    Severity.ABSOLUTE: "Absolute contraindications",
    Severity.RELATIVE: "Relative contraindications",
    Severity.PRECAUTION: "Precautions",
}
STAGES = (
    ("answers", "1 Answers"),
    ("screen", "2 Contraindication screen"),
    ("decision", "3 Decision"),
    ("protocols", "4 Protocol choice (highest priority first)"),
    ("dose", "5 Dose and limits"),
)


class BoxKind(StrEnum):
    """What a box of the pathway shows."""

    FACTS = "facts"
    REQUIRED = "required"
    RULE = "rule"
    DECISION = "decision"
    PROTOCOL = "protocol"
    STEERING = "steering"
    DOSE = "dose"


@dataclass(frozen=True)
class Node:
    """One box of the pathway: a fact group, a rule, a decision, a protocol, a plan."""

    id: str
    kind: BoxKind
    title: str
    group: str
    lines: tuple[str, ...] = ()
    status: Status = Status.NEUTRAL
    note: str = ""
    rule_id: str | None = None
    protocol_id: str | None = None


@dataclass(frozen=True)
class Edge:
    """An arrow between nodes or groups; ``taken`` is None when no patient is shown."""

    source: str
    target: str
    label: str = ""
    taken: bool | None = None
    back: bool = False  # drawn right-to-left (the protocol stage revising the decision)


@dataclass(frozen=True)
class Group:
    """A frame around nodes: a stage, a severity class, one protocol with its rules."""

    id: str
    title: str
    stage: str
    nodes: tuple[str, ...]
    parent: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class Pathway:
    """The decision pathway of one rule set, optionally with one patient's path marked."""

    title: str
    ruleset_version: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]
    highlighted: bool = False
    _index: Mapping[str, Node] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n.id: n for n in self.nodes})

    def node(self, node_id: str) -> Node:
        """A node by id."""
        return self._index[node_id]

    def group(self, group_id: str) -> Group:
        """A group by id."""
        return next(g for g in self.groups if g.id == group_id)

    def in_stage(self, stage: str) -> tuple[Node, ...]:
        """The nodes of one stage, in drawing order."""
        ids = {n for g in self.groups if g.stage == stage for n in g.nodes}
        return tuple(n for n in self.nodes if n.id in ids)
