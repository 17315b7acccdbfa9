"""The rule set compiled once into a program that every evaluator interprets.

Every distinct sub-condition (by value: two rules that both test ``site in [palms, soles]``
share it) becomes one :class:`Node`, numbered so that a node's parts come before it. The
program also fixes, once, the groups the decision policy reads: the general rules by severity,
each protocol's steering rules, the rules whose effect caps a plan, the required facts and the
applicability (``asked_when``) of each question, in catalog order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import AllOf, Condition, Leaf, Not, Rule, Severity
from ionto_cds.language.treatment import Protocol

AREA_FACT = "electrode_area"
"""The fact (fixed vocabulary) that holds the active-electrode area plans are made for."""


class NodeKind(IntEnum):
    """What a program node computes from its parts."""

    LEAF = 0
    ALL = 1
    ANY = 2
    NOT = 3


@dataclass(frozen=True)
class Node:
    """One distinct condition of the rule set: a leaf test, or a combinator over parts."""

    id: int
    kind: NodeKind
    parts: tuple[int, ...] = ()
    leaf: Leaf | None = None


@dataclass(frozen=True)
class Derivation:
    """How a derived fact is worked out: (case node, value) in order, and the value when no
    case is true (None: unknown)."""

    fact: str
    cases: tuple[tuple[int, Any], ...]
    otherwise: Any


@dataclass(frozen=True)
class Gate:
    """When a question is asked: false at ``node`` means it is not. ``keeps_answer``: an
    answer given anyway still counts (``ask_only_when``); else the question cannot apply
    (``asked_when``) and a yes to it is refused at input."""

    fact: str
    node: int
    keeps_answer: bool = False


@dataclass(frozen=True)
class Steering:
    """The rules that steer one protocol: its modality's and its drug's."""

    absolute: tuple[Rule, ...]
    soft: tuple[Rule, ...]
    absolute_nodes: tuple[int, ...]
    soft_nodes: tuple[int, ...]

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every steering rule of the protocol, absolute first, each in file order."""
        return (*self.absolute, *self.soft)


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled rule set: the node list and the groups the decision policy reads (compared
    and hashed by identity: one program per loaded rule set)."""

    catalog: FactCatalog
    nodes: tuple[Node, ...]
    rules: tuple[Rule, ...]
    protocols: tuple[Protocol, ...]
    rule_node: Mapping[str, int]
    protocol_node: tuple[int, ...]
    general: tuple[Rule, ...]
    general_absolute: tuple[Rule, ...]
    general_soft: tuple[Rule, ...]
    general_absolute_nodes: tuple[int, ...]
    general_soft_nodes: tuple[int, ...]
    steering: tuple[Steering, ...]
    caps: tuple[tuple[Rule, ...], ...]
    asked_when: tuple[tuple[str, int], ...]
    prepare: tuple[Gate | Derivation, ...]
    """In catalog order, every question's applicability and every derived fact: each reads
    only facts before it, so one pass in this order prepares a patient's answers."""
    required: tuple[str, ...]
    cap_nodes: tuple[tuple[int, ...], ...]
    gates: Mapping[str, int]
    rank: Mapping[str, int]
    """Each rule's severity rank (0 absolute, 1 relative, 2 precaution), by rule id."""
    _index: Mapping[Condition, int] = field(repr=False, compare=False)

    def node_of(self, condition: Condition) -> int:
        """The node id of a condition of this rule set."""
        return self._index[condition]

    def protocol_index(self, protocol_id: str) -> int | None:
        """The position of a protocol in priority order, or None."""
        return next((k for k, p in enumerate(self.protocols) if p.id == protocol_id), None)


class _Compiler:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.index: dict[Condition, int] = {}

    def add(self, condition: Condition) -> int:
        found = self.index.get(condition)
        if found is not None:
            return found
        if isinstance(condition, Leaf):
            node = Node(len(self.nodes), NodeKind.LEAF, leaf=condition)
        elif isinstance(condition, Not):
            part = self.add(condition.part)
            node = Node(len(self.nodes), NodeKind.NOT, (part,))
        else:
            parts = tuple(self.add(p) for p in condition.parts)
            kind = NodeKind.ALL if isinstance(condition, AllOf) else NodeKind.ANY
            node = Node(len(self.nodes), kind, parts)
        self.nodes.append(node)
        self.index[condition] = node.id
        return node.id


