"""Quantity text read by a strict grammar (never evaluated); one registry; display units."""

from __future__ import annotations

import time

import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds.errors import UnitError
from ionto_cds.units import (
    Quantity,
    duration_text,
    format_quantity,
    magnitude_in,
    parse_quantity,
    parse_unit,
    plain_number,
    pretty_quantity,
    ureg,
)


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
        ("2 mA.min", "mA*min", 2.0),  # UCUM
        ("3 mA_min", "mA*min", 3.0),
        ("1 C", "mA*min", 1000 / 60),
        ("4 cm²", "cm^2", 4.0),
        ("4 cm2", "cm^2", 4.0),  # UCUM
        ("4 cm^2", "cm^2", 4.0),
        ("4 cm ** 2", "cm^2", 4.0),
        ("4 sq cm", "cm^2", 4.0),
        ("0.0004 m^2", "cm^2", 4.0),
        ("0.5 mA/cm2", "mA/cm^2", 0.5),
        ("4 mg/mL", "mg/mL", 4.0),
        ("150 lb", "kg", 150 * 0.45359237),
        ("1e1 mA", "mA", 10.0),
    ],
)
def test_parse_quantity_converts_to_the_facts_unit(text, unit, expected_in_unit):
    assert magnitude_in(text, unit) == pytest.approx(expected_in_unit, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        ("abc", "mA", "expected a current (mA), got 'abc' (no number: write e.g. '12 mA')"),
        ("5 foo", "mA", "expected a current (mA), got '5 foo' (unknown unit 'foo')"),
        ("", "mA", "expected a current (mA), got nothing"),
        ("   ", "mA", "expected a current (mA), got nothing"),
        (True, "mA", "expected a current (mA), got yes"),
        (None, "mA", "expected a current (mA), got nothing"),
        (float("nan"), "mA", "expected a current (mA), got nan (not a finite number in range)"),
        (float("inf"), "min", "expected a time (min), got inf (not a finite number in range)"),
        ("5 kg", "mA", "expected a current (mA), got '5 kg' (a mass)"),
        ("20 min", "mA", "expected a current (mA), got '20 min' (a time)"),
        ("15 min", "mA*min", "expected a dose (charge) (mA·min), got '15 min' (a time)"),
        ("4 cm", "cm^2", "expected an area (cm²), got '4 cm' (a length)"),
        ("6 cm2x", "cm^2", "expected an area (cm²), got '6 cm2x' (cannot read the unit at 'x')"),
        ("1e400 mA", "mA",
         "expected a current (mA), got '1e400 mA' (not a finite number in range)"),
        ("3", "mA*min",
         "expected a dose (charge) (mA·min), got '3' (a plain number: write its unit, e.g. "
         "'3 mA·min')"),
        ([1], "mA", "expected a current (mA), got a list"),
    ],
)
def test_parse_quantity_refuses_with_exact_message(value, unit, message):
    with pytest.raises(UnitError) as info:
        parse_quantity(value, unit)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["2**2**2**2**2 mA", "9**9**9 year", "10 mA * 3", "(2) mA",
                                  "2 + 2 mA", "10 mA / 0", "10 mA ** 1000", "10 m^99",
                                  "__import__ mA", "1_000 mA", "0x10 mA"])
def test_arithmetic_is_refused_never_evaluated(text):
    start = time.perf_counter()
    with pytest.raises(UnitError):
        parse_quantity(text, "mA")
    assert time.perf_counter() - start < 0.5


def test_long_and_huge_inputs_are_refused_unread():
    with pytest.raises(UnitError) as info:
        parse_quantity("9" * 10_000_000 + " mA", "mA")
    assert "longer than 64 characters" in str(info.value)
    assert len(str(info.value)) < 200
    with pytest.raises(UnitError):
        parse_quantity(10**400, "mA")


def test_unit_error_for_years_names_the_unit_a_clinician_knows():
    # pint abbreviates year as 'a' (annum): "expected a time (a)" means nothing to a clinician.
    with pytest.raises(UnitError) as info:
        parse_quantity("5 kg", "year")
    assert "(a)" not in str(info.value) and "(year)" in str(info.value)


def test_bare_number_means_the_default_unit():
    q = parse_quantity(34, "year")
    assert q.units == ureg.year and q.magnitude == 34
    assert plain_number(" 34 ") == 34.0
    assert plain_number("34 year") is None and plain_number("nan") is None


def test_header_units():
    assert parse_unit("lb", "kg") == ureg.pound
    with pytest.raises(UnitError) as info:
        parse_unit("cm", "kg")
    assert str(info.value) == "expected a unit of a mass (kg), got 'cm' (a length)"


def test_quantity_passes_through_and_is_checked():
    assert parse_quantity(Quantity(3, "mA"), "mA").to("mA").magnitude == 3
    with pytest.raises(UnitError):
        parse_quantity(Quantity(3, "s"), "mA")


def test_one_application_registry():
    assert pint.get_application_registry().get() is ureg
    assert (Quantity(1, "mA_min") / Quantity(1, "mA * min")).to("").magnitude == 1


@pytest.mark.parametrize(
    ("quantity", "text", "pretty"),
    [
        (Quantity(15, "mA"), "15 mA", "15 mA"),
        (Quantity(15.0, "mA"), "15 mA", "15 mA"),
        (Quantity(200.0, "mA*min"), "200 mA * min", "200 mA·min"),
        (Quantity(0.05, "mA/cm^2"), "0.05 mA / cm ** 2", "0.05 mA/cm²"),
        (Quantity(4, "mg/mL"), "4 mg / mL", "4 mg/mL"),
        (Quantity(1 / 3, "min"), "0.3333 min", "20 s"),
        (Quantity(40 / 3, "min"), "13.33 min", "13 min 20 s"),
        (Quantity(7, "day"), "7 day", "7 days"),
    ],
)
def test_json_text_is_parsable_and_people_see_pretty_units(quantity, text, pretty):
    assert format_quantity(quantity) == text
    assert pretty_quantity(quantity) == pretty
    back = ureg.parse_expression(text)  # pint itself reads our JSON (trusted text)
    assert back.to(quantity.units).magnitude == pytest.approx(quantity.magnitude, rel=1e-3)


def test_durations_in_minutes_and_seconds():
    assert duration_text(Quantity(20, "min")) == "20 min"
    assert duration_text(Quantity(90, "s")) == "1 min 30 s"
    assert duration_text(Quantity(12, "min")) == "12 min"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_read_or_refused_with_a_unit_error(text):
    try:
        parse_quantity(text, "mA")
    except UnitError as exc:
        assert len(str(exc)) < 300
