"""The FHIR mapping of rules/fhir/mapping.yaml: which codes, resources and statuses answer which
fact. Immutable data; read by :mod:`~ionto_cds.language.read_fhir_mapping`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ionto_cds.errors import Location

MAPPING_FILE = "fhir/mapping.yaml"
"""Where the mapping sits inside a rules folder."""


class Verdict(StrEnum):
    """What one resource's status does to the fact its code names."""

    COUNTS = "counts"
    """The resource says yes."""
    ASK = "ask"
    """The fact stays unknown and is asked (a resolved condition, an inactive device)."""
    IGNORED = "ignored"
    """Not a yes (refuted, entered in error, not done): the fact stays unknown."""


@dataclass(frozen=True)
class StatusRule:
    """How one status element of a resource type is read."""

    element: str
    counts: frozenset[str]
    ask: frozenset[str]
    missing: Verdict

    def verdict(self, code: str | None) -> Verdict:
        """The verdict of one status code (None: the element is absent)."""
        if code is None:
            return self.missing
        if code in self.counts:
            return Verdict.COUNTS
        return Verdict.ASK if code in self.ask else Verdict.IGNORED


@dataclass(frozen=True)
class CodeEntry:
    """One code that says "yes" to a fact when a resource of one of ``resources`` carries it."""

    fact: str
    resources: tuple[str, ...]
    system: str
    code: str
    display: str
    prefix: bool = False
    location: Location | None = field(default=None, compare=False)

    def matches(self, system: str | None, code: str | None) -> bool:
        """True when a coding (system, code) is this code, or in its category (prefix)."""
        if system != self.system or code is None:
            return False
        if not self.prefix:
            return code == self.code
        return code == self.code or code.startswith(f"{self.code}.")


@dataclass(frozen=True)
class AllergyEntry:
    """An AllergyIntolerance code naming ``item`` of the list fact ``fact`` (shown, not
    answered: a list answer would also say "no other")."""

    fact: str
    system: str
    code: str
    display: str
    item: str


@dataclass(frozen=True)
class Coded:
    """A code and its display (an observation's coded value)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class QuantityEntry:
    """A fact read from Observation.valueQuantity; ``units`` maps a UCUM code to the unit text
    ionto-cds reads."""

    fact: str
    system: str
    code: str
    display: str
    units: Mapping[str, str]


@dataclass(frozen=True)
class ValueEntry:
    """A yes/no fact read from an Observation's coded value: ``yes`` values say yes."""

    fact: str
    system: str
    code: str
    display: str
    yes: tuple[Coded, ...]


@dataclass(frozen=True)
class OrderReason:
    """A ServiceRequest.reasonCode code that names answers (indication and site) of the order."""

    system: str
    code: str
    display: str
    answers: Mapping[str, str]


@dataclass(frozen=True)
class UcumUnit:
    """A plan quantity's unit in FHIR output: the unit ionto-cds converts to, and its UCUM
    code."""

    unit: str
    code: str


@dataclass(frozen=True)
class FhirMapping:
    """Everything rules/fhir/mapping.yaml says, checked against the fact catalog."""

    path: str
    version: str
    sha256: str
    systems: Mapping[str, str]
    statuses: Mapping[str, tuple[StatusRule, ...]]
    codes: tuple[CodeEntry, ...]
    quantities: tuple[QuantityEntry, ...]
    values: tuple[ValueEntry, ...]
    order_reasons: tuple[OrderReason, ...]
    questionnaire: str
    ucum: Mapping[str, UcumUnit]
    gender: Mapping[str, str] = field(default_factory=dict)
    allergies: tuple[AllergyEntry, ...] = ()
    order_codes: tuple[Coded, ...] = ()

    def is_iontophoresis_order(self, request: Mapping[str, Any]) -> bool:
        """True for a ServiceRequest whose code is an order code or whose reasonCode is an
        order reason (the order-select service answers only such orders)."""
        def codes(concept: object) -> set[tuple[object, object]]:
            coding = concept.get("coding") if isinstance(concept, Mapping) else None
            return {(c.get("system"), c.get("code")) for c in coding or ()
                    if isinstance(c, Mapping)}
        reasons = set().union(*(codes(c) for c in request.get("reasonCode") or ()))
        return bool(codes(request.get("code")) & {(c.system, c.code) for c in self.order_codes}
                    or reasons & {(r.system, r.code) for r in self.order_reasons})

    def verdict(self, resource_type: str, statuses: Mapping[str, str | None]) -> Verdict:
        """A resource's verdict from its status elements: the strictest one wins (any ignored
        makes it ignored, then any ask makes it ask)."""
        verdicts = {rule.verdict(statuses.get(rule.element))
                    for rule in self.statuses.get(resource_type, ())}
        for strictest in (Verdict.IGNORED, Verdict.ASK):
            if strictest in verdicts:
                return strictest
        return Verdict.COUNTS

    @property
    def facts(self) -> tuple[str, ...]:
        """Every fact the mapping can answer, in the order first written."""
        names = [e.fact for e in self.codes] + [q.fact for q in self.quantities]
        names += [v.fact for v in self.values]
        names += [f for r in self.order_reasons for f in r.answers]
        names += ["age", "sex"] + [a.fact for a in self.allergies]
        return tuple(dict.fromkeys(names))
