"""Dose arithmetic in pint quantities (never bare floats): dose, duration, density, charge."""

from __future__ import annotations

from typing import Any

from ionto_cds.errors import UnitError
from ionto_cds.units import Quantity, dimension_name, expected_text, pretty_quantity, unit

Q = Any  # pint Quantity

FARADAY = Quantity(96485.33212, "C/mol")
"""Faraday's constant (CODATA 2018, exact since the 2019 SI redefinition)."""


def _require(value: Q, unit_name: str) -> Q:
    expected = unit(unit_name)
    if not hasattr(value, "dimensionality"):
        raise UnitError(value, expected_text(unit_name), "a bare number")
    if value.dimensionality != expected.dimensionality:
        raise UnitError(pretty_quantity(value), expected_text(unit_name),
                        dimension_name(value.dimensionality))
    return value


def _positive(value: Q, unit_name: str, what: str) -> Q:
    _require(value, unit_name)
    if not value.magnitude > 0:
        raise UnitError(pretty_quantity(value), expected_text(unit_name),
                        f"{what} must be above zero")
    return value


def dose_for(current: Q, duration: Q) -> Q:
    """The iontophoretic dose, current x time, in mA·min."""
    _require(current, "mA")
    _require(duration, "min")
    return (current * duration).to(unit("mA*min"))


def charge_for(current: Q, duration: Q) -> Q:
    """The charge passed, in coulombs."""
    return dose_for(current, duration).to(unit("C"))


def current_density(current: Q, area: Q) -> Q:
    """Current per electrode area, in mA/cm²."""
    _require(current, "mA")
    _positive(area, "cm^2", "the electrode area")
    return (current / area).to(unit("mA/cm^2"))


def duration_for(dose: Q, current: Q) -> Q:
    """How long a current must flow to give a dose, in minutes."""
    _require(dose, "mA*min")
    _positive(current, "mA", "the current")
    return (dose / current).to(unit("min"))


def faraday_upper_bound(charge: Q, valence: int, molar_mass: Q) -> Q:
    """Most drug the charge could carry (transport number 1), in mg.

    Real delivery is a small fraction of this: other ions carry most of the current.
    """
    _require(charge, "C")
    _positive(molar_mass, "g/mol", "the molar mass")
    if valence <= 0:
        raise UnitError(valence, "a valence", "a positive whole number")
    return (charge / (valence * FARADAY) * molar_mass).to(unit("mg"))
