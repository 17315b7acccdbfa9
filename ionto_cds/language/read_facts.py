"""Read facts.yaml into the fact catalog: types, units, ranges, values, applicability."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ionto_cds.errors import quote
from ionto_cds.language.facts import DerivedCase, FactCatalog, FactDef, FactGroup
from ionto_cds.language.model import FactType, facts_read
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import DERIVED_CASE, FACT, FACTS_FILE, GROUP
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import is_unit

FACTS_KEYS = FACTS_FILE.keys
_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DERIVED_TYPES = (FactType.ENUM, FactType.LIST)


def read_catalog(reader: Reader, doc: LocatedMap, drug_keys: tuple[str, ...]) -> FactCatalog:
    groups: list[FactGroup] = []
    raw_groups = reader.sequence(doc.get("groups"), key_line(doc, "groups"), "'groups'")
    for i, item in enumerate(raw_groups or []):
        g = reader.mapping(item, item_line(raw_groups, i), "a group", GROUP.keys, GROUP.required)
        if g is not None and isinstance(g.get("id"), str):
            groups.append(FactGroup(g["id"], reader.text(g, "label", f"group '{g['id']}'")))
    group_ids = [g.id for g in groups]
    raw_facts = doc.get("facts")
    if not isinstance(raw_facts, LocatedMap):
        reader.error(key_line(doc, "facts"), "'facts' must be a mapping of fact name: entry")
        return FactCatalog({}, tuple(groups))
    facts: dict[str, FactDef] = {}
    pending_conditions: dict[tuple[str, str], tuple[Any, int | None]] = {}
    pending_derived: dict[str, LocatedMap] = {}
    for name, entry in raw_facts.items():
        line = key_line(raw_facts, name)
        what = f"fact '{name}'"
        if not _FACT_NAME.match(name):
            reader.error(line, f"{what}: names are snake_case (lower-case words joined by _)")
        e = reader.mapping(entry, line, what, FACT.keys, FACT.required)
        if e is None:
            continue
        fact = _read_fact(reader, name, e, group_ids, drug_keys)
        if fact is not None:
            facts[name] = fact
            for key in ("asked_when", "ask_only_when"):
                if key in e:
                    pending_conditions[(name, key)] = (e[key], key_line(e, key))
            if "derived" in e or "otherwise" in e:
                pending_derived[name] = e
    # asked_when and derived cases may name any fact, so they are read once every fact is known.
    for (name, key), (raw, line) in pending_conditions.items():
        condition = reader.condition(raw, line, facts, f"{key} of '{name}'")
        if condition is not None and key == "asked_when":
            facts[name] = replace(facts[name], asked_when=condition)
        elif condition is not None:
            facts[name] = replace(facts[name], ask_only_when=condition)
    for name, e in pending_derived.items():
        facts[name] = _read_derived(reader, facts[name], e, facts)
    _check_order(reader, facts)
    return FactCatalog(facts, tuple(groups))


def _check_order(reader: Reader, facts: dict[str, FactDef]) -> None:
    """asked_when and derived cases read only facts listed before theirs (one pass in catalog
    order then works out every applicability and derived value)."""
    order = list(facts)
    for name, fact in facts.items():
        conditions = [(key, c) for key, c in (("asked_when", fact.asked_when),
                                               ("ask_only_when", fact.ask_only_when))
                      if c is not None]
        conditions += [("a derived case", case.when) for case in fact.derived]
        for what, condition in conditions:
            for other in facts_read(condition):
                if other == name or order.index(other) > order.index(name):
                    reader.error(
                        fact.location.line if fact.location else None,
                        f"{what} of '{name}' reads '{other}', which must be listed before it",
                    )


def _read_derived(reader: Reader, fact: FactDef, e: LocatedMap, facts: dict[str, FactDef]
                  ) -> FactDef:
    """``derived``: a list of {when, value} cases, and ``otherwise``, of an enum or list fact."""
    what = f"fact '{fact.name}'"
    if fact.type not in _DERIVED_TYPES:
        reader.error(key_line(e, "derived"), f"{what}: only enum and list facts can "
                     "be derived")
        return fact
    for key in ("asked_when", "ask_only_when", "required"):
        if key in e:
            reader.error(key_line(e, key), f"{what}: a derived fact is never asked, so it takes "
                         f"no '{key}'")
    items = reader.sequence(e.get("derived"), key_line(e, "derived"),
                            f"{what}: 'derived'")
    cases: list[DerivedCase] = []
    for i, item in enumerate(items or []):
        where = f"{what}: derived case {i + 1}"
        c = reader.mapping(item, item_line(items, i), where, DERIVED_CASE.keys,
                           DERIVED_CASE.required)
        if c is None:
            continue
        when = reader.condition(c.get("when"), key_line(c, "when"), facts, f"{where}: when")
        value = _derived_value(reader, fact, c.get("value"), key_line(c, "value"), where)
        if when is not None and value is not None:
            cases.append(DerivedCase(when, value))
    if not cases and items is not None:
        reader.error(key_line(e, "derived"), f"{what}: 'derived' needs at least one case")
    otherwise = None
    if "otherwise" in e:
        otherwise = _derived_value(reader, fact, e["otherwise"], key_line(e, "otherwise"),
                                   f"{what}: otherwise")
    return replace(fact, derived=tuple(cases), otherwise=otherwise)


def _derived_value(reader: Reader, fact: FactDef, raw: Any, line: int | None, what: str) -> Any:
    """A derived value as written (an enum word, or a list of words), canonical."""
    if fact.type is FactType.LIST:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            reader.error(line, f"{what}: the value is a list of {fact.name} values, e.g. "
                         f"[{fact.values[0] if fact.values else 'value'}]")
            return None
        wrong = [v for v in raw if v not in fact.values]
        if wrong:
            reader.error(line, f"{what}: {quote(wrong[0])} is not a value of {fact.name}"
                         f"{did_you_mean(wrong[0], fact.values)}")
            return None
        return frozenset(raw)
    if not isinstance(raw, str) or raw not in fact.values:
        reader.error(line, f"{what}: the value must be one of {', '.join(fact.values)}"
                     f"{did_you_mean(str(raw), fact.values)}")
        return None
    return raw


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
