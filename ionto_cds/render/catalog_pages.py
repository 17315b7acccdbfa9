"""The catalogue's pages, one function a section: each gives the page body (HTML) and its
entries for the search index. Conditions are read out by the language's own ``describe``,
effects by ``effect_text`` and a protocol's standard plan by the plan table of the reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ionto_cds.analysis.cases import Case
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError, Location
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import EvidenceGrade, Rule, facts_read
from ionto_cds.language.operators import describe, effect_text
from ionto_cds.language.treatment import Drug, Protocol, Variant
from ionto_cds.render.catalog_html import (
    anchor,
    badge,
    bullets,
    e,
    external,
    fields,
    link,
    links,
    review_html,
)
from ionto_cds.render.catalog_index import CrossLinks
from ionto_cds.render.plan_text import plan_rows
from ionto_cds.units import pretty_quantity

Entry = dict[str, str]
Section = tuple[str, list[Entry]]
_GRADE_ORDER = {g: i for i, g in enumerate(EvidenceGrade)}


def _entry(kind: str, name: str, url: str, *words: str) -> Entry:
    """A search-index entry: kind, name shown, URL, and the text searched."""
    return {"k": kind, "n": name, "u": url, "t": " ".join((name, *words))}


def _q(value: object) -> str:
    return e(pretty_quantity(value)) if value is not None else "none"  # type: ignore[arg-type]


def _where(location: Location | None) -> str:
    """Where an entry is written, relative to its rules folder (no machine path)."""
    if location is None:
        return ""
    path = Path(location.file)
    shown = f"{path.parent.name}/{path.name}" if path.parent.name == "cases" else path.name
    line = f", line {location.line}" if location.line is not None else ""
    return f'<p class="where">Written in {e(shown)}{e(line)}</p>'


def _fact_links(names: Iterable[str], rs: RuleSet | None = None) -> str:
    """Links to facts, shown by their question when the rule set is given."""
    return links(link("facts.html", "fact", n, rs.catalog[n].label if rs and n in rs.catalog
                      else n) for n in names)


def _case_links(ids: list[str]) -> str:
    return links(link("vignettes.html", "case", c) for c in ids)


def _ref_links(rs: RuleSet, keys: tuple[str, ...]) -> str:
    items = []
    for key in keys:
        ref = rs.references.get(key)
        grade = f" ({e(ref.grade.value.replace('_', ' '))})" if ref else ""
        items.append(link("references.html", "ref", key) + grade)
    return bullets(items, raw=True)


def _strongest(rs: RuleSet, keys: tuple[str, ...]) -> str:
    grades = sorted({rs.references[k].grade for k in keys if k in rs.references},
                    key=lambda g: _GRADE_ORDER[g])
    if not grades:
        return "none cited"
    return ", ".join(e(g.value.replace("_", " ")) for g in grades)


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return ", ".join(sorted(str(v) for v in value)) or "none"  # type: ignore[attr-defined]


def _variant_text(v: Variant) -> str:
    span = ""
    if v.current_min is not None and v.current_max is not None:
        span = f", range {pretty_quantity(v.current_min)} to {pretty_quantity(v.current_max)}"
    return f"starting current {pretty_quantity(v.current)}{span}: {v.note}"


# -- facts ---------------------------------------------------------------------------------

def _fact(f: FactDef, x: CrossLinks) -> str:
    rows = [("Fact name", f"<code>{e(f.name)}</code>"), ("Help", e(f.help) or "none"),
            ("Type", e(f.type.value))]
    if f.unit:
        rows.append(("Unit", e(f.unit)))
    if f.type.value in ("int", "quantity"):
        rows.append(("Range", e(f.range_text())))
    if f.values:
        rows.append(("Values", e(", ".join(f.values))))
    rows.append(("Required", "yes: no decision without it" if f.required else "no"))
    asked = "always" if f.asked_when is None else f"only when {e(describe(f.asked_when))}"
    if f.ask_only_when is not None:
        asked += f"; asked only when {e(describe(f.ask_only_when))} (an answer given anyway " \
                 "counts)"
    if f.is_derived:
        cases = [f"when {describe(c.when)}: {_value_text(c.value)}" for c in f.derived]
        rows.append(("Worked out", "never asked: " + bullets(cases)))
    else:
        rows.append(("When asked", asked))
    rows += [("Read by rules", links(link("rules.html", "rule", r) for r in
                                     x.rules_of_fact.get(f.name, []))),
             ("Read by protocols", links(link("protocols.html", "protocol", p) for p in
                                         x.protocols_of_fact.get(f.name, []))),
             ("Decides other questions", _fact_links(x.facts_of_fact.get(f.name, [])))]
    return (f'<article class="entry" id="{e(anchor("fact", f.name))}"><h3>{e(f.label)}</h3>'
            f"{fields(rows)}{_where(f.location)}</article>")


def facts_page(rs: RuleSet, x: CrossLinks) -> Section:
    """Every question of the questionnaire, by form section."""
    parts, index = [], []
    for group in rs.catalog.groups:
        members = rs.catalog.in_group(group.id)
        if not members:
            continue
        parts.append(f'<h2 id="{e(anchor("group", group.id))}">{e(group.label)}</h2>')
        for f in members:
            parts.append(_fact(f, x))
            index.append(_entry("fact", f.label, f"facts.html#{anchor('fact', f.name)}",
                                f.name, f.help, group.label))
    return "".join(parts), index


# -- rules ---------------------------------------------------------------------------------

def _applies(rule: Rule, rs: RuleSet) -> str:
    if rule.is_general:
        return "iontophoresis as such (every modality): decides the decision"
    return links(link("drugs.html", "drug", t, rs.drugs[t].label) if t in rs.drugs else e(t)
                 for t in sorted(rule.applies_to))


def _rule(rule: Rule, rs: RuleSet, x: CrossLinks, retired: bool) -> str:
    sev = rule.severity.value
    rows = [
        ("Severity", badge(sev, f"sev-{sev}")), ("Applies to", _applies(rule, rs)),
        ("When", e(describe(rule.when))), ("Facts read", _fact_links(facts_read(rule.when), rs)),
        ("Rationale", e(rule.rationale)), ("What to do", e(rule.action)),
    ]
    if rule.effect:
        rows.append(("Effect on the plan", e("; ".join(effect_text(k, v)
                                                        for k, v in rule.effect.items()))))
    rows += [("References", _ref_links(rs, rule.references)),
             ("Evidence cited", _strongest(rs, rule.references)),
             ("Review", review_html(rule.review)),
             ("Revision", e(f"version {rule.metadata.version} by {rule.metadata.author}")),
             ("Vignettes where it is a finding", _case_links(x.cases_of_rule.get(rule.id, [])))]
    note = "<p><strong>Retired: never evaluated.</strong></p>" if retired else ""
    return (f'<article class="entry" id="{e(anchor("rule", rule.id))}">'
            f"<h3>{e(rule.title)} <code>{e(rule.id)}</code></h3>{note}{fields(rows)}"
            f"{_where(rule.location)}</article>")


def rules_page(rs: RuleSet, x: CrossLinks) -> Section:
    """Every rule: those about iontophoresis as such, then the drug- and modality-specific
    ones, then any retired ones."""
    groups = [("Rules about iontophoresis as such", [r for r in rs.rules if r.is_general]),
              ("Drug- and modality-specific rules", [r for r in rs.rules if not r.is_general]),
              ("Retired rules", list(rs.source.retired_rules))]
    parts, index = [], []
    for title, rules in groups:
        if not rules:
            continue
        parts.append(f"<h2>{e(title)} ({len(rules)})</h2>")
        for rule in rules:
            parts.append(_rule(rule, rs, x, retired=title.startswith("Retired")))
            index.append(_entry("rule", rule.title, f"rules.html#{anchor('rule', rule.id)}",
                                rule.id, rule.severity.value, " ".join(rule.applies_to)))
    return "".join(parts), index


# -- protocols -----------------------------------------------------------------------------

def _plan_table(rs: RuleSet, p: Protocol) -> str:
    try:
        plan = rs.plan(p, (), None)
    except IontoError as exc:
        return e(f"no standard plan: {exc}")
    body = "".join(f"<tr><th scope=\"row\">{e(k)}</th><td>{e(v)}</td></tr>"
                   for k, v in plan_rows(plan))
    limits = bullets([limit.describe() for limit in plan.limits])
    return f"<table>{body}</table><p>Limits checked on every plan:</p>{limits}"


def _schedule(p: Protocol) -> str:
    s = p.schedule
    if s is None:
        return "none"
    parts = [f"induction: {s.sessions_per_week or '?'} per week, {s.induction_sessions or '?'} "
             f"sessions{': ' + s.induction_note if s.induction_note else ''}"]
    if s.judge_after_sessions or s.judge_note:
        parts.append(f"judge the response after {s.judge_after_sessions or '?'} sessions"
                     f"{': ' + s.judge_note if s.judge_note else ''}")
    if s.maintenance_note:
        parts.append(f"maintenance: {s.maintenance_note}")
    if s.min_interval is not None:
        parts.append(f"at least {pretty_quantity(s.min_interval)} between sessions")
    return bullets(parts)


def _side_effects(p: Protocol) -> str:
    if not p.side_effects:
        return "none listed"
    rows = "".join(f"<tr><td>{e(s.label)}</td><td>{e(s.response.value.replace('_', ' '))}</td>"
                   f"<td>{e(s.action)}</td></tr>" for s in p.side_effects)
    return (f"<table><tr><th scope=\"col\">Side effect</th><th scope=\"col\">Least response"
            f"</th><th scope=\"col\">What to do</th></tr>{rows}</table>")


def _treatment_rows(rs: RuleSet, p: Protocol) -> list[tuple[str, str]]:
    rows = [("Standard plan", _plan_table(rs, p))]
    if p.ramp:
        rows.append(("Ramp", e(p.ramp)))
    if p.polarity_note:
        rows.append(("Polarity note", e(p.polarity_note)))
    rows += [(f"Variant '{v.name}'", e(_variant_text(v))) for v in p.variants]
    rows += [("Schedule", _schedule(p)), ("Needs answered", _fact_links(p.requires, rs)),
             ("Additives", bullets(p.additives)), ("Precautions", bullets(p.precautions)),
             ("Aftercare", bullets(p.aftercare)), ("Monitoring", bullets(p.monitoring)),
             ("Side effects and what to do", _side_effects(p))]
    if p.expected_efficacy:
        rows.append(("Expected efficacy", e(p.expected_efficacy)))
    steering = rs.steering_rules(p) if p in rs.protocols else ()
    rows.append(("Rules that steer it", links(link("rules.html", "rule", r.id)
                                              for r in steering)))
    return rows


def _protocol(p: Protocol, rs: RuleSet, x: CrossLinks, retired: bool) -> str:
    drug = link("drugs.html", "drug", p.drug, rs.drugs[p.drug].label) \
        if p.drug and p.drug in rs.drugs else "none"
    rows = [("Kind", e(p.modality.value.replace("_", " "))), ("Drug", drug),
            ("Priority", e(f"{p.priority} (higher is tried first)")),
            ("When", e(describe(p.when))), ("Facts read", _fact_links(facts_read(p.when), rs)),
            ("Summary", e(p.summary))]
    if not p.is_referral:
        rows += _treatment_rows(rs, p)
    rows += [("References", _ref_links(rs, p.references)),
             ("Evidence cited", _strongest(rs, p.references)), ("Review", review_html(p.review)),
             ("Vignettes ending here", _case_links(x.cases_of_protocol.get(p.id, [])))]
    note = "<p><strong>Retired: never tried.</strong></p>" if retired else ""
    return (f'<article class="entry" id="{e(anchor("protocol", p.id))}">'
            f"<h3>{e(p.title)} <code>{e(p.id)}</code></h3>{note}{fields(rows)}"
            f"{_where(p.location)}</article>")


def _limits(rs: RuleSet) -> str:
    limits = rs.limits
    rows = [(f"Maximum current density ({k})", _q(v))
            for k, v in limits.max_current_density.items()]
    rows += [("Rationale", e(limits.rationale)), ("References",
                                                  _ref_links(rs, limits.references))]
    return (f'<article class="entry" id="{e(anchor("limits", "global"))}"><h3>Limits for '
            f"every plan</h3>{fields(rows)}</article>")


def protocols_page(rs: RuleSet, x: CrossLinks) -> Section:
    """The global limits, then every protocol and referral in the order they are tried."""
    parts = ["<h2>Limits</h2>", _limits(rs),
             "<h2>Protocols and referrals, in the order they are tried</h2>"]
    index = [_entry("limits", "Limits for every plan", "protocols.html#limits-global",
                    "current density")]
    retired = list(rs.source.retired_protocols)
    for p in (*rs.protocols, *retired):
        parts.append(_protocol(p, rs, x, p in retired))
        kind = "referral" if p.is_referral else "protocol"
        index.append(_entry(kind, p.title, f"protocols.html#{anchor('protocol', p.id)}", p.id,
                            p.drug or "", p.modality.value))
    return "".join(parts), index


# -- drugs ---------------------------------------------------------------------------------

def _drug(d: Drug, rs: RuleSet) -> str:
    protocols = [p for p in (*rs.protocols, *rs.source.retired_protocols) if p.drug == d.key]
    rules = [r for r in (*rs.rules, *rs.source.retired_rules) if d.key in r.applies_to]
    rows = [("Drug key", f"<code>{e(d.key)}</code>"),
            ("Ion", e(d.ion.value)), ("Active electrode", e(d.polarity.value)),
            ("Valence", e(d.valence) if d.valence else "not given"),
            ("Molar mass", _q(d.molar_mass) if d.molar_mass is not None else "not given"),
            ("Solution", e(d.solution)), ("Concentration", e(d.concentration or "not given")),
            ("Indications", e(", ".join(d.indications))),
            ("Dose", f"{_q(d.dose_min)} to {_q(d.dose_max)}"),
            ("Maximum current", _q(d.max_current)), ("Side effects", bullets(d.side_effects)),
            ("Protocols", links(link("protocols.html", "protocol", p.id, p.title)
                                for p in protocols)),
            ("Rules for this drug", links(link("rules.html", "rule", r.id) for r in rules)),
            ("References", _ref_links(rs, d.references)),
            ("Evidence cited", _strongest(rs, d.references)), ("Review", review_html(d.review))]
    return (f'<article class="entry" id="{e(anchor("drug", d.key))}"><h3>{e(d.label)}</h3>'
            f"{fields(rows)}{_where(d.location)}</article>")


def drugs_page(rs: RuleSet, x: CrossLinks) -> Section:
    """Every drug of drugs.yaml."""
    parts = [_drug(d, rs) for d in rs.drugs.values()]
    index = [_entry("drug", d.label, f"drugs.html#{anchor('drug', d.key)}", d.key,
                    " ".join(d.indications)) for d in rs.drugs.values()]
    return "".join(parts), index


# -- references ----------------------------------------------------------------------------

def references_page(rs: RuleSet, x: CrossLinks) -> Section:
    """Every reference with its grade, where it can be read, and who cites it."""
    parts, index = [], []
    for key, ref in rs.references.items():
        cited = [link(page, kind, k) for page, kind, k in x.cited_by.get(key, [])]
        rows = [("Grade", e(ref.grade.value.replace("_", " "))),
                ("Read at", external(ref.url) or "no address"),
                ("Note", e(ref.note or "none")), ("Cited by", links(cited))]
        parts.append(f'<article class="entry" id="{e(anchor("ref", key))}"><h3>'
                     f"{e(ref.citation)} <code>{e(key)}</code></h3>{fields(rows)}</article>")
        index.append(_entry("reference", ref.citation, f"references.html#{anchor('ref', key)}",
                            key, ref.grade.value))
    return "".join(parts), index


# -- vignettes -----------------------------------------------------------------------------

def vignettes_page(rs: RuleSet, x: CrossLinks, cases: list[Case]) -> Section:
    """Every vignette: what it teaches, what it expects, and what the engine says."""
    parts, index = [], []
    for case in cases:
        a = x.outcomes.get(case.id)
        outcome = "the answers cannot be assessed" if a is None else e(a.decision.words)
        found = [link("rules.html", "rule", f.rule.id) for f in a.findings] if a else []
        plan = a.protocol.protocol.id if a and a.protocol else (
            a.referral.id if a and a.referral else None)
        answers: Mapping[str, object] = case.answers
        rows = [("Teaching point", e(case.teaching_point)),
                ("Expected decision", e(case.decision.words)), ("The rules say", outcome),
                ("Findings", links(found)),
                ("Protocol or referral", link("protocols.html", "protocol", plan)
                 if plan else "none"),
                ("Answers", e("; ".join(f"{k}: {v}" for k, v in answers.items())))]
        parts.append(f'<article class="entry" id="{e(anchor("case", case.id))}"><h3>'
                     f"{e(case.title)} <code>{e(case.id)}</code></h3>{fields(rows)}"
                     f"{_where(case.location)}</article>")
        index.append(_entry("vignette", case.title, f"vignettes.html#{anchor('case', case.id)}",
                            case.id, case.teaching_point))
    return "".join(parts), index
