"""Dose arithmetic in pint quantities: dose, charge, density, duration, Faraday's bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds.errors import UnitError
from ionto_cds.treatment.dosing import (
    FARADAY,
    charge_for,
    current_density,
    dose_for,
    duration_for,
    faraday_upper_bound,
)
from ionto_cds.units import Quantity

Q = Quantity


def test_dose_is_current_times_time():
    assert dose_for(Q(10, "mA"), Q(20, "min")).to("mA*min").magnitude == pytest.approx(200)
    assert str(dose_for(Q(10, "mA"), Q(20, "min")).units) == "milliampere * minute"
    # 0.01 A for 1200 s is the same 200 mA*min
    assert dose_for(Q(0.01, "A"), Q(1200, "s")).magnitude == pytest.approx(200)


def test_charge_in_coulombs():
    # 10 mA x 20 min = 0.01 A x 1200 s = 12 C
    assert charge_for(Q(10, "mA"), Q(20, "min")).to("C").magnitude == pytest.approx(12)
    assert str(charge_for(Q(10, "mA"), Q(20, "min")).units) == "coulomb"


def test_current_density():
    assert current_density(Q(3, "mA"), Q(6, "cm^2")).magnitude == pytest.approx(0.5)
    assert current_density(Q(3, "mA"), Q(0.0006, "m^2")).magnitude == pytest.approx(0.5)
    with pytest.raises(UnitError) as info:
        current_density(Q(3, "mA"), Q(0, "cm^2"))
    assert str(info.value) == ("expected an area (cm²), got '0 cm²' (the electrode area must be "
                               "above zero)")


def test_duration_for_a_target_dose():
    # 40 mA*min at 4 mA takes 10 min; at 2 mA, 20 min
    assert duration_for(Q(40, "mA*min"), Q(4, "mA")).to("min").magnitude == pytest.approx(10)
    assert duration_for(Q(40, "mA*min"), Q(2, "mA")).magnitude == pytest.approx(20)
    with pytest.raises(UnitError, match=r"the current must be above zero"):
        duration_for(Q(40, "mA*min"), Q(0, "mA"))


def test_faraday_upper_bound():
    assert FARADAY.magnitude == pytest.approx(96485.33212)
    # One faraday of charge carries one mole of a monovalent ion: 398.33 g of glycopyrronium Br.
    one_faraday = faraday_upper_bound(Q(96485.33212, "C"), 1, Q(398.33, "g/mol"))
    assert one_faraday.to("g").magnitude == pytest.approx(398.33)
    # dexamethasone: 9 C, z = 2, 516.4 g/mol -> 9 / (2 F) mol x 516.4 g/mol = 24.08 mg
    dex = faraday_upper_bound(Q(9, "C"), 2, Q(516.4, "g/mol"))
    assert dex.to("mg").magnitude == pytest.approx(9 / (2 * 96485.33212) * 516.4 * 1000)
    with pytest.raises(UnitError, match=r"a positive whole number"):
        faraday_upper_bound(Q(9, "C"), 0, Q(516.4, "g/mol"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dose_for(Q(10, "min"), Q(20, "min")),
         "expected a current (mA), got '10 min' (a time)"),
        (lambda: dose_for(Q(10, "mA"), Q(20, "mA")),
         "expected a time (min), got '20 mA' (a current)"),
        (lambda: dose_for(10, Q(20, "min")), "expected a current (mA), got 10 (a bare number)"),
        (lambda: current_density(Q(3, "mA"), Q(6, "cm")),
         "expected an area (cm²), got '6 cm' (a length)"),
        (lambda: duration_for(Q(40, "mA"), Q(4, "mA")),
         "expected a dose (charge) (mA·min), got '40 mA' (a current)"),
        (lambda: faraday_upper_bound(Q(9, "C"), 1, Q(5, "g")),
         "expected a molar mass (g/mol), got '5 g' (a mass)"),
    ],
)
def test_unit_errors(call, message):
    with pytest.raises(UnitError) as info:
        call()
    assert str(info.value) == message


currents_mA = st.floats(min_value=0.01, max_value=50, allow_nan=False)
minutes = st.floats(min_value=0.1, max_value=60, allow_nan=False)
areas = st.floats(min_value=0.5, max_value=500, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(i=currents_mA, t=minutes, a=areas)
def test_arithmetic_agrees_whatever_the_input_units(i, t, a):
    in_mA = dose_for(Q(i, "mA"), Q(t, "min"))
    in_A_s = dose_for(Q(i / 1000, "A"), Q(t * 60, "s"))
    in_uA_h = dose_for(Q(i * 1000, "uA"), Q(t / 60, "h"))
    assert in_A_s.magnitude == pytest.approx(in_mA.magnitude, rel=1e-9)
    assert in_uA_h.magnitude == pytest.approx(in_mA.magnitude, rel=1e-9)
    assert in_mA.magnitude == pytest.approx(i * t, rel=1e-9)
    assert charge_for(Q(i, "mA"), Q(t, "min")).magnitude == pytest.approx(i * t * 60 / 1000,
                                                                          rel=1e-9)
    assert current_density(Q(i / 1000, "A"), Q(a / 1e4, "m^2")).magnitude == pytest.approx(
        i / a, rel=1e-9)
    back = duration_for(in_A_s, Q(i / 1000, "A"))
    assert back.to("min").magnitude == pytest.approx(t, rel=1e-9)
