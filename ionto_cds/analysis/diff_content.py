"""What changed between two rule sets, entry by entry, in clinical words: rules, facts,
protocols, drugs, global limits and references."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ionto_cds.language.facts import FactDef
from ionto_cds.language.loader import RuleSource
from ionto_cds.language.model import Reference, Review, Rule
from ionto_cds.language.operators import describe, effect_text
from ionto_cds.language.treatment import Drug, Protocol
from ionto_cds.units import pretty_quantity

_LONG = 80  # texts longer than this are said to be reworded, not quoted


@dataclass(frozen=True)
class Change:
    """One entry added, removed or changed, with what changed in words."""

    section: str  # rules, facts, protocols, drugs, limits, references
    key: str
    kind: str  # added, removed, changed
    details: tuple[str, ...] = ()

    def line(self) -> str:
        """The change as one Markdown bullet."""
        head = f"- {self.section[:-1] if self.section != 'limits' else 'limits'} '{self.key}' "
        if self.kind != "changed":
            return head + self.kind + (f": {'; '.join(self.details)}" if self.details else "")
        return head + "changed: " + "; ".join(self.details)


def _q(value: Any) -> str:
    return pretty_quantity(value) if value is not None else "none"


def _items(values: Any) -> str:
    return ", ".join(sorted(str(v) for v in values)) or "none"


def _review(review: Review) -> str:
    if not review.written:
        return "draft (no review block)"
    on = f" on {review.reviewed_on}" if review.reviewed_on else ""
    by = f" by {review.reviewed_by}" if review.reviewed_by else ""
    return f"{review.status.value}{by}{on}"


def _rule_fields(rule: Rule) -> dict[str, str]:
    return {
        "title": rule.title, "severity": rule.severity.value,
        "applies to": _items(rule.applies_to), "condition": describe(rule.when),
        "rationale": rule.rationale, "action": rule.action,
        "references": _items(rule.references),
        "effect": "; ".join(effect_text(k, v) for k, v in rule.effect.items()) or "none",
        "review": _review(rule.review),
    }


def _fact_fields(fact: FactDef) -> dict[str, str]:
    derived = [f"{describe(c.when)} gives "
               f"{c.value if isinstance(c.value, str) else _items(c.value)}"
               for c in fact.derived]
    return {
        "question": fact.label, "help": fact.help, "type": fact.type.value,
        "unit": fact.unit or "none", "range": fact.range_text(), "values": _items(fact.values),
        "required": "yes" if fact.required else "no",
        "asked when": describe(fact.asked_when) if fact.asked_when is not None else "always",
        "asked only when": describe(fact.ask_only_when) if fact.ask_only_when is not None
        else "always",
        "worked out": "; ".join(derived) or "no",
    }


def _protocol_fields(p: Protocol) -> dict[str, str]:
    schedule = p.schedule.to_dict() if p.schedule is not None else {}
    return {
        "title": p.title, "modality": p.modality.value, "drug": p.drug or "none",
        "priority": str(p.priority), "condition": describe(p.when), "summary": p.summary,
        "current": _q(p.current),
        "current range": f"{_q(p.current_min)} to {_q(p.current_max)}",
        "duration": _q(p.duration), "target dose": _q(p.target_dose),
        "polarity": p.polarity.value if p.polarity else "none",
        "default electrode area": _q(p.electrode_area), "max current": _q(p.max_current),
        "max dose": _q(p.max_dose), "max current density": _q(p.max_current_density),
        "schedule": str(schedule), "requires": _items(p.requires),
        "variants": "; ".join(f"{v.name}: {_q(v.current)} ({_q(v.current_min)} to "
                              f"{_q(v.current_max)})" for v in p.variants) or "none",
        "side effects": "; ".join(f"{s.label}: {s.response.value}, {s.action}"
                                  for s in p.side_effects) or "none",
        "precautions": " / ".join(p.precautions), "aftercare": " / ".join(p.aftercare),
        "monitoring": " / ".join(p.monitoring), "references": _items(p.references),
        "review": _review(p.review),
    }


def _drug_fields(d: Drug) -> dict[str, str]:
    return {
        "label": d.label, "ion": d.ion.value, "active electrode": d.polarity.value,
        "valence": str(d.valence), "molar mass": _q(d.molar_mass), "solution": d.solution,
        "concentration": d.concentration, "indications": _items(d.indications),
        "dose": f"{_q(d.dose_min)} to {_q(d.dose_max)}", "max current": _q(d.max_current),
        "side effects": " / ".join(d.side_effects), "references": _items(d.references),
        "review": _review(d.review),
    }


def _reference_fields(r: Reference) -> dict[str, str]:
    return {"citation": r.citation, "url": r.url or "none", "grade": r.grade.value,
            "note": r.note or "none"}


def _field_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    out = []
    for label, before in old.items():
        after = new.get(label, "none")
        if before == after:
            continue
        if len(before) > _LONG or len(after) > _LONG:
            out.append(f"{label} reworded")
        else:
            out.append(f"{label} {before} → {after}")
    return tuple(out)


T = TypeVar("T")


def _section(section: str, old: Mapping[str, T], new: Mapping[str, T],
             fields: Callable[[T], dict[str, str]]) -> list[Change]:
    out = [Change(section, key, "removed") for key in old if key not in new]
    for key, entry in new.items():
        if key not in old:
            out.append(Change(section, key, "added"))
            continue
        details = _field_changes(fields(old[key]), fields(entry))
        if details:
            out.append(Change(section, key, "changed", details))
    return out


def _rules(source: RuleSource) -> dict[str, Rule]:
    return {r.id: r for r in (*source.rules, *source.retired_rules)}


def _protocols(source: RuleSource) -> dict[str, Protocol]:
    return {p.id: p for p in (*source.protocols, *source.retired_protocols)}


def _limits(source: RuleSource) -> dict[str, dict[str, str]]:
    limits = source.limits
    fields = {f"max current density ({k})": _q(v) for k, v in limits.max_current_density.items()}
    fields |= {"rationale": limits.rationale, "references": _items(limits.references)}
    return {"global": fields}


def content_changes(old: RuleSource, new: RuleSource) -> list[Change]:
    """Every entry added, removed or changed from ``old`` to ``new``, section by section."""
    return [
        *_section("rules", _rules(old), _rules(new), _rule_fields),
        *_section("facts", old.catalog.facts, new.catalog.facts, _fact_fields),
        *_section("protocols", _protocols(old), _protocols(new), _protocol_fields),
        *_section("drugs", old.drugs, new.drugs, _drug_fields),
        *_section("limits", _limits(old), _limits(new), lambda fields: fields),
        *_section("references", old.references, new.references, _reference_fields),
    ]
