"""The limits of a session, gathered once and checked once (plans, course log, dose CLI, widget)."""

from __future__ import annotations

import pytest

from ionto_cds import load_ruleset
from ionto_cds.treatment.limits import Limit, LimitKind, check_limits, limits_for, tightest
from ionto_cds.units import Quantity

Q = Quantity
LIMITS = [Limit(LimitKind.MAX_CURRENT, Q(20, "mA"), "protocol p"),
          Limit(LimitKind.MAX_CURRENT, Q(10, "mA"), "rule child"),
          Limit(LimitKind.MAX_DOSE, Q(80, "mA*min"), "drug d"),
          Limit(LimitKind.MAX_CURRENT_DENSITY, Q(0.5, "mA/cm^2"), "cathode limit")]


def test_tightest_is_the_lowest_of_its_kind():
    assert tightest(LIMITS, LimitKind.MAX_CURRENT).source == "rule child"
    assert tightest(LIMITS[:2], LimitKind.MAX_DOSE) is None


def test_every_limit_kept_broken_or_unchecked():
    kept = check_limits(LIMITS, Q(10, "mA"), Q(8, "min"), Q(20, "cm^2"))
    assert all(c.checked and not c.broken for c in kept)
    # exactly at the limit is allowed (a relative tolerance for rounding, nothing more)
    assert not any(c.broken for c in check_limits(LIMITS, Q(0.01, "A"), Q(480, "s"),
                                                  Q(20, "cm^2")))
    broken = [c for c in check_limits(LIMITS, Q(12, "mA"), Q(10, "min"), Q(4, "cm^2"))
              if c.broken]
    assert [str(c) for c in broken] == [
        "12 mA exceeds the maximum current 10 mA (rule child)",
        "120 mA·min exceeds the maximum dose 80 mA·min (drug d)",
        "3 mA/cm² exceeds the maximum current density 0.5 mA/cm² (cathode limit)",
    ]


def test_density_without_an_area_is_unchecked_never_passed():
    checks = check_limits(LIMITS, Q(12, "mA"), Q(10, "min"), None)
    density = next(c for c in checks if c.limit.kind is LimitKind.MAX_CURRENT_DENSITY)
    assert not density.checked and not density.broken
    assert str(density) == ("maximum current density 0.5 mA/cm² (cathode limit): not checked, "
                            "electrode area not given")


@pytest.fixture(scope="module")
def rs():
    return load_ruleset()


def test_limits_of_a_drug_protocol_come_from_every_source(rs):
    protocol = next(p for p in rs.protocols if p.drug == "dexamethasone")
    drug = rs.drugs["dexamethasone"]
    got = limits_for(protocol, drug, rs.limits, [("max_current", Q(2, "mA"), "a-rule")])
    sources = [lim.source for lim in got]
    assert f"drug {drug.key}" in sources
    assert "cathode current-density limit" in sources  # dexamethasone is given at the cathode
    assert "rule a-rule" in sources
    assert tightest(got, LimitKind.MAX_CURRENT).value == Q(2, "mA")


def test_plans_are_held_to_exactly_these_limits(rs):
    for protocol in rs.protocols:
        if protocol.is_referral:
            continue
        drug = rs.drugs.get(protocol.drug) if protocol.drug else None
        plan = rs.plan(protocol, [], None)
        assert list(plan.limits) == limits_for(protocol, drug, rs.limits, [])
