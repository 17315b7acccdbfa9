"""The one pint registry of ionto-cds, the strict reading of quantity text, and unit display.

Quantity text is read by a small grammar of our own, never by pint's expression evaluator
(which evaluates arithmetic such as ``9**9**9``): a number, then a unit expression of known
unit names joined by ``*``, ``·``, ``.``, ``×``, ``/`` or a space, each with an optional small
whole exponent (``^2``, ``**2``, ``²``, or UCUM's ``cm2``). ``sq cm`` reads as cm². The number
is bounded; text longer than :data:`MAX_TEXT` is refused before it is read.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import pint

from ionto_cds.errors import GrammarError, UnitError

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(cache_folder=None)
# The iontophoretic dose: current x time. `mA_min` is accepted as a spelling of mA * min.
ureg.define("mA_min = milliampere * minute")
pint.set_application_registry(ureg)  # type: ignore[no-untyped-call]

Quantity = ureg.Quantity

MAX_TEXT = 64
"""Longest quantity text read (characters); longer text is refused unread."""
MAX_MAGNITUDE = 1e9
"""Largest magnitude accepted in any unit: far above every clinical range, far below overflow."""
MAX_EXPONENT = 3
"""Largest unit exponent (cm², mg/cm³)."""


@lru_cache(maxsize=256)
def unit(name: str) -> Any:
    """A pint Unit from a unit expression written by us or a rule author (read strictly)."""
    return _unit_expression(name)


# Dimension -> how a clinician names it, used in every unit error.
_DIMENSION_NAMES: dict[str, str] = {
    "[current]": "a current",
    "[time]": "a time",
    "[length]": "a length",
    "[length] ** 2": "an area",
    "[mass]": "a mass",
    "[current] * [time]": "a dose (charge)",
    "[current] / [length] ** 2": "a current density",
    "[mass] / [length] ** 3": "a concentration",
    "[mass] / [substance]": "a molar mass",
    "[substance]": "an amount of substance",
    "dimensionless": "a plain number",
}

# pint's symbols that a clinician would misread ("a" is the annum) or writes otherwise.
_READABLE_SYMBOLS = re.compile(r"\b(a|d|ml)\b")
_SYMBOL_NAMES = {"a": "year", "d": "day", "ml": "mL"}


@lru_cache(maxsize=512)
def unit_text(units: Any) -> str:
    """A unit in the form pint parses, e.g. 'mA', 'cm ** 2', 'year' (never pint's 'a')."""
    return _READABLE_SYMBOLS.sub(lambda m: _SYMBOL_NAMES[m.group(1)], f"{units:~}")


@lru_cache(maxsize=512)
def pretty_unit(units: Any) -> str:
    """A unit as a clinician reads it: 'mA·min', 'mA/cm²', 'mg/mL', 'year'."""
    return _READABLE_SYMBOLS.sub(lambda m: _SYMBOL_NAMES[m.group(1)], f"{units:~P}")


def dimension_name(dimensionality: Any) -> str:
    """Name a pint dimensionality the way a clinician would ("a current", "an area")."""
    key = str(dimensionality)
    return _DIMENSION_NAMES.get(key, f"a quantity of dimension {key}")


def expected_text(unit_name: str) -> str:
    """What a field expects, e.g. 'a current (mA)' or 'an area (cm²)'."""
    expected = unit(unit_name)
    return f"{dimension_name(expected.dimensionality)} ({pretty_unit(expected)})"


# --- the strict grammar ---------------------------------------------------------------------

_NUMBER = re.compile(r"\s*([+-]?(?:\d{1,15}(?:\.\d{0,15})?|\.\d{1,15})(?:[eE][+-]?\d{1,3})?)")
_NAME = re.compile(r"[A-Za-zµμΩ°_]+")
_SUPERSCRIPTS = {"¹": 1, "²": 2, "³": 3}
_JOIN = re.compile(r"\s*([*·⋅×./])\s*|\s+")
_POWER = re.compile(r"\s*(?:\^|\*\*)\s*(-?\d{1,2})|(-?\d{1,2})")
_SQUARE = re.compile(r"^(sq\.?|square)\s+", re.IGNORECASE)


def _exponent(text: str, at: int) -> tuple[int, int]:
    """An exponent written right after a unit name: ^2, **2, ², or UCUM's bare digit."""
    if at < len(text) and text[at] in _SUPERSCRIPTS:
        return _SUPERSCRIPTS[text[at]], at + 1
    match = _POWER.match(text, at)
    if match is None:
        return 1, at
    value = int(match.group(1) or match.group(2))
    if value == 0 or abs(value) > MAX_EXPONENT:
        raise GrammarError(f"unit exponent {value} is not allowed")
    return value, match.end()


def _unit_name(name: str) -> Any:
    try:
        return ureg.Unit(name)
    except (pint.errors.UndefinedUnitError, AttributeError, ValueError, TypeError,
            KeyError):
        raise GrammarError(f"unknown unit '{name}'") from None


def _unit_expression(text: str) -> Any:
    """A unit built from the grammar's terms; raises GrammarError."""
    text = _SQUARE.sub("", text.strip(), count=1) + ("^2" if _SQUARE.match(text.strip())
                                                      else "")
    if not text:
        raise GrammarError("no unit")
    result = ureg.Unit("")
    at, divide = 0, False
    while True:
        match = _NAME.match(text, at)
        if match is None:
            raise GrammarError(f"cannot read the unit at '{text[at:at + 10]}'")
        term = _unit_name(match.group(0))
        power, at = _exponent(text, match.end())
        result = result / term ** power if divide else result * term ** power
        if at == len(text):
            return result
        join = _JOIN.match(text, at)
        if join is None:
            raise GrammarError(f"cannot read the unit at '{text[at:at + 10]}'")
        divide = join.group(1) == "/"
        at = join.end()
        if at == len(text):
            raise GrammarError("the unit ends with an operator")


def _read_text(text: str, expected: Any, unit_name: str) -> Any:
    """Number and unit of a quantity text; raises GrammarError."""
    match = _NUMBER.match(text)
    if match is None:
        raise GrammarError(f"no number: write e.g. '12 {pretty_unit(expected)}'")
    magnitude = float(match.group(1))
    rest = text[match.end():].strip()
    if not rest:
        raise GrammarError(f"a plain number: write its unit, e.g. '{match.group(1).strip()} "
                          f"{pretty_unit(expected)}'")
    units = _unit_expression(rest)
    if not math.isfinite(magnitude) or abs(magnitude) > MAX_MAGNITUDE:
        raise GrammarError("not a finite number in range")
    return Quantity(magnitude, units)


def plain_number(text: str) -> float | None:
    """The number a text is, when it is only a number in the grammar ("34", "-2.5", "1e3"),
    finite and in range; else None (words, units, "nan", "inf", thousands separators)."""
    match = _NUMBER.fullmatch(text.strip()) if len(text) <= MAX_TEXT else None
    if match is None:
        return None
    number = float(match.group(1))
    return number if math.isfinite(number) and abs(number) <= MAX_MAGNITUDE else None


def parse_quantity(value: object, unit_name: str) -> pint.Quantity[Any]:
    """Read a clinician's quantity ("20 mA", "0.02 A", "4 cm2", 15) in the dimension of ``unit``.

    A bare number (int or float, not text) means ``unit_name``; text must name its unit.
    Raises :class:`UnitError` for text that is not a number with a known unit, for a unit of
    the wrong dimension and for a magnitude out of range.
    """
    expected = unit(unit_name)
    want = expected_text(unit_name)
    if isinstance(value, bool) or value is None:
        raise UnitError(value, want)
    if isinstance(value, int):
        if abs(value) > MAX_MAGNITUDE:
            raise UnitError(value, want, "not a finite number in range")
        return Quantity(value, expected)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise UnitError(value, want, "not a finite number in range")
        return Quantity(value, expected)
    if isinstance(value, pint.Quantity):
        quantity = value
        given: object = format_quantity(value)
        if not isinstance(value.magnitude, int | float) or not math.isfinite(value.magnitude):
            raise UnitError(given, want, "not a finite number")
    elif isinstance(value, str):
        given = value
        text = value.strip()
        if not text:
            raise UnitError(None, want)
        if len(text) > MAX_TEXT:
            raise UnitError(value, want, f"longer than {MAX_TEXT} characters")
        try:
            quantity = _read_text(text, expected, unit_name)
        except GrammarError as exc:
            raise UnitError(value, want, str(exc)) from None
    else:
        raise UnitError(value, want)
    if quantity.dimensionality != expected.dimensionality:
        raise UnitError(given, want, dimension_name(quantity.dimensionality))
    return quantity


def parse_unit(text: str, unit_name: str) -> Any:
    """A unit written alone (a column header's ``[lb]``) in the dimension of ``unit_name``."""
    want = expected_text(unit_name)
    if len(text) > MAX_TEXT:
        raise UnitError(text, f"a unit of {want}", f"longer than {MAX_TEXT} characters")
    try:
        units = _unit_expression(text)
    except GrammarError as exc:
        raise UnitError(text, f"a unit of {want}", str(exc)) from None
    if units.dimensionality != unit(unit_name).dimensionality:
        raise UnitError(text, f"a unit of {want}", dimension_name(units.dimensionality))
    return units


def is_unit(text: str) -> bool:
    """True when ``text`` is a unit expression the grammar reads (for the rules' `unit:`)."""
    try:
        _unit_expression(text)
    except GrammarError:
        return False
    return True


def magnitude_in(value: object, unit_name: str) -> float:
    """The magnitude of ``value`` (a quantity string, Quantity or bare number) in ``unit_name``."""
    return float(parse_quantity(value, unit_name).to(unit(unit_name)).magnitude)


def _shown(magnitude: float, digits: int) -> str:
    rounded = float(f"{magnitude:.{digits}g}")
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"


def format_quantity(quantity: pint.Quantity[Any], digits: int = 4) -> str:
    """A short, pint-parsable rendering such as '15 mA' or '0.05 mA / cm ** 2' (for JSON)."""
    return f"{_shown(float(quantity.magnitude), digits)} {unit_text(quantity.units)}"


def pretty_quantity(quantity: pint.Quantity[Any], digits: int = 4) -> str:
    """A quantity as a clinician reads it: '0.05 mA/cm²', '200 mA·min', '13 min 20 s'."""
    if quantity.dimensionality == unit("min").dimensionality:
        return duration_text(quantity)
    return f"{_shown(float(quantity.magnitude), digits)} {pretty_unit(quantity.units)}"


def duration_text(quantity: pint.Quantity[Any]) -> str:
    """A time in minutes and seconds ('13 min 20 s', '20 min'); days for a week or more."""
    minutes = float(quantity.to(unit("min")).magnitude)
    if minutes >= 24 * 60:
        days = minutes / (24 * 60)
        return f"{_shown(days, 3)} day{'s' if days != 1 else ''}"
    total = round(minutes * 60)
    whole, seconds = divmod(total, 60)
    if whole and seconds:
        return f"{whole} min {seconds} s"
    if whole:
        return f"{whole} min"
    return f"{seconds} s"
