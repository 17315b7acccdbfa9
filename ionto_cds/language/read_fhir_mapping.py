"""Read and check rules/fhir/mapping.yaml against the fact catalog, every mistake as file:line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ionto_cds.errors import RuleError, RuleSetError, UnitError
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.fhir_mapping import (
    MAPPING_FILE,
    AllergyEntry,
    Coded,
    CodeEntry,
    FhirMapping,
    OrderReason,
    QuantityEntry,
    StatusRule,
    UcumUnit,
    ValueEntry,
    Verdict,
)
from ionto_cds.language.model import FactType
from ionto_cds.language.packaged import packaged_rules_dir
from ionto_cds.language.reader import Reader
from ionto_cds.language.yamlsource import (
    LocatedList,
    LocatedMap,
    item_line,
    key_line,
    load_yaml_file,
)
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import is_unit, parse_unit

STATUS_ELEMENTS = {
    "Condition": ("clinicalStatus", "verificationStatus"),
    "Device": ("status",),
    "Procedure": ("status",),
    "Observation": ("status",),
    "AllergyIntolerance": ("clinicalStatus", "verificationStatus"),
    "ServiceRequest": ("status",),
    "QuestionnaireResponse": ("status",),
}
"""The FHIR R4 status elements each readable resource type has (FHIR structure, not clinical)."""
PLAN_QUANTITIES = ("current", "duration", "dose", "current_density", "electrode_area")
"""The plan fields (assess JSON `protocol`) that FHIR output writes as Quantity."""
_TOP = ("version", "systems", "statuses", "facts", "allergies", "quantities",
        "observation_values",
        "order_reasons", "order_codes", "gender", "questionnaire", "ucum")
_CODE_KEYS = ("resources", "system", "code", "display", "match")


def mapping_path(rules_dir: Path | None) -> Path:
    """The mapping of a rules folder (the packaged one when the folder has none)."""
    if rules_dir is not None and (rules_dir / MAPPING_FILE).is_file():
        return rules_dir / MAPPING_FILE
    return packaged_rules_dir() / MAPPING_FILE


_LOADED: dict[tuple[str, str], FhirMapping] = {}


def fhir_mapping_for(rules_dir: Path, version_key: str, catalog: FactCatalog) -> FhirMapping:
    """The mapping of a rules folder, checked against its catalog once per ``version_key``
    (the rule set's sha256)."""
    path = mapping_path(rules_dir)
    key = (str(path), version_key)
    if key not in _LOADED:
        _LOADED[key] = load_fhir_mapping(path, catalog)
    return _LOADED[key]


def load_fhir_mapping(path: Path, catalog: FactCatalog) -> FhirMapping:
    """The checked mapping, or :class:`RuleSetError` with every mistake."""
    mapping, errors = read_fhir_mapping(path, catalog)
    if mapping is None:
        raise RuleSetError(errors)
    return mapping


def read_fhir_mapping(path: Path, catalog: FactCatalog
                      ) -> tuple[FhirMapping | None, list[RuleError]]:
    """Read the mapping at ``path``; collect every error instead of stopping at one."""
    errors: list[RuleError] = []
    try:
        data = load_yaml_file(path)
    except RuleError as exc:
        return None, [exc]
    reader = _MappingReader(Reader(str(path), errors), catalog)
    top = reader.r.mapping(data, 1, "the FHIR mapping", _TOP, ("version", "systems", "facts"))
    if top is None:
        return None, errors
    mapping = reader.read(top, path, data)
    errors.sort(key=lambda e: e.location.line or 0)
    return (mapping if not errors else None), errors


class _MappingReader:
    def __init__(self, reader: Reader, catalog: FactCatalog) -> None:
        self.r = reader
        self.catalog = catalog
        self.systems: dict[str, str] = {}

    def read(self, top: LocatedMap, path: Path, data: Any) -> FhirMapping:
        version = top.get("version")
        if not isinstance(version, str):
            self.r.error(key_line(top, "version"), "'version' must be text such as \"2026.1\"")
        self.systems = self.read_systems(top)
        questionnaire = self.r.text(top, "questionnaire", "the FHIR mapping", required=False)
        return FhirMapping(
            path=str(path), version=str(version),
            sha256=hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()
                                  ).hexdigest(),
            systems=self.systems, statuses=self.read_statuses(top), codes=self.read_codes(top),
            quantities=self.read_quantities(top), values=self.read_values(top),
            order_reasons=self.read_reasons(top), questionnaire=questionnaire,
            ucum=self.read_ucum(top), gender=self.read_gender(top),
            allergies=self.read_allergies(top),
            order_codes=self.codings(top.get("order_codes") or LocatedList(line=top.line),
                                     key_line(top, "order_codes"), "order_codes"))

    # -- pieces --------------------------------------------------------------------------

    def section(self, top: LocatedMap, key: str) -> LocatedMap | None:
        if key not in top:
            return None
        value = top[key]
        if not isinstance(value, LocatedMap):
            self.r.error(key_line(top, key), f"'{key}' must be a mapping")
            return None
        return value

    def read_systems(self, top: LocatedMap) -> dict[str, str]:
        systems: dict[str, str] = {}
        for name, uri in (self.section(top, "systems") or {}).items():
            if not isinstance(uri, str) or ":" not in uri:
                self.r.error(key_line(top["systems"], name), f"system '{name}' must be a URI "
                             "such as http://snomed.info/sct")
            else:
                systems[name] = uri
        return systems

    def system(self, entry: LocatedMap, what: str) -> str | None:
        name = entry.get("system")
        if not isinstance(name, str) or name not in self.systems:
            self.r.error(key_line(entry, "system"), f"{what}: unknown system {name!r}"
                         f"{did_you_mean(name, self.systems)}; name one of: "
                         f"{', '.join(self.systems)}")
            return None
        return self.systems[name]

    def fact(self, name: object, line: int | None, kinds: tuple[FactType, ...]) -> str | None:
        if not isinstance(name, str) or name not in self.catalog:
            self.r.error(line, f"unknown fact {name!r}{did_you_mean(name, self.catalog.facts)}")
            return None
        if self.catalog[name].type not in kinds:
            self.r.error(line, f"fact '{name}' is a {self.catalog[name].type.value}: only "
                         f"{' or '.join(k.value for k in kinds)} facts can be read here")
            return None
        return name

    def code_text(self, entry: LocatedMap, what: str) -> tuple[str, str]:
        code, display = entry.get("code"), entry.get("display")
        if not isinstance(code, str) or not code.strip():
            self.r.error(key_line(entry, "code"), f"{what}: 'code' must be text (quote numeric "
                         "codes: \"14106009\")")
            code = ""
        if not isinstance(display, str) or not display.strip():
            self.r.error(entry.line, f"{what}: write the code system's display text as "
                         "'display'")
            display = ""
        return code, display

    def read_statuses(self, top: LocatedMap) -> dict[str, tuple[StatusRule, ...]]:
        out: dict[str, tuple[StatusRule, ...]] = {}
        for rtype, elements in (self.section(top, "statuses") or {}).items():
            line = key_line(top["statuses"], rtype)
            if rtype not in STATUS_ELEMENTS:
                self.r.error(line, f"resource type '{rtype}' cannot be read"
                             f"{did_you_mean(rtype, STATUS_ELEMENTS)}; readable: "
                             f"{', '.join(STATUS_ELEMENTS)}")
                continue
            block = self.r.mapping(elements, line, f"statuses of {rtype}", STATUS_ELEMENTS[rtype])
            if block is None:
                continue
            rules = [self.status_rule(block, name, rtype) for name in block]
            out[rtype] = tuple(r for r in rules if r is not None)
        return out

    def status_rule(self, block: LocatedMap, element: str, rtype: str) -> StatusRule | None:
        what = f"{rtype}.{element}"
        spec = self.r.mapping(block[element], key_line(block, element), what,
                              ("counts", "ask", "missing"), ("counts",))
        if spec is None:
            return None
        missing = spec.get("missing", "ask")
        if missing not in (Verdict.COUNTS.value, Verdict.ASK.value):
            self.r.error(key_line(spec, "missing"), f"{what}: 'missing' is counts or ask")
            missing = "ask"
        counts = self.r.text_list(spec, "counts", what)
        ask = self.r.text_list(spec, "ask", what)
        for both in set(counts) & set(ask):
            self.r.error(spec.line, f"{what}: '{both}' is under both counts and ask")
        return StatusRule(element, frozenset(counts), frozenset(ask), Verdict(missing))

    def read_codes(self, top: LocatedMap) -> tuple[CodeEntry, ...]:
        out: list[CodeEntry] = []
        facts = self.section(top, "facts") or LocatedMap(line=top.line)
        for name, entries in facts.items():
            fact = self.fact(name, key_line(facts, name), (FactType.BOOL,))
            items = self.r.sequence(entries, key_line(facts, name), f"codes of '{name}'")
            if fact is None or items is None:
                continue
            for i, raw in enumerate(items):
                entry = self.code_entry(fact, raw, item_line(items, i))
                if entry is not None:
                    out.append(entry)
        return tuple(out)

    def code_entry(self, fact: str, raw: Any, line: int | None) -> CodeEntry | None:
        what = f"a code of '{fact}'"
        entry = self.r.mapping(raw, line, what, _CODE_KEYS, ("resources", "system", "code"))
        if entry is None:
            return None
        resources = self.r.text_list(entry, "resources", what)
        for rtype in resources:
            if rtype not in STATUS_ELEMENTS:
                self.r.error(key_line(entry, "resources"), f"{what}: resource type '{rtype}' "
                             f"cannot be read{did_you_mean(rtype, STATUS_ELEMENTS)}")
        system = self.system(entry, what)
        code, display = self.code_text(entry, what)
        match = entry.get("match")
        if match not in (None, "prefix"):
            self.r.error(key_line(entry, "match"), f"{what}: 'match' can only be prefix")
        if match == "prefix" and system is not None and "icd-10" not in system:
            self.r.error(key_line(entry, "match"), f"{what}: 'match: prefix' is for ICD-10 "
                         "categories only (SNOMED CT and LOINC codes are not hierarchical "
                         "by their digits)")
        if system is None or not resources:
            return None
        return CodeEntry(fact, resources, system, code, display, match == "prefix",
                         self.r.at(line))

    def read_allergies(self, top: LocatedMap) -> tuple[AllergyEntry, ...]:
        out: list[AllergyEntry] = []
        block = self.section(top, "allergies") or LocatedMap(line=top.line)
        for name, entries in block.items():
            fact = self.fact(name, key_line(block, name), (FactType.LIST,))
            items = self.r.sequence(entries, key_line(block, name), f"allergies of '{name}'")
            if fact is None or items is None:
                continue
            for i, raw in enumerate(items):
                what = f"an allergy code of '{fact}'"
                entry = self.r.mapping(raw, item_line(items, i), what,
                                       ("system", "code", "display", "item"),
                                       ("system", "code", "item"))
                if entry is None:
                    continue
                system = self.system(entry, what)
                code, display = self.code_text(entry, what)
                item, allowed = entry.get("item"), self.catalog[fact].values
                if item not in allowed:
                    self.r.error(key_line(entry, "item"), f"{what}: {item!r} is not one of "
                                 f"{', '.join(allowed)}{did_you_mean(item, allowed)}")
                elif system is not None:
                    out.append(AllergyEntry(fact, system, code, display, str(item)))
        return tuple(out)

    def read_quantities(self, top: LocatedMap) -> tuple[QuantityEntry, ...]:
        out: list[QuantityEntry] = []
        block = self.section(top, "quantities") or LocatedMap(line=top.line)
        for name, raw in block.items():
            line = key_line(block, name)
            fact = self.fact(name, line, (FactType.QUANTITY,))
            entry = self.r.mapping(raw, line, f"quantity '{name}'",
                                   ("system", "code", "display", "units"), ("units",))
            if fact is None or entry is None:
                continue
            system = self.system(entry, f"quantity '{name}'")
            code, display = self.code_text(entry, f"quantity '{name}'")
            units = self.units(entry, fact)
            if system is not None:
                out.append(QuantityEntry(fact, system, code, display, units))
        return tuple(out)

    def units(self, entry: LocatedMap, fact: str) -> dict[str, str]:
        units: dict[str, str] = {}
        raw = entry.get("units")
        if not isinstance(raw, LocatedMap):
            self.r.error(key_line(entry, "units"), f"quantity '{fact}': 'units' maps each UCUM "
                         "code to a unit, e.g. {kg: kg, \"[lb_av]\": lb}")
            return units
        for code, text in raw.items():
            try:
                parse_unit(str(text), self.catalog[fact].unit or "")
            except UnitError as exc:
                self.r.error(key_line(raw, code), f"quantity '{fact}': UCUM '{code}': "
                             f"{exc.message}")
                continue
            units[code] = str(text)
        return units

    def read_values(self, top: LocatedMap) -> tuple[ValueEntry, ...]:
        out: list[ValueEntry] = []
        block = self.section(top, "observation_values") or LocatedMap(line=top.line)
        for name, raw in block.items():
            line = key_line(block, name)
            fact = self.fact(name, line, (FactType.BOOL,))
            what = f"observation value of '{name}'"
            entry = self.r.mapping(raw, line, what, ("system", "code", "display", "yes"),
                                   ("system", "code", "yes"))
            if fact is None or entry is None:
                continue
            system = self.system(entry, what)
            code, display = self.code_text(entry, what)
            yes = self.codings(entry.get("yes"), key_line(entry, "yes"), f"{what}: 'yes'")
            if system is not None:
                out.append(ValueEntry(fact, system, code, display, yes))
        return tuple(out)

    def codings(self, raw: Any, line: int | None, what: str) -> tuple[Coded, ...]:
        items = self.r.sequence(raw, line, what)
        out: list[Coded] = []
        for i, item in enumerate(items or ()):
            entry = self.r.mapping(item, item_line(items, i), what, ("system", "code", "display"),
                                   ("system", "code"))
            if entry is None:
                continue
            system = self.system(entry, what)
            code, display = self.code_text(entry, what)
            if system is not None:
                out.append(Coded(system, code, display))
        return tuple(out)

    def read_reasons(self, top: LocatedMap) -> tuple[OrderReason, ...]:
        raw = top.get("order_reasons")
        if raw is None:
            return ()
        items = self.r.sequence(raw, key_line(top, "order_reasons"), "order_reasons")
        out: list[OrderReason] = []
        for i, item in enumerate(items or ()):
            line = item_line(items, i)
            entry = self.r.mapping(item, line, "an order reason",
                                   ("system", "code", "display", "answers"),
                                   ("system", "code", "answers"))
            if entry is None:
                continue
            system = self.system(entry, "an order reason")
            code, display = self.code_text(entry, "an order reason")
            answers = self.enum_answers(entry.get("answers"), key_line(entry, "answers"))
            if system is not None:
                out.append(OrderReason(system, code, display, answers))
        return tuple(out)

    def enum_answers(self, raw: Any, line: int | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if not isinstance(raw, LocatedMap):
            self.r.error(line, "an order reason: 'answers' maps facts to values, e.g. "
                         "{indication: hyperhidrosis, site: palms}")
            return out
        for name, value in raw.items():
            fact = self.fact(name, key_line(raw, name), (FactType.ENUM,))
            if fact is None:
                continue
            allowed = self.catalog[fact].values
            if value not in allowed:
                self.r.error(key_line(raw, name), f"'{name}' cannot be {value!r}"
                             f"{did_you_mean(value, allowed)}; values: {', '.join(allowed)}")
                continue
            out[fact] = str(value)
        return out

    def read_gender(self, top: LocatedMap) -> dict[str, str]:
        block = self.section(top, "gender") or LocatedMap(line=top.line)
        allowed = self.catalog["sex"].values if "sex" in self.catalog else ()
        out: dict[str, str] = {}
        for code, value in block.items():
            if value not in allowed:
                self.r.error(key_line(block, code), f"gender '{code}': the sex fact cannot be "
                             f"{value!r}{did_you_mean(value, allowed)}")
            else:
                out[code] = str(value)
        return out

    def read_ucum(self, top: LocatedMap) -> dict[str, UcumUnit]:
        out: dict[str, UcumUnit] = {}
        block = self.section(top, "ucum") or LocatedMap(line=top.line)
        for name, raw in block.items():
            line = key_line(block, name)
            if name not in PLAN_QUANTITIES:
                self.r.error(line, f"ucum: '{name}' is no plan quantity"
                             f"{did_you_mean(name, PLAN_QUANTITIES)}; those are: "
                             f"{', '.join(PLAN_QUANTITIES)}")
                continue
            entry = self.r.mapping(raw, line, f"ucum of '{name}'", ("unit", "code"),
                                   ("unit", "code"))
            if entry is None:
                continue
            unit, code = entry.get("unit"), entry.get("code")
            if not isinstance(unit, str) or not is_unit(unit):
                self.r.error(key_line(entry, "unit"), f"ucum of '{name}': {unit!r} is not a "
                             "unit ionto-cds reads")
                continue
            if not isinstance(code, str) or not code:
                self.r.error(key_line(entry, "code"), f"ucum of '{name}': 'code' is the UCUM "
                             "code as text")
                continue
            out[name] = UcumUnit(unit, code)
        return out
