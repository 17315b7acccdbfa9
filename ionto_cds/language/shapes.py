"""The shape of every rule-file mapping, declared once: its keys, which are required, and what
each value is. The YAML readers take their allowed and required keys from here, and the JSON
Schema of the rule files (:mod:`~ionto_cds.language.schema`) is generated from the same
declarations, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ionto_cds.language.model import EvidenceGrade, FactType, ReviewStatus, Severity
from ionto_cds.language.treatment import Ion, Polarity, ProtocolKind, Response


class Kind(StrEnum):
    """A value that is not a mapping of its own."""

    TEXT = "text"
    TEXT_LIST = "text_list"  # a list of texts
    WHOLE = "whole"  # a whole number
    BOOL = "bool"
    QUANTITY = "quantity"  # a number with its unit, e.g. '4 mA'
    BOUND = "bound"  # a plain number (int facts) or a quantity (quantity facts)
    DATE = "date"  # YYYY-MM-DD
    VERSION = "version"  # "2026.1"
    CONDITION = "condition"  # the rule language
    VALUE = "value"  # an enum word or a list of them (derived fact values)
    ANY = "any"


@dataclass(frozen=True)
class Words:
    """One of a fixed set of words (from an enum of the model)."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Shape:
    """A mapping the readers accept: each key's value, and the keys that must be there."""

    name: str
    fields: Mapping[str, Value]
    required: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key allowed, in the order the files write them."""
        return tuple(self.fields)


@dataclass(frozen=True)
class ListOf:
    """A list of values of one shape."""

    item: Value


@dataclass(frozen=True)
class MapOf:
    """A mapping from keys written to a pattern to values of one shape."""

    value: Value
    key_pattern: str


Value = Kind | Words | Shape | ListOf | MapOf

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SNAKE = r"^[a-z][a-z0-9_]*$"


def _words(enum: type[StrEnum]) -> Words:
    return Words(tuple(m.value for m in enum))


REVIEW = Shape("review", {
    "status": _words(ReviewStatus), "reviewed_by": Kind.TEXT, "reviewed_on": Kind.DATE,
    "next_review": Kind.DATE,
}, ("status",))

# -- facts.yaml ----------------------------------------------------------------------------

GROUP = Shape("group", {"id": Kind.TEXT, "label": Kind.TEXT}, ("id", "label"))
DERIVED_CASE = Shape("derived_case", {"when": Kind.CONDITION, "value": Kind.VALUE},
                     ("when", "value"))
FACT = Shape("fact", {
    "type": _words(FactType), "label": Kind.TEXT, "help": Kind.TEXT, "group": Kind.TEXT,
    "unit": Kind.TEXT, "min": Kind.BOUND, "max": Kind.BOUND, "values": Kind.TEXT_LIST,
    "values_from": Words(("drugs",)), "asked_when": Kind.CONDITION,
    "ask_only_when": Kind.CONDITION, "required": Kind.BOOL, "derived": ListOf(DERIVED_CASE),
    "otherwise": Kind.VALUE,
}, ("type", "label", "group"))
FACTS_FILE = Shape("facts_file", {
    "version": Kind.VERSION, "groups": ListOf(GROUP), "facts": MapOf(FACT, SNAKE),
})

# -- references.yaml -----------------------------------------------------------------------

REFERENCE = Shape("reference", {
    "citation": Kind.TEXT, "url": Kind.TEXT, "grade": _words(EvidenceGrade), "note": Kind.TEXT,
}, ("citation", "grade"))
REFERENCES_FILE = Shape("references_file", {
    "version": Kind.VERSION, "references": MapOf(REFERENCE, KEBAB),
})

# -- rules ---------------------------------------------------------------------------------

EFFECT_LIMITS = Shape("effect_limits", {
    "max_current": Kind.QUANTITY, "max_dose": Kind.QUANTITY, "max_current_density": Kind.QUANTITY,
})
EFFECT = Shape("effect", {"set": EFFECT_LIMITS, "parameters": Kind.TEXT})
METADATA = Shape("metadata", {
    "version": Kind.VERSION, "author": Kind.TEXT, "last_reviewed": Kind.DATE,
}, ("version", "author"))
RULE = Shape("rule", {
    "id": Kind.TEXT, "title": Kind.TEXT, "severity": _words(Severity),
    "applies_to": Kind.TEXT_LIST, "when": Kind.CONDITION, "rationale": Kind.TEXT,
    "action": Kind.TEXT, "references": Kind.TEXT_LIST, "effect": EFFECT, "metadata": METADATA,
    "review": REVIEW,
}, ("id", "title", "severity", "applies_to", "when", "rationale", "action", "references",
    "metadata"))
RULES_FILE = Shape("rules_file", {"version": Kind.VERSION, "rules": ListOf(RULE)})

# -- drugs.yaml ----------------------------------------------------------------------------

SOLUTION = Shape("solution", {"name": Kind.TEXT, "concentration": Kind.TEXT}, ("name",))
DOSE_RANGE = Shape("dose_range", {"min": Kind.QUANTITY, "max": Kind.QUANTITY})
DRUG = Shape("drug", {
    "label": Kind.TEXT, "ion": _words(Ion), "polarity": _words(Polarity), "valence": Kind.WHOLE,
    "molar_mass": Kind.QUANTITY, "solution": SOLUTION, "indications": Kind.TEXT_LIST,
    "dose": DOSE_RANGE, "max_current": Kind.QUANTITY, "side_effects": Kind.TEXT_LIST,
    "references": Kind.TEXT_LIST, "review": REVIEW,
}, ("label", "ion", "polarity", "solution", "indications", "dose", "references"))
DRUGS_FILE = Shape("drugs_file", {
    "version": Kind.VERSION, "drugs": MapOf(DRUG, SNAKE), "rules": ListOf(RULE),
})

# -- protocols.yaml ------------------------------------------------------------------------

_POLARITIES = _words(Polarity)
DENSITY_LIMITS = Shape("density_limits", {p.value: Kind.QUANTITY for p in Polarity},
                       tuple(p.value for p in Polarity))
GLOBAL_LIMITS = Shape("global_limits", {
    "max_current_density": DENSITY_LIMITS, "rationale": Kind.TEXT, "references": Kind.TEXT_LIST,
}, ("max_current_density", "rationale", "references"))
CURRENT_RANGE = Shape("current_range", {"min": Kind.QUANTITY, "max": Kind.QUANTITY})
VARIANT_RANGE = Shape("variant_range", CURRENT_RANGE.fields, ("min", "max"))
VARIANT = Shape("variant", {
    "current": Kind.QUANTITY, "current_range": VARIANT_RANGE, "note": Kind.TEXT,
}, ("current", "current_range", "note"))
PARAMETERS = Shape("parameters", {
    "current": Kind.QUANTITY, "current_range": CURRENT_RANGE, "ramp": Kind.TEXT,
    "duration": Kind.QUANTITY, "target_dose": Kind.QUANTITY, "polarity": _POLARITIES,
    "polarity_note": Kind.TEXT, "electrode_area": Kind.QUANTITY, "solution": Kind.TEXT,
    "additives": Kind.TEXT_LIST, "variants": MapOf(VARIANT, SNAKE),
}, ("current", "polarity", "solution"))
PROTOCOL_LIMITS = Shape("protocol_limits", {
    "max_current": Kind.QUANTITY, "max_dose": Kind.QUANTITY, "max_current_density": Kind.QUANTITY,
})
INDUCTION = Shape("induction", {
    "sessions_per_week": Kind.WHOLE, "sessions": Kind.WHOLE, "note": Kind.TEXT})
JUDGE_RESPONSE = Shape("judge_response", {"after_sessions": Kind.WHOLE, "note": Kind.TEXT})
MAINTENANCE = Shape("maintenance", {"note": Kind.TEXT})
SCHEDULE = Shape("schedule", {
    "induction": INDUCTION, "judge_response": JUDGE_RESPONSE, "maintenance": MAINTENANCE,
    "min_interval": Kind.QUANTITY,
}, ("induction",))
SIDE_EFFECT = Shape("side_effect", {
    "effect": Kind.TEXT, "response": _words(Response), "action": Kind.TEXT,
}, ("effect", "response", "action"))
PROTOCOL = Shape("protocol", {
    "id": Kind.TEXT, "title": Kind.TEXT, "modality": _words(ProtocolKind), "drug": Kind.ANY,
    "priority": Kind.WHOLE, "when": Kind.CONDITION, "summary": Kind.TEXT,
    "parameters": PARAMETERS, "limits": PROTOCOL_LIMITS, "schedule": SCHEDULE,
    "precautions": Kind.TEXT_LIST, "aftercare": Kind.TEXT_LIST, "monitoring": Kind.TEXT_LIST,
    "side_effects": ListOf(SIDE_EFFECT), "expected_efficacy": Kind.TEXT,
    "references": Kind.TEXT_LIST, "requires": Kind.TEXT_LIST, "review": REVIEW,
}, ("id", "title", "modality", "priority", "when", "summary", "references"))
PROTOCOLS_FILE = Shape("protocols_file", {
    "version": Kind.VERSION, "limits": GLOBAL_LIMITS, "protocols": ListOf(PROTOCOL),
})

FILE_SHAPES: Mapping[str, Shape] = {
    "facts": FACTS_FILE, "references": REFERENCES_FILE, "rules": RULES_FILE,
    "drugs": DRUGS_FILE, "protocols": PROTOCOLS_FILE,
}
"""The top-level shape of each kind of rule file (``rules`` for every plain rule file)."""
