"""Dose arithmetic and limits, in pint quantities; the stand-alone dose calculator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds import load_ruleset
from ionto_cds.dose_check import check_dose
from ionto_cds.dosing import (
    FARADAY,
    Limit,
    charge_for,
    check_limits,
    current_density,
    dose_for,
    duration_for,
    faraday_upper_bound,
    tightest,
)
from ionto_cds.errors import UnitError, UsageError
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
    with pytest.raises(ValueError, match=r"^electrode area must be above zero$"):
        current_density(Q(3, "mA"), Q(0, "cm^2"))


def test_duration_for_a_target_dose():
    # 40 mA*min at 4 mA takes 10 min; at 2 mA, 20 min
    assert duration_for(Q(40, "mA*min"), Q(4, "mA")).to("min").magnitude == pytest.approx(10)
    assert duration_for(Q(40, "mA*min"), Q(2, "mA")).magnitude == pytest.approx(20)
    with pytest.raises(ValueError, match=r"^current must be above zero$"):
        duration_for(Q(40, "mA*min"), Q(0, "mA"))


def test_faraday_upper_bound():
    assert FARADAY.magnitude == pytest.approx(96485.33212)
    # One faraday of charge carries one mole of a monovalent ion: 398.33 g of glycopyrronium Br.
    one_faraday = faraday_upper_bound(Q(96485.33212, "C"), 1, Q(398.33, "g/mol"))
    assert one_faraday.to("g").magnitude == pytest.approx(398.33)
    # dexamethasone: 9 C, z = 2, 516.4 g/mol -> 9 / (2 F) mol x 516.4 g/mol = 24.08 mg
    dex = faraday_upper_bound(Q(9, "C"), 2, Q(516.4, "g/mol"))
    assert dex.to("mg").magnitude == pytest.approx(9 / (2 * 96485.33212) * 516.4 * 1000)
    with pytest.raises(ValueError, match=r"^valence must be a positive whole number$"):
        faraday_upper_bound(Q(9, "C"), 0, Q(516.4, "g/mol"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dose_for(Q(10, "min"), Q(20, "min")),
         "current: expected a current (mA), got a time"),
        (lambda: dose_for(Q(10, "mA"), Q(20, "mA")),
         "duration: expected a time (min), got a current"),
        (lambda: dose_for(10, Q(20, "min")), "current: expected a current (mA), got a bare number"),
        (lambda: current_density(Q(3, "mA"), Q(6, "cm")),
         "electrode area: expected an area (cm ** 2), got a length"),
        (lambda: duration_for(Q(40, "mA"), Q(4, "mA")),
         "dose: expected a dose (charge) (mA * min), got a current"),
        (lambda: faraday_upper_bound(Q(9, "C"), 1, Q(5, "g")),
         "molar mass: expected a molar mass (g / mol), got a mass"),
    ],
)
def test_unit_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_limits():
    limits = [Limit("max_current", Q(20, "mA"), "protocol p"),
              Limit("max_current", Q(10, "mA"), "rule child"),
              Limit("max_dose", Q(80, "mA*min"), "drug d"),
              Limit("max_current_density", Q(0.5, "mA/cm^2"), "cathode limit")]
    assert tightest(limits, "max_current").source == "rule child"
    assert tightest(limits, "nothing") is None
    assert check_limits(limits, Q(10, "mA"), Q(8, "min"), Q(20, "cm^2")) == []
    # exactly at the limit is allowed
    assert check_limits(limits, Q(0.01, "A"), Q(480, "s"), Q(20, "cm^2")) == []
    broken = check_limits(limits, Q(12, "mA"), Q(10, "min"), Q(4, "cm^2"))
    assert [str(v) for v in broken] == [
        "12 mA exceeds the maximum current 10 mA (rule child)",
        "120 mA * min exceeds the maximum dose 80 mA * min (drug d)",
        "3 mA / cm ** 2 exceeds the maximum current density 0.5 mA / cm ** 2 (cathode limit)",
    ]
    # density is only checked when the area is known
    assert len(check_limits(limits, Q(12, "mA"), Q(10, "min"), None)) == 2


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


# --- the dose calculator ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def rs():
    return load_ruleset()


def test_calculator_safe_combination(rs):
    result = check_dose(rs, current="3 mA", dose="40 mA*min", area="6 cm^2", drug="dexamethasone")
    assert result.safe
    assert result.duration.magnitude == pytest.approx(40 / 3)
    assert result.polarity == "cathode"
    assert result.density.magnitude == pytest.approx(0.5)  # exactly at the cathode limit
    assert result.render().endswith("OK: within every limit checked")


def test_calculator_refuses_and_names_each_limit(rs):
    result = check_dose(rs, current="5mA", duration="30min", drug="dexamethasone")
    assert not result.safe
    assert [str(v) for v in result.violations] == [
        "5 mA exceeds the maximum current 4 mA (drug dexamethasone)",
        "150 mA * min exceeds the maximum dose 80 mA * min (drug dexamethasone)",
    ]


def test_calculator_density_by_polarity(rs):
    # 20 mA over 10 cm^2 = 2 mA/cm^2, above the 0.5 alternating and the 1.0 anode limits
    alt = check_dose(rs, current="20 mA", duration="30 min", area="10 cm^2")
    assert [v.limit.source for v in alt.violations] == ["alternating current-density limit"]
    anode = check_dose(rs, current="8 mA", duration="10 min", area="10 cm^2", polarity="anode")
    assert anode.safe  # 0.8 mA/cm^2 under the 1.0 anode limit
    cathode = check_dose(rs, current="8 mA", duration="10 min", area="10 cm^2",
                         polarity="cathode")
    assert not cathode.safe  # 0.8 mA/cm^2 over the 0.5 cathode limit


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"current": "5 kg", "duration": "1 min"}, UnitError,
         "expected a current (mA), got '5 kg' (a mass)"),
        ({"current": "5 mA", "duration": "1 mA"}, UnitError,
         "expected a time (min), got '1 mA' (a current)"),
        ({"current": "5 mA"}, UsageError, "give exactly one of --duration or --dose"),
        ({"current": "5 mA", "duration": "1 min", "dose": "5 mA*min"}, UsageError,
         "give exactly one of --duration or --dose"),
        ({"current": "0 mA", "duration": "1 min"}, UsageError,
         "current and duration must be above zero"),
        ({"current": "5 mA", "duration": "1 min", "drug": "lidocain"}, UsageError,
         "unknown drug 'lidocain' (did you mean 'lidocaine'?); drugs: glycopyrronium, "
         "dexamethasone, acetic_acid, lidocaine"),
    ],
)
def test_calculator_input_errors(rs, kwargs, error, message):
    with pytest.raises(error) as info:
        check_dose(rs, **kwargs)
    assert str(info.value) == message
