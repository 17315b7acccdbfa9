"""Rules -> decision-pathway graph, built from the loaded RuleSet, with a patient's path marked.

The graph has five stages, left to right: answers -> contraindication screen (the general
rules, grouped by severity) -> decision -> protocol choice (in priority order, each protocol
with its drug- and modality-specific rules) -> dose and limits. Nothing is drawn by hand: a
rule edit changes the graph. The model here is kept apart from its SVG rendering
(:mod:`ionto_cds.render.pathway.svg`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ionto_cds.engine.assessment import Assessment, ProtocolStep
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation.outcomes import Basis, Decision, StepOutcome
from ionto_cds.evaluation.policy import DECISION_TABLE, WALK_AFTER, Reason
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Rule, Severity, Truth
from ionto_cds.language.operators import describe
from ionto_cds.units import pretty_quantity


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
_TRUTH_STATUS = {Truth.TRUE: Status.TRUE, Truth.FALSE: Status.FALSE,
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


@dataclass(frozen=True)
class Node:
    """One box of the pathway: a fact group, a rule, a decision, a protocol, a plan."""

    id: str
    kind: str  # facts | required | rule | decision | protocol | steering | dose
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


# --- building ----------------------------------------------------------------------------

def _show(fact: FactDef, value: Any) -> str:
    if value is NOT_APPLICABLE:
        return "n/a"
    shown = fact.show(value)
    if isinstance(shown, bool):
        return "yes" if shown else "no"
    if isinstance(shown, list):
        return ", ".join(shown) if shown else "none"
    return str(shown).replace("_", " ")


def _answer_nodes(rs: RuleSet, a: Assessment | None) -> list[Node]:
    nodes = []
    for group in rs.catalog.groups:
        facts = rs.catalog.in_group(group.id)
        if not facts:
            continue
        if a is None:
            lines = tuple(f.name for f in facts)
            status = Status.NEUTRAL
        else:
            env = a.factset.env
            answered = [f for f in facts if env.get(f.name, UNKNOWN) is not UNKNOWN]
            lines = tuple(f"{f.name} = {_show(f, env[f.name])}" for f in answered)
            open_count = len(facts) - len(answered)
            if open_count:
                lines += (f"({open_count} unanswered)",)
            status = Status.TAKEN
        nodes.append(Node(f"facts:{group.id}", "facts", group.label, "answers", lines, status))
    return nodes


def _rule_lines(rule: Rule) -> tuple[str, ...]:
    lines = [f"when {describe(rule.when)}"]
    for name, value in rule.effect.items():
        shown = pretty_quantity(value) if hasattr(value, "magnitude") else str(value)
        lines.append(f"caps {name.replace('_', ' ')} at {shown}")
    return tuple(lines)


def screen_decision(a: Assessment) -> Decision:
    """The decision as the contraindication screen left it, before protocol choice."""
    return a.screen_decision or a.decision


def _chosen_id(a: Assessment) -> str | None:
    if a.protocol is not None:
        return a.protocol.protocol.id
    return a.referral.id if a.referral is not None else None


def _steps(a: Assessment) -> dict[str, ProtocolStep]:
    """The engine's own record of the protocol walk, by protocol id."""
    return {step.protocol: step for step in a.protocol_walk}


