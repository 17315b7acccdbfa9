"""The dose calculator: one check over the protocol's limits; never OK about an unchecked one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds import load_ruleset
from ionto_cds.errors import UnitError, UsageError
from ionto_cds.treatment.calculator import Verdict, check_session, find_protocol, read_session
from ionto_cds.units import Quantity
from ionto_cds.widgets.dose_calculator import DoseCalculator

Q = Quantity


@pytest.fixture(scope="module")
def rs():
    return load_ruleset()


def check(rs, current, duration=None, dose=None, area=None, protocol=None, drug=None,
          polarity=None):
    p = find_protocol(rs.protocols, rs.drugs, protocol, drug)
    i, t, a = read_session(current, duration, dose, area)
    key = p.drug if p is not None else None
    return check_session(current=i, duration=t, area=a, protocol=p,
                         drug=rs.drugs.get(key) if key else None, global_limits=rs.limits,
                         polarity=polarity)


def test_drug_dose_within_every_limit(rs):
    result = check(rs, "3 mA", dose="40 mA*min", area="6 cm^2", drug="dexamethasone")
    assert result.verdict is Verdict.WITHIN and result.safe
    assert result.duration.magnitude == pytest.approx(40 / 3)
    assert result.polarity == "cathode"
    assert result.density.magnitude == pytest.approx(0.5)  # exactly at the cathode limit
    assert result.render().splitlines()[-1].startswith("OK: within every limit of ")


def test_drug_without_an_area_is_not_confirmed(rs):
    result = check(rs, "3 mA", dose="40 mA*min", drug="dexamethasone")
    assert result.verdict is Verdict.INCOMPLETE and not result.safe
    text = result.render()
    assert "OK" not in text
    assert ("current density 0.5 mA/cm² (current-density limit for the cathode electrode): "
            "not checked, electrode area not given") in text


def test_tap_water_limits_apply_whatever_front_end(rs):
    # The case of the issue: 30 mA for 20 min over 100 cm² breaks the tap-water protocol's
    # 20 mA limit; the CLI and the widget must both say so.
    result = check(rs, "30mA", duration="20min", area="100cm^2",
                   protocol="tap-water-palmoplantar")
    assert result.verdict is Verdict.REFUSED
    assert any("maximum current 20 mA" in str(c) for c in result.broken)
    calc = DoseCalculator(rs)
    calc.protocol.value = "tap-water-palmoplantar"
    calc.current.value, calc.mode.value, calc.amount.value = "30mA", "duration", "20min"
    calc.area.value = "100cm^2"
    assert calc.check is not None
    assert [str(c) for c in calc.check.checks] == [str(c) for c in result.checks]


def test_without_a_protocol_the_protocol_limits_are_not_checked(rs):
    result = check(rs, "30mA", duration="20min", area="100cm^2")
    assert result.verdict is Verdict.INCOMPLETE
    assert "not checked, no protocol given" in result.render()
    assert "OK" not in result.render()


def test_density_by_polarity(rs):
    # 8 mA over 10 cm^2 = 0.8 mA/cm^2: under the 1.0 anode limit, over the 0.5 cathode limit
    anode = check(rs, "8 mA", duration="10 min", area="10 cm^2", polarity="anode")
    cathode = check(rs, "8 mA", duration="10 min", area="10 cm^2", polarity="cathode")
    assert not [c for c in anode.broken if c.limit.kind.value == "max_current_density"]
    assert [c.limit.source for c in cathode.broken] == ["cathode current-density limit"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"current": "5 kg", "duration": "1 min"}, UnitError,
         "expected a current (mA), got '5 kg' (a mass)"),
        ({"current": "5 mA", "duration": "1 mA"}, UnitError,
         "expected a time (min), got '1 mA' (a current)"),
        ({"current": "5 mA"}, UsageError, "give exactly one of a duration or a target dose"),
        ({"current": "5 mA", "duration": "1 min", "dose": "5 mA*min"}, UsageError,
         "give exactly one of a duration or a target dose"),
        ({"current": "0 mA", "duration": "1 min"}, UsageError,
         "the current must be above zero"),
        ({"current": "5 mA", "duration": "1 min", "drug": "lidocain"}, UsageError,
         "unknown drug 'lidocain' (did you mean 'lidocaine'?); drugs: glycopyrronium, "
         "dexamethasone, acetic_acid, lidocaine"),
        ({"current": "5 mA", "duration": "1 min", "protocol": "tap-water"}, UsageError,
         "unknown protocol 'tap-water' (did you mean 'tap-water-axillae'?); protocols: "),
    ],
)
def test_input_errors(rs, kwargs, error, message):
    with pytest.raises(error) as info:
        check(rs, **kwargs)
    assert str(info.value).startswith(message)


@settings(max_examples=60, deadline=None)
@given(current=st.floats(0.1, 40), minutes=st.floats(1, 40), area=st.floats(1, 200),
       k=st.integers(0, 20))
def test_plan_calculator_and_widget_agree_on_every_limit(rs, current, minutes, area, k):
    treatments = [p for p in rs.protocols if not p.is_referral]
    protocol = treatments[k % len(treatments)]
    drug = rs.drugs.get(protocol.drug) if protocol.drug else None
    mine = check_session(current=Q(current, "mA"), duration=Q(minutes, "min"),
                         area=Q(area, "cm^2"), protocol=protocol, drug=drug,
                         global_limits=rs.limits)
    plan_limits = rs.plan(protocol, [], None).limits
    assert [c.limit for c in mine.checks] == list(plan_limits)
