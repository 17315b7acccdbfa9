"""The value changes of mutation testing: numbers halved, doubled or stepped, units swapped,
and how a value or a condition is said in a mutant's words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ionto_cds.errors import UnitError
from ionto_cds.language.operators import OPERATORS
from ionto_cds.units import parse_quantity, pretty_unit

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S.*?)\s*$")

UNIT_SWAPS = {"year": "month", "month": "year", "week": "day", "day": "week", "kg": "lb",
              "lb": "kg", "min": "h", "h": "min", "cm^2": "mm^2", "mm^2": "cm^2"}
"""A unit written in a threshold and the unit of the same dimension it is mistaken for."""

SCALE, STEP = "scale", "step"
"""How a number is mutated: halved and doubled, or one less and one more."""

_SAID_LIMIT = 70


def number_of(value: Any) -> tuple[float, str] | None:
    """A number as written: its magnitude and unit text ('' for a bare number), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), ""
    if isinstance(value, str):
        found = _QUANTITY.match(value)
        if found:
            return float(found.group(1)), found.group(2)
    return None


def _written(magnitude: float, unit: str, whole: bool) -> Any:
    if unit:
        return f"{magnitude:g} {unit}"
    return int(magnitude) if whole else magnitude


def changed_numbers(value: Any, how: str) -> Iterator[tuple[Any, str]]:
    """The mutated values of a number (as YAML would hold them) with the verb that says how:
    halved and doubled (whole numbers halved rounding down), or lowered and raised by one."""
    read = number_of(value)
    if read is None:
        return
    magnitude, unit = read
    whole = isinstance(value, int) and not isinstance(value, bool)
    if how == STEP:
        if whole:
            yield value - 1, "lowered"
            yield value + 1, "raised"
        return
    half = float(int(magnitude) // 2) if whole else magnitude / 2
    for new, verb in ((half, "halved"), (magnitude * 2, "doubled")):
        if new != magnitude:
            yield _written(new, unit, whole), verb


def threshold_changes(value: Any) -> Iterator[tuple[Any, str]]:
    """A comparison's threshold halved and doubled, a whole number also one less and one more,
    and a quantity's unit swapped for one of the same dimension (year -> month, kg -> lb); each
    with what was done ('doubled to 12 years')."""
    for how in (SCALE, STEP):
        for new, verb in changed_numbers(value, how):
            yield new, f"{verb} to {shown(new)}"
    read = number_of(value)
    if read is not None and read[1] in UNIT_SWAPS:
        magnitude, unit = read
        new = _written(magnitude, UNIT_SWAPS[unit], False)
        yield new, f"in {UNIT_SWAPS[unit]} instead of {unit} ({shown(new)})"


def shown(value: Any) -> str:
    """A value as a clinician reads it: a quantity as written, in pretty units ('600 mA·min',
    '6 year': not converted, so a threshold reads as its author wrote it)."""
    read = number_of(value)
    if read is not None and read[1]:
        try:
            quantity = parse_quantity(value, read[1])
        except UnitError:
            return str(value)
        return f"{read[0]:g} {pretty_unit(quantity.units)}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def said(condition: Any) -> str:
    """A condition as written, in the operators' symbols ('age < 6 year', 'site in [palms,
    soles]'), shortened to a line."""
    text = _said(condition)
    return text if len(text) <= _SAID_LIMIT else text[: _SAID_LIMIT - 1] + "…"


def _said(node: Any) -> str:
    if not isinstance(node, dict):
        return shown(node)
    if "fact" in node:
        ops = [k for k in node if k != "fact"]
        if len(ops) != 1 or ops[0] not in OPERATORS:
            return str(node.get("fact"))
        op, value = ops[0], node[ops[0]]
        if op == "is":
            return f"{node['fact']} is {'yes' if value else 'no'}"
        if op == "known":
            return f"{node['fact']} {'answered' if value else 'unanswered'}"
        return f"{node['fact']} {OPERATORS[op].symbol} {shown(value)}"
    if "not" in node:
        return f"not ({_said(node['not'])})"
    for kind, joiner in (("all", " and "), ("any", " or ")):
        if isinstance(node.get(kind), list):
            parts = [_said(p) for p in node[kind]]
            return joiner.join(f"({p})" if " and " in p or " or " in p else p for p in parts)
    return "?"
