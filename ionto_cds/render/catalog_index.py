"""What the catalogue cross-links, worked out once from the loaded rule set: which rules and
protocols read each fact, who cites each reference, and which vignettes each rule and protocol
shows up in (the engine's own findings for each vignette)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ionto_cds.analysis.cases import Case
from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError
from ionto_cds.language.model import facts_read


@dataclass
class CrossLinks:
    """Entry key to the keys of the entries that point at it."""

    rules_of_fact: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    protocols_of_fact: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    facts_of_fact: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cited_by: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list))
    """reference key: (page, kind, key) of every rule, protocol, drug or limit citing it."""
    cases_of_rule: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cases_of_protocol: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Assessment | None] = field(default_factory=dict)
    """vignette id: its assessment by the engine (None when the answers cannot be read)."""


def _fact_links(rs: RuleSet, out: CrossLinks) -> None:
    source = rs.source
    for rule in (*source.rules, *source.retired_rules):
        for name in facts_read(rule.when):
            out.rules_of_fact[name].append(rule.id)
    for protocol in (*source.protocols, *source.retired_protocols):
        for name in dict.fromkeys((*facts_read(protocol.when), *protocol.requires)):
            out.protocols_of_fact[name].append(protocol.id)
    for fact in rs.catalog:
        conditions = [c for c in (fact.asked_when, fact.ask_only_when) if c is not None]
        conditions += [case.when for case in fact.derived]
        for name in dict.fromkeys(n for c in conditions for n in facts_read(c)):
            out.facts_of_fact[name].append(fact.name)


def _citations(rs: RuleSet, out: CrossLinks) -> None:
    source = rs.source
    for rule in (*source.rules, *source.retired_rules):
        for key in rule.references:
            out.cited_by[key].append(("rules.html", "rule", rule.id))
    for protocol in (*source.protocols, *source.retired_protocols):
        for key in protocol.references:
            out.cited_by[key].append(("protocols.html", "protocol", protocol.id))
    for drug in source.drugs.values():
        for key in drug.references:
            out.cited_by[key].append(("drugs.html", "drug", drug.key))
    for key in source.limits.references:
        out.cited_by[key].append(("protocols.html", "limits", "global"))


def _vignettes(rs: RuleSet, cases: list[Case], out: CrossLinks) -> None:
    for case in cases:
        try:
            a = assess(case.answers, rs)
        except IontoError:
            out.outcomes[case.id] = None
            continue
        out.outcomes[case.id] = a
        for finding in a.findings:
            out.cases_of_rule[finding.rule.id].append(case.id)
        chosen = a.protocol.protocol.id if a.protocol else a.referral.id if a.referral else None
        if chosen:
            out.cases_of_protocol[chosen].append(case.id)


def cross_links(rs: RuleSet, cases: list[Case]) -> CrossLinks:
    """Every cross link of the catalogue for this rule set and these vignettes."""
    out = CrossLinks()
    _fact_links(rs, out)
    _citations(rs, out)
    _vignettes(rs, cases, out)
    return out
