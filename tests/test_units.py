"""Quantity parsing: one registry, structured unit errors with exact messages."""

from __future__ import annotations

import pint
import pytest

from ionto_cds.errors import UnitError
from ionto_cds.units import Quantity, format_quantity, magnitude_in, parse_quantity, ureg


@pytest.mark.parametrize(
    ("text", "unit", "expected_in_unit"),
    [
        ("20 mA", "mA", 20.0),
        ("0.02 A", "mA", 20.0),
        (15, "mA", 15.0),
        (2.5, "mA", 2.5),
        ("1 h", "min", 60.0),
        ("90 s", "min", 1.5),
        ("18 month", "year", 1.5),
        ("2 mA·min", "mA*min", 2.0),
        ("2 mA × min", "mA*min", 2.0),
        ("3 mA_min", "mA*min", 3.0),
        ("1 C", "mA*min", 1000 / 60),
        ("4 cm²", "cm^2", 4.0),
        ("0.0004 m^2", "cm^2", 4.0),
        ("150 lb", "kg", 150 * 0.45359237),
    ],
)
def test_parse_quantity_converts_to_the_facts_unit(text, unit, expected_in_unit):
    assert magnitude_in(text, unit) == pytest.approx(expected_in_unit, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        ("abc", "mA", "expected a current (mA), got 'abc' (no number: write e.g. '12 mA')"),
        ("5 foo", "mA", "expected a current (mA), got '5 foo' (unknown unit 'foo')"),
        ("", "mA", "expected a current (mA), got an empty text"),
        ("   ", "mA", "expected a current (mA), got an empty text"),
        (True, "mA", "expected a current (mA), got True"),
        (None, "mA", "expected a current (mA), got None"),
        (float("nan"), "mA", "expected a current (mA), got nan"),
        (float("inf"), "min", "expected a time (min), got inf"),
        ("5 kg", "mA", "expected a current (mA), got '5 kg' (a mass)"),
        ("20 min", "mA", "expected a current (mA), got '20 min' (a time)"),
        ("15 min", "mA*min", "expected a dose (charge) (mA * min), got '15 min' (a time)"),
        ("4 cm", "cm^2", "expected an area (cm ** 2), got '4 cm' (a length)"),
        ("1e400 mA", "mA", "expected a current (mA), got '1e400 mA' (not a finite number)"),
        ([1], "mA", "expected a current (mA), got list [1]"),
    ],
)
def test_parse_quantity_refuses_with_exact_message(value, unit, message):
    with pytest.raises(UnitError) as info:
        parse_quantity(value, unit)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_unit_error_for_years_names_the_unit_a_clinician_knows():
    # pint abbreviates year as 'a' (annum): "expected a time (a)" means nothing to a clinician.
    with pytest.raises(UnitError) as info:
        parse_quantity("5 kg", "year")
    assert "(a)" not in str(info.value)


def test_bare_number_means_the_default_unit():
    q = parse_quantity(34, "year")
    assert q.units == ureg.year and q.magnitude == 34


def test_quantity_passes_through_and_is_checked():
    assert parse_quantity(Quantity(3, "mA"), "mA").to("mA").magnitude == 3
    with pytest.raises(UnitError):
        parse_quantity(Quantity(3, "s"), "mA")


def test_one_application_registry():
    assert pint.get_application_registry().get() is ureg
    assert (Quantity(1, "mA_min") / Quantity(1, "mA * min")).to("").magnitude == 1


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (Quantity(15, "mA"), "15 mA"),
        (Quantity(15.0, "mA"), "15 mA"),
        (Quantity(200.0, "mA*min"), "200 mA * min"),
        (Quantity(0.05, "mA/cm^2"), "0.05 mA / cm ** 2"),
        (Quantity(1 / 3, "min"), "0.3333 min"),
    ],
)
def test_format_quantity_is_short_and_parsable(quantity, text):
    assert format_quantity(quantity) == text
    back = ureg.parse_expression(text)
    assert back.to(quantity.units).magnitude == pytest.approx(quantity.magnitude, rel=1e-3)
