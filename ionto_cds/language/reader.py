"""Shape checks shared by every rule file: mappings, keys, strings, conditions, quantities.

A :class:`Reader` collects every mistake of one file (never stopping at the first) as
``file:line: message`` errors that name the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pint

from ionto_cds.errors import Location, RuleError, UnitError
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import AllOf, AnyOf, Condition, FactType, Leaf, Not
from ionto_cds.language.operators import OPERATORS, ValueShape, fitting
from ionto_cds.language.yamlsource import LocatedList, LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import format_quantity, parse_quantity


class Reader:
    """Reads one YAML file's plain data into model objects, collecting errors."""

    def __init__(self, file: str, errors: list[RuleError]) -> None:
        self.file = file
        self.errors = errors

    # -- errors -----------------------------------------------------------------------------

    def at(self, line: int | None) -> Location:
        return Location(self.file, line)

    def error(self, line: int | None, message: str) -> None:
        self.errors.append(RuleError(self.at(line), message))

    # -- shapes -----------------------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        line: int | None,
        what: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> LocatedMap | None:
        """Check that ``value`` is a mapping with only ``allowed`` keys and all ``required``."""
        if not isinstance(value, LocatedMap):
            self.error(line, f"{what} must be a mapping of key: value, got {_kind(value)}")
            return None
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                self.error(
                    key_line(value, key),
                    f"unknown key '{key}' in {what}{hint}; allowed keys: {', '.join(allowed)}",
                )
        for key in required:
            if key not in value:
                self.error(value.line, f"{what} is missing the required key '{key}'")
        return value

    def part(self, parent: LocatedMap, key: str, what: str, allowed: Iterable[str],
             required: Iterable[str] = ()) -> LocatedMap | None:
        """``parent[key]`` checked as a mapping (see :meth:`mapping`); when absent, an empty
        mapping at the parent's line, with nothing to require of it (a missing required part is
        the parent's to report)."""
        if key not in parent:
            return LocatedMap(line=parent.line)
        return self.mapping(parent[key], key_line(parent, key), what, allowed, required)

    def sequence(self, value: Any, line: int | None, what: str) -> LocatedList | None:
        if not isinstance(value, LocatedList):
            self.error(line, f"{what} must be a list (- item lines or [a, b]), got {_kind(value)}")
            return None
        return value

    def text(self, mapping: LocatedMap, key: str, what: str, *, required: bool = True) -> str:
        value = mapping.get(key)
        if value is None:
            if required and key in mapping:
                self.error(key_line(mapping, key), f"{what}: '{key}' is empty; write the text")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(key_line(mapping, key), f"{what}: '{key}' must be text, got {_kind(value)}")
            return ""
        return " ".join(value.split())

    def text_list(self, mapping: LocatedMap, key: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        items = self.sequence(value, key_line(mapping, key), f"{what}: '{key}'")
        if items is None:
            return ()
        out: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                self.error(item_line(items, i), f"{what}: each '{key}' item must be text")
            else:
                out.append(" ".join(item.split()))
        return tuple(out)

    def quantity(
        self, value: Any, line: int | None, unit: str, what: str
    ) -> pint.Quantity[Any] | None:
        """A quantity written with its unit; a bare number or a wrong dimension is an error."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(line, f"{what} must be a quantity such as '12 {unit}', got {_kind(value)}")
            return None
        if not isinstance(value, str):
            self.error(line, f"{what}: write the unit, e.g. '{value} {unit}'")
            return None
        try:
            return parse_quantity(value, unit)
        except UnitError as exc:
            self.error(line, f"{what}: {exc.message}")
            return None

    # -- conditions -------------------------------------------------------------------------

    def condition(
        self, value: Any, line: int | None, facts: Mapping[str, FactDef],
        what: str = "condition"
    ) -> Condition | None:
        """Parse a structured condition, checking facts, operators, values and units."""
        if not isinstance(value, LocatedMap):
            self.error(
                line,
                f"{what} must be a mapping such as {{fact: pacemaker, is: true}} or "
                f"{{all: [...]}}, got {_kind(value)}",
            )
            return None
        where = self.at(value.line)
        if "fact" in value:
            start = len(self.errors)
            leaf = self._leaf(value, facts, what)
            for i in range(start, len(self.errors)):  # say which rule or protocol it is in
                error = self.errors[i]
                self.errors[i] = RuleError(error.location, f"{what}: {error.message}")
            return leaf
        combinators = [k for k in ("all", "any", "not") if k in value]
        if len(combinators) != 1 or len(value) != 1:
            keys = ", ".join(value) or "nothing"
            unknown = [k for k in value if k not in ("all", "any", "not")]
            hint = did_you_mean(unknown[0], ("fact", "all", "any", "not")) if unknown else ""
            self.error(
                value.line,
                f"{what} has {keys}{hint}: write either a leaf {{fact: NAME, OPERATOR: VALUE}} "
                "or exactly one of all / any / not",
            )
            return None
        kind = combinators[0]
        body = value[kind]
        if kind == "not":
            part = self.condition(body, key_line(value, kind), facts, what)
            return Not(part, where) if part is not None else None
        items = self.sequence(body, key_line(value, kind), f"'{kind}'")
        if items is None:
            return None
        if not items:
            self.error(key_line(value, kind), f"'{kind}' needs at least one condition")
            return None
        parts = [
            self.condition(item, item_line(items, i), facts, what)
            for i, item in enumerate(items)
        ]
        if any(p is None for p in parts):
            return None
        clean = tuple(p for p in parts if p is not None)
        return AllOf(clean, where) if kind == "all" else AnyOf(clean, where)

    def _leaf(self, node: LocatedMap, facts: Mapping[str, FactDef], what: str) -> Leaf | None:
        line = node.line
        name = node["fact"]
        ops = [k for k in node if k != "fact"]
        bad = [k for k in ops if k not in OPERATORS]
        for key in bad:
            hint = did_you_mean(key, OPERATORS)
            self.error(
                key_line(node, key),
                f"unknown operator '{key}'{hint}; operators: {', '.join(OPERATORS)}",
            )
        if bad:
            return None
        if len(ops) != 1:
            self.error(line, f"{what} on '{name}' needs exactly one operator, got {len(ops)}")
            return None
        op = ops[0]
        if not isinstance(name, str) or name not in facts:
            hint = did_you_mean(str(name), facts)
            self.error(key_line(node, "fact"), f"unknown fact '{name}'{hint}")
            return None
        fact = facts[name]
        op_line = key_line(node, op)
        if fact.type not in OPERATORS[op].fits:
            self.error(
                op_line,
                f"operator '{op}' does not fit '{name}' (a {fact.type} fact); use one of: "
                f"{', '.join(fitting(fact.type))}",
            )
            return None
        raw = node[op]
        parsed = self._leaf_value(fact, op, raw, op_line)
        if parsed is None:
            return None
        value, shown = parsed
        return Leaf(name, op, value, shown, self.at(line))

    def _leaf_value(self, fact: FactDef, op: str, raw: Any, line: int | None
                    ) -> tuple[Any, str] | None:
        """The operator's value read by its shape (the operator table) and the fact's type."""
        name, kind, shape = fact.name, fact.type, OPERATORS[op].shape
        if shape is ValueShape.FLAG:
            if not isinstance(raw, bool):
                self.error(line, f"'{op}' on '{name}' takes true or false, got {_kind(raw)}")
                return None
            return raw, "true" if raw else "false"
        if kind is FactType.ENUM and shape is ValueShape.ONE:
            return self._enum_value(fact, raw, line)
        if kind in (FactType.ENUM, FactType.LIST) and shape is ValueShape.SET:
            values = self._list_of(raw, line, name, op)
            if values is None:
                return None
            checked = [self._enum_value(fact, v, line) for v in values]
            if any(c is None for c in checked):
                return None
            words = tuple(c[0] for c in checked if c is not None)
            return frozenset(words), "[" + ", ".join(words) + "]"
        if kind is FactType.LIST:
            return self._enum_value(fact, raw, line)
        if kind is FactType.INT:
            if shape is ValueShape.SET:
                values = self._list_of(raw, line, name, op)
                if values is None:
                    return None
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                    self.error(line, f"'in' on '{name}' takes a list of whole numbers")
                    return None
                return frozenset(values), "[" + ", ".join(str(v) for v in values) + "]"
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.error(line, f"'{op}' on '{name}' takes a whole number, got {_kind(raw)}")
                return None
            return raw, str(raw)
        # quantity comparison
        quantity = self.quantity(raw, line, fact.unit or "", f"'{op}' on '{name}'")
        if quantity is None:
            return None
        return float(quantity.to(fact.unit or "").magnitude), format_quantity(quantity)

    def _enum_value(self, fact: FactDef, raw: Any, line: int | None) -> tuple[str, str] | None:
        if not isinstance(raw, str) or raw not in fact.values:
            hint = did_you_mean(str(raw), fact.values)
            self.error(
                line,
                f"unknown value '{raw}' for '{fact.name}'{hint}; allowed: {', '.join(fact.values)}",
            )
            return None
        return raw, raw

    def _list_of(self, raw: Any, line: int | None, name: str, op: str) -> list[Any] | None:
        if not isinstance(raw, list) or not raw:
            self.error(line, f"'{op}' on '{name}' takes a non-empty list such as [a, b]")
            return None
        return list(raw)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"'{str(value).lower()}' (yes/no)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"'{value}'"
