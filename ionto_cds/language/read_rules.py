"""Read the rules of a rule file: severity, applies_to, condition, metadata and effect."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ionto_cds.errors import Location
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import (
    ALL_MODALITIES,
    VARIANT_EFFECT,
    Reference,
    Review,
    Rule,
    RuleMetadata,
    Severity,
)
from ionto_cds.language.read_references import check_references
from ionto_cds.language.read_review import read_review
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import EFFECT, EFFECT_LIMITS, METADATA, RULE
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_VARIANT = re.compile(r"^[a-z][a-z0-9_]*$")

EFFECT_UNITS = {"max_current": "mA", "max_dose": "mA*min", "max_current_density": "mA/cm^2"}
"""The limits a rule's effect may set, with the unit of each."""


def read_rule_list(
    reader: Reader, doc: LocatedMap, catalog: FactCatalog, references: Mapping[str, Reference],
    drug_keys: tuple[str, ...], ids: list[tuple[str, Location]],
) -> list[Rule]:
    raw = doc.get("rules")
    if raw is None:
        return []
    items = reader.sequence(raw, key_line(doc, "rules"), "'rules'")
    rules: list[Rule] = []
    for i, item in enumerate(items or []):
        if isinstance(item, LocatedMap) and isinstance(item.get("id"), str):
            ids.append((item["id"], reader.at(item.line)))
        rule = _read_rule(reader, item, item_line(items, i), catalog, references, drug_keys)
        if rule is not None:
            rules.append(rule)
    return rules


def _read_rule(
    reader: Reader, item: Any, line: int | None, catalog: FactCatalog,
    references: Mapping[str, Reference], drug_keys: tuple[str, ...],
) -> Rule | None:
    e = reader.mapping(item, line, "a rule", RULE.keys, RULE.required)
    if e is None:
        return None
    rule_id = e.get("id")
    what = f"rule '{rule_id}'"
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        reader.error(key_line(e, "id"), f"rule id '{rule_id}' must be kebab-case, e.g. metal-iud")
    severity_raw = e.get("severity")
    try:
        severity = Severity(str(severity_raw))
    except ValueError:
        names = [s.value for s in Severity]
        reader.error(key_line(e, "severity"), f"{what}: bad severity '{severity_raw}'"
                     f"{did_you_mean(str(severity_raw), names)}; use one of: {', '.join(names)}")
        severity = Severity.PRECAUTION
    targets = reader.text_list(e, "applies_to", what)
    allowed_targets = (*sorted(ALL_MODALITIES), *drug_keys)
    raw_targets = e.get("applies_to")
    for i, target in enumerate(targets):
        if target not in allowed_targets:
            reader.error(item_line(raw_targets, i), f"{what}: applies_to '{target}' is neither a "
                         f"modality nor a drug{did_you_mean(target, allowed_targets)}; use "
                         f"{', '.join(allowed_targets)}")
    if "applies_to" in e and not targets:
        reader.error(key_line(e, "applies_to"), f"{what}: applies_to needs at least one entry")
    condition = reader.condition(e.get("when"), key_line(e, "when"), catalog.facts, f"{what}: when")
    refs = check_references(reader, e, what, references) if "references" in e else ()
    review = read_review(reader, e, what)
    metadata = _read_metadata(reader, e, what, review)
    effect = _read_effect(reader, e, what)
    if condition is None or metadata is None or not isinstance(rule_id, str):
        return None
    return Rule(
        id=rule_id,
        title=reader.text(e, "title", what),
        severity=severity,
        applies_to=frozenset(targets),
        when=condition,
        rationale=reader.text(e, "rationale", what),
        action=reader.text(e, "action", what),
        references=refs,
        metadata=metadata,
        effect=effect,
        location=reader.at(e.line),
        review=review,
    )


def _read_metadata(reader: Reader, e: LocatedMap, what: str, review: Review
                   ) -> RuleMetadata | None:
    """Revision and author; the review date is written once, in ``review.reviewed_on`` (an
    older ``metadata.last_reviewed`` is still read where there is no review block)."""
    if "metadata" not in e:
        return None
    m = reader.mapping(e["metadata"], key_line(e, "metadata"), f"{what}: metadata",
                       METADATA.keys, METADATA.required)
    if m is None:
        return None
    last = str(m.get("last_reviewed", ""))
    if review.written and "last_reviewed" in m:
        reader.error(key_line(m, "last_reviewed"), f"{what}: the review date is written once, "
                     "in review.reviewed_on: remove metadata 'last_reviewed'")
    if review.reviewed_on is not None:
        last = review.reviewed_on.isoformat()
    return RuleMetadata(
        version=str(m.get("version", "")),
        author=str(m.get("author", "")),
        last_reviewed=last,
    )


def _read_effect(reader: Reader, e: LocatedMap, what: str) -> dict[str, Any]:
    """``effect``: limits to set on the plan (``set``) and/or the protocols' named starting
    parameters to use (``parameters``, e.g. children)."""
    if "effect" not in e:
        return {}
    effect = reader.mapping(e["effect"], key_line(e, "effect"), f"{what}: effect",
                            EFFECT.keys)
    if effect is None:
        return {}
    if not effect:
        reader.error(key_line(e, "effect"), f"{what}: effect needs 'set' (limits) or "
                     f"'{VARIANT_EFFECT}' (a protocol variant such as children)")
    out: dict[str, Any] = {}
    if "set" in effect:
        settings = reader.mapping(effect.get("set"), key_line(effect, "set"),
                                  f"{what}: effect set", EFFECT_LIMITS.keys)
        for key, value in (settings or {}).items():
            if key in EFFECT_UNITS:
                q = reader.quantity(value, key_line(settings, key), EFFECT_UNITS[key],
                                    f"{what}: effect '{key}'")
                if q is not None and not q.magnitude > 0:
                    reader.error(key_line(settings, key), f"{what}: effect '{key}' must be more "
                                 f"than zero, got '{value}'")
                elif q is not None:
                    out[key] = q
    if VARIANT_EFFECT in effect:
        name = effect[VARIANT_EFFECT]
        if not isinstance(name, str) or not _VARIANT.match(name):
            reader.error(key_line(effect, VARIANT_EFFECT), f"{what}: effect "
                         f"'{VARIANT_EFFECT}' names a protocol variant in snake_case, "
                         "e.g. children")
        else:
            out[VARIANT_EFFECT] = name
    return out