def build_pathway(rs: RuleSet, assessment: Assessment | None = None,
                  title: str | None = None) -> Pathway:
    """The decision pathway of ``rs``; with an assessment, that patient's path is marked."""
    a = assessment
    env: Mapping[str, Any] = a.factset.env if a is not None else {}
    nodes: list[Node] = []
    edges: list[Edge] = []
    groups: list[Group] = []

    # 1 answers
    answer_nodes = _answer_nodes(rs, a)
    nodes += answer_nodes
    groups.append(Group("answers", "Answers" if a is not None else "Questions by section",
                        "answers", tuple(n.id for n in answer_nodes)))

    # 2 screen: required answers, then the general rules by severity
    screen = screen_decision(a) if a is not None else None
    sub_ids: list[str] = []
    if rs.required:
        missing_required = [n for n in rs.required if env.get(n, UNKNOWN) is UNKNOWN]
        status = Status.NEUTRAL if a is None else (
            Status.TRUE if missing_required else Status.FALSE)
        lines = tuple(f"{n} unanswered" for n in rs.required)
        nodes.append(Node("required", "required", "A required answer is missing", "screen:required",
                          lines, status))
        groups.append(Group("screen:required", "Required answers", "screen", ("required",),
                            parent="screen"))
        sub_ids.append("screen:required")
    for severity in Severity:
        rules = [r for r in rs.general if r.severity is severity]
        if not rules:
            continue
        gid = f"screen:{severity.value}"
        ids = []
        for rule in rules:
            status = Status.NEUTRAL if a is None else _TRUTH_STATUS[a.rule_truth(rule.id)]
            nid = f"rule:{rule.id}"
            ids.append(nid)
            nodes.append(Node(nid, "rule", rule.title, gid, _rule_lines(rule), status,
                              rule_id=rule.id))
        groups.append(Group(gid, f"{SEVERITY_HEADINGS[severity]} ({len(rules)})", "screen",
                            tuple(ids), parent="screen", severity=severity))
        sub_ids.append(gid)
    groups.append(Group("screen", "Rules for every modality",
                        "screen", ()))

    # 3 decision
    final = a.decision if a is not None else None
    decision_ids = []
    for decision in Decision:
        status = Status.NEUTRAL
        note = ""
        if a is not None:
            on_path = decision in (final, screen)
            status = Status.TAKEN if on_path else Status.NOT_REACHED
            if decision is final:
                note = "outcome"
            elif decision is screen:
                note = "after the screen; revised by protocol choice"
        lines = ("a treatment plan follows",) if decision.allows_treatment else ()
        nid = f"decision:{decision.value}"
        decision_ids.append(nid)
        nodes.append(Node(nid, "decision", decision.words, "decision", lines, status, note))
    groups.append(Group("decision", "Decision", "decision", tuple(decision_ids)))

    def taken(condition: bool) -> bool | None:
        return None if a is None else condition

    edges.append(Edge("answers", "screen", "every rule reads the answers", taken(True)))
    edges += _table_edges(rs, a, nodes)

    # 4 protocols
    steps = _steps(a) if a is not None else {}
    chosen = _chosen_id(a) if a is not None else None
    protocol_groups: list[str] = []
    for index, protocol in enumerate(rs.protocols):
        gid = f"protocol-group:{protocol.id}"
        pid = f"protocol:{protocol.id}"
        kind = protocol.drug or protocol.modality
        lines = (f"priority {protocol.priority} \u00b7 {kind.replace('_', ' ')}",
                 f"when {describe(protocol.when)}")
        p_status, note = Status.NEUTRAL, ""
        when = Truth.FALSE
        step = steps.get(protocol.id)
        reached = step is not None and step.outcome is not StepOutcome.NOT_REACHED
        if a is not None:
            when = rs.protocol_truth(protocol, env)
            outcome = step.outcome if step is not None else StepOutcome.NOT_REACHED
            if not reached:
                p_status = Status.NOT_REACHED
            elif outcome in (StepOutcome.CHOSEN, StepOutcome.REFERRAL):
                p_status, note = Status.TAKEN, "chosen"
            elif outcome is StepOutcome.EXCLUDED_BY_RULE and step is not None:
                p_status, note = Status.FALSE, "excluded by rule " + ", ".join(step.rules)
            elif outcome is StepOutcome.EXCLUDED_BY_LIMIT and step is not None:
                p_status, note = Status.FALSE, f"excluded: {step.reason}"
            elif outcome is StepOutcome.PENDING:
                p_status, note = Status.UNKNOWN, "drug questions first"
            else:
                p_status = _TRUTH_STATUS[when]
                note = "does not match" if when is Truth.FALSE else (
                    "undecided: skipped for now" if when is Truth.UNKNOWN else "")
        nodes.append(Node(pid, "protocol", protocol.title, gid, lines, p_status, note,
                          protocol_id=protocol.id))
        ids = [pid]
        for rule in rs.steering_rules(protocol):
            s_status = Status.NEUTRAL
            if a is not None:
                s_status = (_TRUTH_STATUS[a.rule_truth(rule.id)]
                            if reached and when is Truth.TRUE else Status.NOT_REACHED)
            sid = f"steer:{protocol.id}:{rule.id}"
            ids.append(sid)
            nodes.append(Node(sid, "steering", rule.title, gid,
                              (rule.severity.value, *_rule_lines(rule)), s_status,
                              rule_id=rule.id, protocol_id=protocol.id))
        groups.append(Group(gid, protocol.id, "protocols", tuple(ids), parent="protocols"))
        protocol_groups.append(gid)
        if index + 1 < len(rs.protocols):
            following = steps.get(rs.protocols[index + 1].id)
            edges.append(Edge(gid, f"protocol-group:{rs.protocols[index + 1].id}", "else",
                              taken(following is not None
                                    and following.outcome is not StepOutcome.NOT_REACHED)))
    groups.append(Group("protocols", "Protocols with their drug and modality rules",
                        "protocols", ()))
    allows = screen is not None and screen.allows_treatment
    if rs.protocols:
        for decision in (d for d in Decision if d in WALK_AFTER):
            edges.append(Edge(f"decision:{decision.value}", "protocols", "try protocols",
                              taken(screen is decision)))

    # 5 dose and limits
    nodes += _dose_nodes(rs, a, allows)
    dose_ids = tuple(n.id for n in nodes if n.group == "dose")
    groups.append(Group("dose", "Dose and limits", "dose", dose_ids))
    for protocol in rs.protocols:
        target = "dose:no-plan" if protocol.is_referral else "dose:plan"
        edges.append(Edge(f"protocol:{protocol.id}", target,
                          "refer" if protocol.is_referral else "plan",
                          taken(protocol.id == chosen)))
    if rs.protocols:
        edges.append(Edge(protocol_groups[-1], "dose:no-plan", "none suitable",
                          taken(allows and chosen is None
                                and final is not Decision.NEEDS_INFORMATION)))

    heading = title or (f"Decision pathway \u00b7 rules {rs.version}" if a is None else
                        f"Decision pathway \u00b7 outcome: {a.decision.words}")
    return Pathway(heading, rs.version, tuple(nodes), tuple(edges), tuple(groups),
                   highlighted=a is not None)


