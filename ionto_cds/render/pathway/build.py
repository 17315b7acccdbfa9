"""The decision pathway built from a rule set, one stage at a time, with a patient's path marked.

Every status comes from the assessment (the evaluator's truths, its record of the protocol walk
and which reasons of the decision table held); the decision edges are the policy's own table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.engine.assessment import Assessment, ProtocolStep
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation.outcomes import Basis, Decision, StepOutcome
from ionto_cds.evaluation.policy import DECISION_TABLE, WALK_AFTER, Reason
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Rule, Severity, Truth
from ionto_cds.language.operators import describe, effect_text
from ionto_cds.language.treatment import Protocol
from ionto_cds.render.pathway.graph import (
    SEVERITY_HEADINGS,
    TRUTH_STATUS,
    BoxKind,
    Edge,
    Group,
    Node,
    Pathway,
    Status,
)
from ionto_cds.units import pretty_quantity

NO_PLAN = "No plan: referral or other treatment"
_NAMED = re.compile(r"\b(protocol|rule)s? ([a-z0-9][a-z0-9-]*(?:, [a-z0-9][a-z0-9-]*)*)")


def titled(rs: RuleSet, text: str) -> str:
    """``text`` with the protocol and rule ids it names given as their titles ('protocol
    tap-water-palmoplantar' -> 'Tap-water iontophoresis, palms and soles')."""
    protocols = {p.id: p.title for p in rs.protocols}

    def title(match: re.Match[str]) -> str:
        table = protocols if match.group(1) == "protocol" else {
            i: r.title for i, r in rs.by_id.items()}
        ids = match.group(2).split(", ")
        if not all(i in table for i in ids):
            return match.group(0)
        return "; ".join(f"\u201c{table[i]}\u201d" for i in ids)

    return _NAMED.sub(title, text)


@dataclass
class _Graph:
    """What the stages add to: the rule set, the patient (if any), nodes, edges, groups."""

    rs: RuleSet
    a: Assessment | None
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def taken(self, condition: bool) -> bool | None:
        """An edge's state: None when no patient is shown."""
        return None if self.a is None else condition


def build_pathway(rs: RuleSet, assessment: Assessment | None = None,
                  title: str | None = None) -> Pathway:
    """The decision pathway of ``rs``; with an assessment, that patient's path is marked."""
    g = _Graph(rs, assessment)
    _answers(g)
    _screen(g)
    _decisions(g)
    g.edges.append(Edge("answers", "screen", "every rule reads the answers", g.taken(True)))
    g.edges += _table_edges(g)
    _protocols(g)
    _dose(g)
    a = assessment
    heading = title or (f"Decision pathway \u00b7 rules {rs.version}" if a is None else
                        f"Decision pathway \u00b7 outcome: {a.decision.words}")
    return Pathway(heading, rs.version, tuple(g.nodes), tuple(g.edges), tuple(g.groups),
                   highlighted=a is not None)


def screen_decision(a: Assessment) -> Decision:
    """The decision as the contraindication screen left it, before protocol choice."""
    return a.screen_decision or a.decision


# --- 1 answers ------------------------------------------------------------------------------

def _show(fact: FactDef, value: Any) -> str:
    if value is NOT_APPLICABLE:
        return "n/a"
    shown = fact.show(value)
    if isinstance(shown, bool):
        return "yes" if shown else "no"
    if isinstance(shown, list):
        return ", ".join(shown) if shown else "none"
    return str(shown).replace("_", " ")


def _answers(g: _Graph) -> None:
    ids = []
    for group in g.rs.catalog.groups:
        facts = g.rs.catalog.in_group(group.id)
        if not facts:
            continue
        if g.a is None:
            lines = tuple(f.name for f in facts)
            status = Status.NEUTRAL
        else:
            env = g.a.factset.env
            answered = [f for f in facts if env.get(f.name, UNKNOWN) is not UNKNOWN]
            lines = tuple(f"{f.name} = {_show(f, env[f.name])}" for f in answered)
            if len(facts) > len(answered):
                lines += (f"({len(facts) - len(answered)} unanswered)",)
            status = Status.TAKEN
        node = Node(f"facts:{group.id}", BoxKind.FACTS, group.label, "answers", lines, status)
        g.nodes.append(node)
        ids.append(node.id)
    g.groups.append(Group("answers", "Answers" if g.a is not None else "Questions by section",
                          "answers", tuple(ids)))


# --- 2 screen -------------------------------------------------------------------------------

def _rule_lines(rule: Rule) -> tuple[str, ...]:
    lines = [f"when {describe(rule.when)}"]
    lines += [effect_text(name, value) for name, value in rule.effect.items()]
    return tuple(lines)


def _screen(g: _Graph) -> None:
    rs, a = g.rs, g.a
    if rs.required:
        env = a.factset.env if a is not None else {}
        missing = [n for n in rs.required if env.get(n, UNKNOWN) is UNKNOWN]
        status = Status.NEUTRAL if a is None else (Status.TRUE if missing else Status.FALSE)
        shown = missing if a is not None else list(rs.required)
        g.nodes.append(Node("required", BoxKind.REQUIRED, "A required answer is missing",
                            "screen:required",
                            tuple(f"unanswered: {rs.catalog[n].label}" for n in shown), status))
        g.groups.append(Group("screen:required", "Required answers", "screen", ("required",),
                              parent="screen"))
    for severity in Severity:
        rules = [r for r in rs.general if r.severity is severity]
        if not rules:
            continue
        gid = f"screen:{severity.value}"
        for rule in rules:
            status = Status.NEUTRAL if a is None else TRUTH_STATUS[a.rule_truth(rule.id)]
            g.nodes.append(Node(f"rule:{rule.id}", BoxKind.RULE, rule.title, gid, _rule_lines(rule),
                                status, rule_id=rule.id))
        g.groups.append(Group(gid, f"{SEVERITY_HEADINGS[severity]} ({len(rules)})", "screen",
                              tuple(f"rule:{r.id}" for r in rules), parent="screen",
                              severity=severity))
    g.groups.append(Group("screen", "Rules for every modality", "screen", ()))


# --- 3 decision ----------------------------------------------------------------------------

def _decisions(g: _Graph) -> None:
    a = g.a
    final = a.decision if a is not None else None
    screen = screen_decision(a) if a is not None else None
    ids = []
    for decision in Decision:
        status, note = Status.NEUTRAL, ""
        if a is not None:
            status = Status.TAKEN if decision in (final, screen) else Status.NOT_REACHED
            if decision is final:
                note = "outcome"
            elif decision is screen:
                note = "after the screen; revised by protocol choice"
        lines = ("a treatment plan follows",) if decision.allows_treatment else ()
        node = Node(f"decision:{decision.value}", BoxKind.DECISION, decision.words, "decision",
                    lines, status, note)
        g.nodes.append(node)
        ids.append(node.id)
    g.groups.append(Group("decision", "Decision", "decision", tuple(ids)))


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


def _table_edges(g: _Graph) -> list[Edge]:
    """An edge for each reason of the decision table (the policy's own table), marked taken
    where that reason decided this patient's screen (or, for the walk, the final decision)."""
    edges: list[Edge] = []
    for row in DECISION_TABLE:
        for reason in row.reasons:
            for source, severities in _sources(g.rs, reason.basis):
                taken = None if g.a is None else _decided(g.a, row.decision, reason, g.nodes,
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
               if n.kind is BoxKind.RULE and n.group in groups)


# --- 4 protocols ---------------------------------------------------------------------------

def _protocol_status(step: ProtocolStep | None, when: Truth, decision: Decision
                     ) -> tuple[Status, str]:
    """A protocol node's status and note, from the engine's record of the walk."""
    if step is None or step.outcome is StepOutcome.NOT_REACHED:
        return Status.NOT_REACHED, ""
    outcome = step.outcome
    if outcome is StepOutcome.CHOSEN:
        if decision.allows_treatment:
            return Status.TAKEN, "chosen"
        return Status.UNKNOWN, "would be chosen: the screening questions come first"
    if outcome is StepOutcome.REFERRAL:
        return Status.TAKEN, "refer"
    if outcome is StepOutcome.EXCLUDED_BY_RULE:
        return Status.FALSE, "excluded by rule " + ", ".join(step.rules)
    if outcome is StepOutcome.EXCLUDED_BY_LIMIT:
        return Status.FALSE, f"excluded: {step.reason}"
    if outcome is StepOutcome.ELECTRODE_TOO_SMALL:
        return Status.UNKNOWN, f"electrode too small: {step.reason}"
    if outcome is StepOutcome.PENDING:
        return Status.UNKNOWN, "its questions first"
    if outcome is StepOutcome.OPEN_REFERRAL:
        return Status.UNKNOWN, "may refer: its questions first"
    note = "does not match" if when is Truth.FALSE else (
        "undecided: skipped for now" if when is Truth.UNKNOWN else "")
    return TRUTH_STATUS[when], note


def _protocol(g: _Graph, protocol: Protocol, step: ProtocolStep | None) -> str:
    """One protocol's group (the protocol, then its steering rules); returns the group id."""
    gid, pid = f"protocol-group:{protocol.id}", f"protocol:{protocol.id}"
    kind = protocol.drug or protocol.modality
    lines = (f"priority {protocol.priority} \u00b7 {kind.replace('_', ' ')}",
             f"when {describe(protocol.when)}")
    status, note, when = Status.NEUTRAL, "", Truth.FALSE
    if g.a is not None:
        when = g.rs.protocol_truth(protocol, g.a.factset.env)
        status, note = _protocol_status(step, when, g.a.decision)
        note = titled(g.rs, note)
    g.nodes.append(Node(pid, BoxKind.PROTOCOL, protocol.title, gid, lines, status, note,
                        protocol_id=protocol.id))
    reached = step is not None and step.outcome is not StepOutcome.NOT_REACHED
    ids = [pid]
    for rule in g.rs.steering_rules(protocol):
        s_status = Status.NEUTRAL
        if g.a is not None:
            s_status = (TRUTH_STATUS[g.a.rule_truth(rule.id)]
                        if reached and when is Truth.TRUE else Status.NOT_REACHED)
        sid = f"steer:{protocol.id}:{rule.id}"
        ids.append(sid)
        g.nodes.append(Node(sid, BoxKind.STEERING, rule.title, gid,
                            (rule.severity.value, *_rule_lines(rule)), s_status,
                            rule_id=rule.id, protocol_id=protocol.id))
    g.groups.append(Group(gid, protocol.id, "protocols", tuple(ids), parent="protocols"))
    return gid


def _protocols(g: _Graph) -> None:
    steps = {s.protocol: s for s in g.a.protocol_walk} if g.a is not None else {}
    protocols = g.rs.protocols
    for index, protocol in enumerate(protocols):
        gid = _protocol(g, protocol, steps.get(protocol.id))
        if index + 1 < len(protocols):
            following = steps.get(protocols[index + 1].id)
            g.edges.append(Edge(gid, f"protocol-group:{protocols[index + 1].id}", "else",
                                g.taken(following is not None
                                        and following.outcome is not StepOutcome.NOT_REACHED)))
    g.groups.append(Group("protocols", "Protocols with their drug and modality rules",
                          "protocols", ()))
    screen = screen_decision(g.a) if g.a is not None else None
    if protocols:
        for decision in (d for d in Decision if d in WALK_AFTER):
            g.edges.append(Edge(f"decision:{decision.value}", "protocols", "try protocols",
                                g.taken(screen is decision)))


# --- 5 dose and limits ------------------------------------------------------------------------

WALK_DECISIONS = (Decision.ELIGIBLE_WITH_PRECAUTIONS, Decision.ELIGIBLE)
"""Final decisions that come after a protocol walk without a referral (a plan, or why not)."""

def _chosen_id(a: Assessment) -> str | None:
    if a.protocol is not None:
        return a.protocol.protocol.id
    return a.referral.id if a.referral is not None else None


def _dose(g: _Graph) -> None:
    a, rs = g.a, g.rs
    walked = a is not None and a.decision in (Decision.REFER, *WALK_DECISIONS)
    if a is None:
        g.nodes += _dose_overview(rs)
    elif a.protocol is None:
        g.nodes += _no_plan_nodes(a, walked)
    else:
        g.nodes += _plan_nodes(a)
    g.groups.append(Group("dose", "Dose and limits", "dose",
                          tuple(n.id for n in g.nodes if n.group == "dose")))
    chosen = _chosen_id(a) if a is not None else None
    for protocol in rs.protocols:
        target = "dose:no-plan" if protocol.is_referral else "dose:plan"
        g.edges.append(Edge(f"protocol:{protocol.id}", target,
                            "refer" if protocol.is_referral else "plan",
                            g.taken(protocol.id == chosen)))
    if rs.protocols:
        g.edges.append(Edge(f"protocol-group:{rs.protocols[-1].id}", "dose:no-plan",
                            "none suitable",
                            g.taken(a is not None and a.decision.allows_treatment
                                    and chosen is None)))


def _dose_overview(rs: RuleSet) -> list[Node]:
    density = tuple(f"{polarity}: max {pretty_quantity(q)}"
                    for polarity, q in rs.limits.max_current_density.items())
    caps = tuple(f"{r.title}: {effect_text(name, v)}"
                 for r in rs.rules for name, v in r.effect.items())
    return [
        Node("dose:plan", BoxKind.DOSE, "Session plan", "dose",
             ("current \u00d7 duration = dose", "lowered to the tightest limit")),
        Node("dose:limits", BoxKind.DOSE, "Limits", "dose",
             ("protocol and drug maxima", "current density by polarity:", *density,
              *(("rule caps:", *caps) if caps else ()))),
        Node("dose:no-plan", BoxKind.DOSE, NO_PLAN, "dose"),
    ]


def _no_plan_nodes(a: Assessment, walked: bool) -> list[Node]:
    """No plan: after a referral, or a walk that left none, the box says why."""
    reason: tuple[str, ...] = ()
    if a.referral is not None:
        reason = (f"refer: {a.referral.title}",)
    elif a.no_plan_reason:
        reason = (a.no_plan_reason,)
    return [
        Node("dose:plan", BoxKind.DOSE, "Session plan", "dose", (), Status.NOT_REACHED),
        Node("dose:limits", BoxKind.DOSE, "Limits", "dose", (), Status.NOT_REACHED),
        Node("dose:no-plan", BoxKind.DOSE, NO_PLAN, "dose", reason if walked else (),
             Status.TAKEN if walked else Status.NOT_REACHED),
    ]


def _plan_nodes(a: Assessment) -> list[Node]:
    if a.protocol is None:
        return []
    plan, rs = a.protocol, a.ruleset
    lines = [f"current {pretty_quantity(plan.current)}",
             f"duration {pretty_quantity(plan.duration)}", f"dose {pretty_quantity(plan.dose)}"]
    if plan.current_density is not None:
        lines.append(f"density {pretty_quantity(plan.current_density)}")
    if plan.electrode_area is not None:
        lines.append(f"electrode {pretty_quantity(plan.electrode_area)} ({plan.area_source})")
    limit_lines = [titled(rs, lim.describe()) for lim in plan.limits]
    limit_lines += [f"adjusted: {titled(rs, adj)}" for adj in plan.adjustments]
    d = plan.to_dict()
    return [
        Node("dose:plan", BoxKind.DOSE, f"Session plan: {d['title']}", "dose", tuple(lines),
             Status.TAKEN),
        Node("dose:limits", BoxKind.DOSE, "Limits applied", "dose", tuple(limit_lines),
             Status.TAKEN),
        Node("dose:no-plan", BoxKind.DOSE, NO_PLAN, "dose", (), Status.NOT_REACHED),
    ]
