"""Sensitivity and what-if differences agree with re-running assess on every change."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import LIMITS_YAML, RULES, patient, protocol_yaml, rule_yaml, tiny_rules

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.analysis.cases import read_cases
from ionto_cds.analysis.sensitivity import (
    CLEAR,
    alternatives,
    apply,
    difference,
    sensitivity,
    single_changes,
    thresholds,
)


@pytest.fixture(scope="module")
def rs() -> Any:
    return load_ruleset()


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    found, errors = read_cases(RULES / "cases")
    assert not errors
    return {c.id: c for c in found}


@pytest.mark.parametrize("case_id", ["pacemaker-palmar", "glycopyrronium-glaucoma-falls-back",
                                     "unknown-absolute-with-relative", "copper-iud-palms"])
def test_every_change_agrees_with_assess(rs: Any, cases: dict[str, Any], case_id: str) -> None:
    answers = cases[case_id].answers
    before = assess(answers, rs)
    changes = single_changes(answers, rs)
    assert changes
    for change in changes:
        again = assess(apply(answers, change.alternative), rs)
        assert again.decision is change.after.decision, change.alternative
        assert change.before.decision is before.decision
    expected = [c.alternative for c in changes if c.after.decision is not before.decision]
    assert [c.alternative for c in sensitivity(answers, rs)] == expected


def test_pacemaker_case_turns_on_the_pacemaker_answer(rs: Any, cases: dict[str, Any]) -> None:
    found = {(c.alternative.fact, c.alternative.shown): c.after.decision
             for c in sensitivity(cases["pacemaker-palmar"].answers, rs)}
    assert found == {("pacemaker", "No"): Decision.ELIGIBLE,
                     ("pacemaker", "clear (unknown)"): Decision.NEEDS_INFORMATION}


def test_every_fact_is_offered_and_cleared_when_answered(rs: Any) -> None:
    answers = patient()
    offered = {c.alternative.fact for c in single_changes(answers, rs)}
    assert {"pacemaker", "site", "drug_allergies", "age"} <= offered
    pacemaker = alternatives(rs, answers, rs.catalog["pacemaker"])
    assert [(a.value, a.shown) for a in pacemaker] == [(CLEAR, "clear (unknown)"), (True, "Yes")]
    site = alternatives(rs, answers, rs.catalog["site"])
    assert {a.value for a in site} == {CLEAR, *(v for v in rs.catalog["site"].values
                                               if v != "palms")}
    allergies = alternatives(rs, {}, rs.catalog["drug_allergies"])
    assert allergies[0].value == [] and all(a.shown.startswith(("none", "add")) for a in allergies)


def test_number_alternatives_come_from_the_rules_thresholds(tmp_path: Any) -> None:
    rules = (rule_yaml("young", "{fact: age, lt: 14 year}", "precaution")
             + rule_yaml("old", "{fact: age, ge: 80 year}", "relative"))
    folder = tiny_rules(tmp_path, rules, LIMITS_YAML + protocol_yaml("p", "{fact: site, eq: "
                                                                       "palms}"))
    tiny = load_ruleset(folder)
    assert thresholds(tiny, "age") == (12.0, 14.0, 61.0, 80.0)  # the rules and the facts' gates
    values = [a.value for a in alternatives(tiny, {"age": 30}, tiny.catalog["age"])]
    assert values == [CLEAR, "6 year", "12 year", "13 year", "14 year", "37.5 year", "61 year",
                      "70.5 year", "80 year", "100 year"]
    answers = {"age": 30, "site": "palms", "indication": "hyperhidrosis",
               "hyperhidrosis_warning_signs": [], "hdss": 3, "tap_water_sessions": 0}
    decided = {c.alternative.value: c.after.decision for c in sensitivity(answers, tiny)
               if c.alternative.fact == "age"}
    assert decided == {CLEAR: Decision.ELIGIBLE_WITH_PRECAUTIONS,
                       "6 year": Decision.ELIGIBLE_WITH_PRECAUTIONS,
                       "12 year": Decision.ELIGIBLE_WITH_PRECAUTIONS,
                       "13 year": Decision.ELIGIBLE_WITH_PRECAUTIONS,
                       "80 year": Decision.ELIGIBLE_WITH_PRECAUTIONS,
                       "100 year": Decision.ELIGIBLE_WITH_PRECAUTIONS}


def test_difference_lists_decision_findings_protocol_and_dose(rs: Any) -> None:
    before = assess(patient(), rs)
    child = assess(patient(age=10), rs)
    diff = difference(before, child)
    assert diff.decision == (Decision.ELIGIBLE, Decision.ELIGIBLE_WITH_PRECAUTIONS)
    assert "paediatric-current-cap" in diff.findings_added
    larger = difference(before, assess(patient(electrode_area="100 cm^2"), rs))
    assert ("electrode_area", None, "100 cm ** 2") in larger.dose
    assert larger.decision is None and larger.protocol is None
    paced = difference(before, assess(patient(pacemaker=True), rs))
    assert paced.protocol is not None and paced.protocol[1] is None
    assert difference(before, assess(patient(), rs)).empty