def _sources(rs: RuleSet, basis: Basis) -> list[tuple[str, tuple[Severity, ...]]]:
    """The pathway groups a reason of the decision table reads, with their severities."""
    present = {r.severity for r in rs.general}
    if basis is Basis.ABSOLUTE:
        return [("screen:absolute", (Severity.ABSOLUTE,))] if Severity.ABSOLUTE in present else []
    if basis is Basis.SOFT:
        return [(f"screen:{s.value}", (s,)) for s in (Severity.RELATIVE, Severity.PRECAUTION)
                if s in present]
    if basis is Basis.REQUIRED:
        return [("screen:required", ())] if rs.required else []
    if basis is Basis.WALK:
        return [("protocols", ())] if rs.protocols else []
    return [("screen", ())]


def _table_edges(rs: RuleSet, a: Assessment | None, nodes: list[Node]) -> list[Edge]:
    """An edge for each reason of the decision table (the policy's own table), marked taken
    where that reason decided this patient's screen (or, for the walk, the final decision)."""
    edges: list[Edge] = []
    for row in DECISION_TABLE:
        for reason in row.reasons:
            for source, severities in _sources(rs, reason.basis):
                taken = None if a is None else _decided(a, row.decision, reason, nodes,
                                                        severities)
                edges.append(Edge(source, f"decision:{row.decision.value}", reason.edge,
                                  taken, back=reason.basis is Basis.WALK))
    return edges


def _decided(a: Assessment, decision: Decision, reason: Reason, nodes: list[Node],
             severities: tuple[Severity, ...]) -> bool:
    walk = reason.basis is Basis.WALK
    held, outcome = (a.reasons, a.decision) if walk else (a.screen_reasons, a.screen_decision)
    if walk and a.screen_decision is a.decision:
        return False
    if reason not in held or outcome is not decision:
        return False
    if not severities:
        return True
    groups = {f"screen:{s.value}" for s in severities}
    return any(n.status in (Status.TRUE, Status.UNKNOWN) for n in nodes
               if n.kind == "rule" and n.group in groups)


def _dose_nodes(rs: RuleSet, a: Assessment | None, allows: bool) -> list[Node]:
    if a is None:
        density = tuple(f"{polarity}: max {pretty_quantity(q)}"
                        for polarity, q in rs.limits.max_current_density.items())
        caps = tuple(f"{r.id}: {name.replace('_', ' ')} {pretty_quantity(v)}"
                     for r in rs.rules for name, v in r.effect.items())
        return [
            Node("dose:plan", "dose", "Session plan", "dose",
                 ("current \u00d7 duration = dose", "lowered to the tightest limit")),
            Node("dose:limits", "dose", "Limits", "dose",
                 ("protocol and drug maxima", "current density by polarity:", *density,
                  *(("rule caps:", *caps) if caps else ()))),
            Node("dose:no-plan", "dose", "No plan: referral or other treatment", "dose"),
        ]
    plan = a.protocol
    if plan is None:
        reach = Status.TAKEN if allows else Status.NOT_REACHED
        reason: tuple[str, ...] = ()
        if a.referral is not None:
            reason = (f"referral: {a.referral.title}",)
        elif a.no_plan_reason:
            reason = (a.no_plan_reason,)
        return [
            Node("dose:plan", "dose", "Session plan", "dose", (), Status.NOT_REACHED),
            Node("dose:limits", "dose", "Limits", "dose", (), Status.NOT_REACHED),
            Node("dose:no-plan", "dose", "No plan: referral or other treatment", "dose",
                 reason if allows else (), reach if (allows and a.decision is not
                                                     Decision.NEEDS_INFORMATION)
                 else Status.NOT_REACHED),
        ]
    d = plan.to_dict()
    lines = [f"current {d['current']}", f"duration {d['duration']}", f"dose {d['dose']}"]
    if d["current_density"]:
        lines.append(f"density {d['current_density']}")
    if d["electrode_area"]:
        lines.append(f"electrode {d['electrode_area']} ({d['electrode_area_source']})")
    limit_lines = [f"{lim['name'].replace('_', ' ')} {lim['value']} ({lim['source']})"
                   for lim in d["limits"]]
    limit_lines += [f"adjusted: {adj}" for adj in d["adjustments"]]
    return [
        Node("dose:plan", "dose", f"Session plan: {d['title']}", "dose", tuple(lines),
             Status.TAKEN),
        Node("dose:limits", "dose", "Limits applied", "dose", tuple(limit_lines), Status.TAKEN),
        Node("dose:no-plan", "dose", "No plan: referral or other treatment", "dose", (),
             Status.NOT_REACHED),
    ]
