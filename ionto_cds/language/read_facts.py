"""Read facts.yaml into the fact catalog: types, units, ranges, values, applicability."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ionto_cds.errors import quote
from ionto_cds.language.facts import FactCatalog, FactDef, FactGroup
from ionto_cds.language.model import FactType, facts_read
from ionto_cds.language.reader import Reader
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import is_unit

FACTS_KEYS = ("version", "groups", "facts")
_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FACT_KEYS = ("type", "label", "help", "group", "unit", "min", "max", "values", "values_from",
              "asked_when", "required")


def read_catalog(reader: Reader, doc: LocatedMap, drug_keys: tuple[str, ...]) -> FactCatalog:
    groups: list[FactGroup] = []
    raw_groups = reader.sequence(doc.get("groups"), key_line(doc, "groups"), "'groups'")
    for i, item in enumerate(raw_groups or []):
        keys = ("id", "label")
        g = reader.mapping(item, item_line(raw_groups, i), "a group", keys, keys)
        if g is not None and isinstance(g.get("id"), str):
            groups.append(FactGroup(g["id"], reader.text(g, "label", f"group '{g['id']}'")))
    group_ids = [g.id for g in groups]
    raw_facts = doc.get("facts")
    if not isinstance(raw_facts, LocatedMap):
        reader.error(key_line(doc, "facts"), "'facts' must be a mapping of fact name: entry")
        return FactCatalog({}, tuple(groups))
    facts: dict[str, FactDef] = {}
    pending_conditions: dict[str, tuple[Any, int | None]] = {}
    for name, entry in raw_facts.items():
        line = key_line(raw_facts, name)
        what = f"fact '{name}'"
        if not _FACT_NAME.match(name):
            reader.error(line, f"{what}: names are snake_case (lower-case words joined by _)")
        e = reader.mapping(entry, line, what, _FACT_KEYS, ("type", "label", "group"))
        if e is None:
            continue
        fact = _read_fact(reader, name, e, group_ids, drug_keys)
        if fact is not None:
            facts[name] = fact
            if "asked_when" in e:
                pending_conditions[name] = (e["asked_when"], key_line(e, "asked_when"))
    # asked_when may name any fact, so it is read once every fact is known.
    for name, (raw, line) in pending_conditions.items():
        condition = reader.condition(raw, line, facts, f"asked_when of '{name}'")
        if condition is not None:
            facts[name] = replace(facts[name], asked_when=condition)
    order = list(facts)
    for name, fact in facts.items():
        if fact.asked_when is None:
            continue
        for other in facts_read(fact.asked_when):
            if other == name or order.index(other) > order.index(name):
                reader.error(
                    fact.location.line if fact.location else None,
                    f"asked_when of '{name}' reads '{other}', which must be listed before it",
                )
    return FactCatalog(facts, tuple(groups))


def _read_fact(
    reader: Reader, name: str, e: LocatedMap, group_ids: list[str], drug_keys: tuple[str, ...]
) -> FactDef | None:
    what = f"fact '{name}'"
    line = e.line
    kind_raw = e.get("type")
    try:
        kind = FactType(str(kind_raw))
    except ValueError:
        kinds = ", ".join(t.value for t in FactType)
        reader.error(key_line(e, "type"), f"{what}: unknown type {quote(kind_raw)}"
                     f"{did_you_mean(kind_raw, [t.value for t in FactType])}; types: {kinds}")
        return None
    group = e.get("group")
    if group not in group_ids:
        reader.error(key_line(e, "group"), f"{what}: unknown group {quote(group)}"
                     f"{did_you_mean(group, group_ids)}; groups: {', '.join(group_ids)}")
    unit: str | None = None
    low = high = None
    if kind is FactType.QUANTITY:
        unit = _unit(reader, e, what)
        if unit is None:
            return None
        low, high = _quantity_range(reader, e, what, unit)
    elif kind is FactType.INT:
        low, high = _int_range(reader, e, what)
    elif "min" in e or "max" in e:
        reader.error(line, f"{what}: 'min'/'max' only apply to int and quantity facts")
    values: tuple[str, ...] = ()
    if kind in (FactType.ENUM, FactType.LIST):
        values = _values(reader, e, what, drug_keys)
    elif "values" in e or "values_from" in e:
        reader.error(line, f"{what}: 'values' only apply to enum and list facts")
    if kind is not FactType.QUANTITY and "unit" in e:
        reader.error(key_line(e, "unit"), f"{what}: only quantity facts take a unit")
    required = e.get("required", False)
    if not isinstance(required, bool):
        reader.error(key_line(e, "required"), f"{what}: 'required' takes true or false")
        required = False
    return FactDef(
        name=name,
        type=kind,
        label=reader.text(e, "label", what),
        help=reader.text(e, "help", what, required=False),
        group=str(group),
        unit=unit,
        minimum=low,
        maximum=high,
        values=values,
        required=required,
        location=reader.at(line),
    )


def _unit(reader: Reader, e: LocatedMap, what: str) -> str | None:
    unit_raw = e.get("unit")
    if not isinstance(unit_raw, str):
        reader.error(e.line, f"{what}: a quantity needs 'unit:' (its default unit, e.g. kg)")
        return None
    if not is_unit(unit_raw):
        reader.error(key_line(e, "unit"), f"{what}: unknown unit {quote(unit_raw)}")
        return None
    return unit_raw


def _quantity_range(reader: Reader, e: LocatedMap, what: str, unit: str
                    ) -> tuple[float | None, float | None]:
    found: dict[str, float | None] = {"min": None, "max": None}
    for key in found:
        if key in e:
            q = reader.quantity(e[key], key_line(e, key), unit, f"{what}: '{key}'")
            found[key] = float(q.to(unit).magnitude) if q is not None else None
    return found["min"], found["max"]


def _int_range(reader: Reader, e: LocatedMap, what: str) -> tuple[float | None, float | None]:
    found: dict[str, float | None] = {"min": None, "max": None}
    for key in found:
        if key in e:
            v = e[key]
            if isinstance(v, bool) or not isinstance(v, int):
                reader.error(key_line(e, key), f"{what}: '{key}' must be a whole number")
            else:
                found[key] = float(v)
    return found["min"], found["max"]


def _values(reader: Reader, e: LocatedMap, what: str, drug_keys: tuple[str, ...]
            ) -> tuple[str, ...]:
    if e.get("values_from") == "drugs":
        return drug_keys
    if "values_from" in e:
        reader.error(key_line(e, "values_from"), f"{what}: values_from takes 'drugs'")
        return ()
    raw = reader.sequence(e.get("values"), key_line(e, "values"), f"{what}: 'values'")
    if raw is None:
        return ()
    if not raw or not all(isinstance(v, str) and _FACT_NAME.match(v) for v in raw):
        reader.error(raw.line, f"{what}: values must be snake_case words")
    elif len(set(raw)) != len(raw):
        reader.error(raw.line, f"{what}: values are listed twice")
    else:
        return tuple(raw)
    return ()
