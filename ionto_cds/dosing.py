"""Dose arithmetic and limit checks, all in pint quantities (never bare floats)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ionto_cds.units import Quantity, dimension_name, format_quantity, unit

Q = Any  # pint Quantity

FARADAY = Quantity(96485.33212, "C/mol")
"""Faraday's constant (CODATA 2018, exact since the 2019 SI redefinition)."""


def _require(value: Q, unit_name: str, name: str) -> Q:
    expected = unit(unit_name)
    if not hasattr(value, "dimensionality") or value.dimensionality != expected.dimensionality:
        got = dimension_name(value.dimensionality) if hasattr(value, "dimensionality") else (
            "a bare number")
        raise ValueError(f"{name}: expected {dimension_name(expected.dimensionality)} "
                         f"({expected:~}), got {got}")
    return value


def dose_for(current: Q, duration: Q) -> Q:
    """The iontophoretic dose, current x time, in mA·min."""
    _require(current, "mA", "current")
    _require(duration, "min", "duration")
    return (current * duration).to(unit("mA*min"))


def charge_for(current: Q, duration: Q) -> Q:
    """The charge passed, in coulombs."""
    return dose_for(current, duration).to(unit("C"))


def current_density(current: Q, area: Q) -> Q:
    """Current per electrode area, in mA/cm²."""
    _require(current, "mA", "current")
    _require(area, "cm^2", "electrode area")
    if area.magnitude <= 0:
        raise ValueError("electrode area must be above zero")
    return (current / area).to(unit("mA/cm^2"))


def duration_for(dose: Q, current: Q) -> Q:
    """How long a current must flow to give a dose, in minutes."""
    _require(dose, "mA*min", "dose")
    _require(current, "mA", "current")
    if current.magnitude <= 0:
        raise ValueError("current must be above zero")
    return (dose / current).to(unit("min"))


def faraday_upper_bound(charge: Q, valence: int, molar_mass: Q) -> Q:
    """Most drug the charge could carry (transport number 1), in mg.

    Real delivery is a small fraction of this: other ions carry most of the current.
    """
    _require(charge, "C", "charge")
    _require(molar_mass, "g/mol", "molar mass")
    if valence <= 0:
        raise ValueError("valence must be a positive whole number")
    return (charge / (valence * FARADAY) * molar_mass).to(unit("mg"))


@dataclass(frozen=True)
class Limit:
    """A ceiling on one quantity and where it comes from (a protocol, a drug, a rule)."""

    name: str  # max_current | max_dose | max_current_density
    value: Q
    source: str

    def describe(self) -> str:
        """E.g. 'maximum current 10 mA (rule child-current-cap)'."""
        label = {"max_current": "maximum current", "max_dose": "maximum dose",
                 "max_current_density": "maximum current density"}[self.name]
        return f"{label} {format_quantity(self.value)} ({self.source})"


@dataclass(frozen=True)
class LimitViolation:
    """A quantity above its limit."""

    limit: Limit
    actual: Q

    def __str__(self) -> str:
        return f"{format_quantity(self.actual)} exceeds the {self.limit.describe()}"


def tightest(limits: list[Limit], name: str) -> Limit | None:
    """The lowest limit of one kind, or None."""
    found = [lim for lim in limits if lim.name == name]
    return min(found, key=lambda lim: lim.value) if found else None


def check_limits(
    limits: list[Limit], current: Q, duration: Q, area: Q | None
) -> list[LimitViolation]:
    """Every limit the given current, duration and electrode area break (empty when safe)."""
    actual = {"max_current": current, "max_dose": dose_for(current, duration)}
    if area is not None:
        actual["max_current_density"] = current_density(current, area)
    # A tiny tolerance so that a value set exactly at its limit never fails on rounding.
    return [
        LimitViolation(lim, actual[lim.name])
        for lim in limits
        if lim.name in actual and actual[lim.name] > lim.value * (1 + 1e-9)
    ]