def _steering(rules: Iterable[Rule], protocol: Protocol, node: Mapping[str, int]) -> Steering:
    targets = protocol.targets()
    mine = [r for r in rules if not r.is_general and r.applies_to & targets]
    absolute = tuple(r for r in mine if r.severity is Severity.ABSOLUTE)
    soft = tuple(r for r in mine if r.severity is not Severity.ABSOLUTE)
    return Steering(absolute, soft, tuple(node[r.id] for r in absolute),
                    tuple(node[r.id] for r in soft))


def compile_program(catalog: FactCatalog, rules: tuple[Rule, ...],
                    protocols: tuple[Protocol, ...]) -> Program:
    """Compile a checked rule set (rules in file order, protocols by priority) once."""
    compiler = _Compiler()
    asked = tuple((f.name, compiler.add(f.asked_when)) for f in catalog
                  if f.asked_when is not None)
    prepare: list[Gate | Derivation] = []
    gates: dict[str, int] = {}
    for f in catalog:
        if f.is_derived:
            prepare.append(Derivation(f.name, tuple((compiler.add(c.when), c.value)
                                                    for c in f.derived), f.otherwise))
            continue
        if f.asked_when is not None:
            prepare.append(Gate(f.name, compiler.add(f.asked_when)))
        if f.ask_only_when is not None:
            prepare.append(Gate(f.name, compiler.add(f.ask_only_when), keeps_answer=True))
        conditions = catalog.gate_conditions(f.name)
        if conditions:
            gates[f.name] = compiler.add(conditions[0] if len(conditions) == 1
                                         else AllOf(conditions))
    rule_node = {r.id: compiler.add(r.when) for r in rules}
    protocol_node = tuple(compiler.add(p.when) for p in protocols)
    general = tuple(r for r in rules if r.is_general)
    steering = tuple(_steering(rules, p, rule_node) for p in protocols)
    absolute = tuple(r for r in general if r.severity is Severity.ABSOLUTE)
    soft = tuple(r for r in general if r.severity is not Severity.ABSOLUTE)
    # The rules whose effect may cap a plan of a protocol: the general rules with an effect,
    # then the protocol's own relative and precaution rules with an effect.
    caps = tuple((*(r for r in general if r.effect), *(r for r in s.soft if r.effect))
                 for s in steering)
    return Program(
        catalog=catalog,
        nodes=tuple(compiler.nodes),
        rules=rules,
        protocols=protocols,
        rule_node=rule_node,
        protocol_node=protocol_node,
        general=general,
        general_absolute=absolute,
        general_soft=soft,
        general_absolute_nodes=tuple(rule_node[r.id] for r in absolute),
        general_soft_nodes=tuple(rule_node[r.id] for r in soft),
        steering=steering,
        caps=caps,
        asked_when=asked,
        prepare=tuple(prepare),
        required=catalog.required,
        cap_nodes=tuple(tuple(rule_node[r.id] for r in rules_) for rules_ in caps),
        gates=gates,
        rank={r.id: r.severity.rank for r in rules},
        _index=compiler.index,
    )


def single_condition(condition: Condition) -> tuple[Program, int]:
    """A program of one condition alone (for lint and one-off evaluation) and its root node."""
    compiler = _Compiler()
    root = compiler.add(condition)
    empty = FactCatalog({}, ())
    return Program(catalog=empty, nodes=tuple(compiler.nodes), rules=(), protocols=(),
                   rule_node={}, protocol_node=(), general=(), general_absolute=(),
                   general_soft=(), general_absolute_nodes=(), general_soft_nodes=(),
                   steering=(), caps=(), asked_when=(), prepare=(), required=(), cap_nodes=(),
                   gates={}, rank={}, _index=compiler.index), root
