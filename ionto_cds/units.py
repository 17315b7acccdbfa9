"""The one pint registry of ionto-cds and the parsing of clinician quantity strings."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import pint

from ionto_cds.errors import UnitError

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(cache_folder=None)
# The iontophoretic dose: current x time. `mA_min` is accepted as a spelling of mA * min.
ureg.define("mA_min = milliampere * minute")
pint.set_application_registry(ureg)  # type: ignore[no-untyped-call]

Quantity = ureg.Quantity

@lru_cache(maxsize=256)
def unit(name: str) -> Any:
    """A pint Unit from its name, parsed once (pint's parser is slow on hot paths)."""
    return ureg.Unit(name)


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

_MIDDLE_DOT = re.compile(r"\s*[·⋅×]\s*")


# pint's symbols that a clinician would misread ("a" is the annum): shown by name instead.
_READABLE_SYMBOLS = re.compile(r"\b(a|d)\b")
_SYMBOL_NAMES = {"a": "year", "d": "day"}


def unit_text(units: Any) -> str:
    """A unit as a clinician reads it: 'mA', 'cm ** 2', 'year' (never pint's 'a')."""
    return _READABLE_SYMBOLS.sub(lambda m: _SYMBOL_NAMES[m.group(1)], f"{units:~}")


def dimension_name(dimensionality: Any) -> str:
    """Name a pint dimensionality the way a clinician would ("a current", "an area")."""
    key = str(dimensionality)
    return _DIMENSION_NAMES.get(key, f"a quantity of dimension {key}")


def _normalise(text: str) -> str:
    return _MIDDLE_DOT.sub(" * ", text.strip()).replace("²", "^2")


def parse_quantity(value: object, unit_name: str) -> pint.Quantity[Any]:
    """Parse a clinician's quantity ("20 mA", "0.02 A", 15) in the dimension of ``unit``.

    A bare number means ``unit_name``. Raises :class:`UnitError` for text pint cannot read and for
    a unit of the wrong dimension.
    """
    expected = unit(unit_name)
    want = f"expected {dimension_name(expected.dimensionality)} ({unit_text(expected)})"
    if isinstance(value, bool) or value is None:
        raise UnitError(str(value), f"{want}, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise UnitError(str(value), f"{want}, got {value!r}")
        return Quantity(value, expected)
    if isinstance(value, pint.Quantity):
        quantity = value
        text = format_quantity(value)
    elif isinstance(value, str):
        text = value
        cleaned = _normalise(value)
        if not cleaned:
            raise UnitError(value, f"{want}, got an empty text")
        if not any(ch.isdigit() for ch in cleaned):
            example = f"12 {unit_name}"
            raise UnitError(value, f"{want}, got '{value}' (no number: write e.g. '{example}')")
        try:
            parsed = ureg.parse_expression(cleaned)
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
            raise UnitError(value, f"{want}, got '{value}' ({_why_unparsable(exc)})") from None
        except Exception:  # pint's tokenizer raises assorted errors on garbage text
            raise UnitError(value, f"{want}, got '{value}' (not a number with a unit)") from None
        quantity = parsed if isinstance(parsed, pint.Quantity) else Quantity(parsed, expected)
    else:
        raise UnitError(str(value), f"{want}, got {type(value).__name__} {value!r}")
    if not isinstance(quantity.magnitude, int | float) or not math.isfinite(quantity.magnitude):
        raise UnitError(text, f"{want}, got '{text}' (not a finite number)")
    if quantity.dimensionality != expected.dimensionality:
        got = dimension_name(quantity.dimensionality)
        raise UnitError(text, f"{want}, got '{text}' ({got})")
    return quantity


def _why_unparsable(exc: Exception) -> str:
    if isinstance(exc, pint.errors.UndefinedUnitError):
        names = ", ".join(f"'{n}'" for n in sorted(exc.unit_names))
        return f"unknown unit {names}"
    return "not a number with a unit"


def magnitude_in(value: object, unit_name: str) -> float:
    """The magnitude of ``value`` (a quantity string, Quantity or bare number) in ``unit_name``."""
    return float(parse_quantity(value, unit_name).to(unit(unit_name)).magnitude)


def format_quantity(quantity: pint.Quantity[Any], digits: int = 4) -> str:
    """A short, pint-parsable rendering such as '15 mA' or '0.05 mA / cm ** 2'."""
    magnitude = float(quantity.magnitude)
    rounded = float(f"{magnitude:.{digits}g}")
    shown: float | int = int(rounded) if rounded.is_integer() else rounded
    return f"{shown} {unit_text(quantity.units)}"
