"""Decision semantics (DESIGN §4) on tiny synthetic rule sets and on the packaged rules."""

from __future__ import annotations

import itertools

import pytest
from helpers import LIMITS_YAML, patient, protocol_yaml, rule_yaml, tiny_rules

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.errors import PatientDataError

# the required hyperhidrosis history answered
BASE = {"indication": "hyperhidrosis", "site": "palms",
        "hyperhidrosis_warning_signs": [], "hdss": 3, "tap_water_sessions": 0}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rules = (rule_yaml("abs", "{fact: pacemaker, is: true}", "absolute")
             + rule_yaml("rel", "{fact: epilepsy, is: true}", "relative")
             + rule_yaml("pre", "{fact: thrombosis, is: true}", "precaution"))
    protocols = LIMITS_YAML + protocol_yaml("palms", "{fact: site, eq: palms}")
    return load_ruleset(tiny_rules(tmp_path_factory.mktemp("tiny"), rules, protocols))


@pytest.fixture(scope="module")
def packaged():
    return load_ruleset()


def _answer(fact, truth):
    return {} if truth == "U" else {fact: truth == "T"}


def _expected(a: str, r: str, p: str) -> Decision:
    """DESIGN §4, written out independently of the engine."""
    if a == "T":
        return Decision.NOT_ELIGIBLE
    if a == "U":
        return Decision.NEEDS_INFORMATION
    if "T" in (r, p) or "U" in (r, p):
        return Decision.ELIGIBLE_WITH_PRECAUTIONS
    return Decision.ELIGIBLE


@pytest.mark.parametrize(("a", "r", "p"), list(itertools.product("FUT", repeat=3)))
def test_decision_table(tiny, a, r, p):
    answers = {**BASE, **_answer("pacemaker", a), **_answer("epilepsy", r),
               **_answer("thrombosis", p)}
    result = assess(answers, tiny)
    assert result.decision is _expected(a, r, p)
    assert (result.protocol is not None) == result.decision.allows_treatment
    statuses = {f.rule.id: f.status.label for f in result.findings}
    want = {rid: {"T": "true", "U": "unknown"}[v]
            for rid, v in (("abs", a), ("rel", r), ("pre", p)) if v != "F"}
    assert statuses == want


@pytest.mark.parametrize(("a", "r", "p"), list(itertools.product("FUT", repeat=3)))
def test_missing_lists_exactly_the_facts_that_can_change_the_decision(tiny, a, r, p):
    answers = {**BASE, **_answer("pacemaker", a), **_answer("epilepsy", r),
               **_answer("thrombosis", p)}
    result = assess(answers, tiny)
    decision = result.decision
    missing = result.missing
    if decision in (Decision.NOT_ELIGIBLE, Decision.ELIGIBLE):
        assert missing == ()
        return
    if a == "U":
        assert missing[0] == "pacemaker"  # the absolute question first
    assert "pacemaker" not in missing or a == "U"
    soft_true = "T" in (r, p)
    # With a relative/precaution finding already true, a soft answer cannot move the decision.
    for fact, value in (("epilepsy", r), ("thrombosis", p)):
        assert (fact in missing) == (value == "U" and not soft_true)
    # Nothing answered or irrelevant is ever asked.
    assert set(missing) <= {"pacemaker", "epilepsy", "thrombosis"}


def test_required_fact_unanswered_needs_information(tiny):
    result = assess({"pacemaker": False, "epilepsy": False, "thrombosis": False}, tiny)
    assert result.decision is Decision.NEEDS_INFORMATION
    assert set(result.missing[:2]) == {"indication", "site"}


def test_no_plan_without_a_matching_protocol(tiny):
    result = assess({**BASE, "site": "soles", "pacemaker": False,
                     "epilepsy": False, "thrombosis": False}, tiny)
    assert result.decision is Decision.ELIGIBLE
    assert result.protocol is None
    assert result.no_plan_reason == "No suitable protocol for this indication and site"


def test_rule_cap_lowers_the_current(tmp_path):
    rules = rule_yaml("child", "{fact: age, lt: 14 year}", "precaution",
                      extra="effect: {set: {max_current: 10 mA}}\n")
    protocols = LIMITS_YAML + protocol_yaml("palms", "{fact: site, eq: palms}", current="15 mA")
    rs = load_ruleset(tiny_rules(tmp_path, rules, protocols))
    adult = assess({**BASE, "age": 30}, rs)
    child = assess({**BASE, "age": 10}, rs)
    assert adult.protocol.current.to("mA").magnitude == 15
    assert child.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    assert child.protocol.current.to("mA").magnitude == pytest.approx(10)
    assert child.protocol.adjustments == (
        "current lowered to 10 mA by the maximum current 10 mA (rule child)",)
    # 10 mA for the protocol's 20 min
    assert child.protocol.dose.to("mA*min").magnitude == pytest.approx(200)


def test_drug_rule_excludes_only_its_protocol(tmp_path):
    drugs = """\
version: "2026.1"
drugs:
  lidocaine:
    label: Lidocaine
    ion: cation
    polarity: anode
    solution: {name: Lidocaine 2 %}
    indications: [hyperhidrosis]
    dose: {max: 40 mA*min}
    max_current: 4 mA
    references: [lidosite-label]
rules:
""" + rule_yaml("lido-allergy", "{fact: drug_allergies, contains: lidocaine}", "absolute",
                applies_to="[lidocaine]")
    protocols = LIMITS_YAML + protocol_yaml(
        "lido", "{fact: site, eq: palms}", priority=200, current="4 mA",
        current_range="{min: 1 mA, max: 4 mA}", polarity="anode", modality="drug_assisted",
        drug="lidocaine", limits="{max_current: 4 mA}", duration="10 min") + protocol_yaml(
        "water", "{fact: site, eq: palms}", priority=100)
    rs = load_ruleset(tiny_rules(tmp_path, rule_yaml("pm", "{fact: pacemaker, is: true}"),
                                 protocols, drugs))
    fine = assess({**BASE, "pacemaker": False, "drug_allergies": []}, rs)
    assert fine.decision is Decision.ELIGIBLE and fine.protocol.protocol.id == "lido"
    allergic = assess({**BASE, "pacemaker": False, "drug_allergies": ["lidocaine"]}, rs)
    assert allergic.protocol.protocol.id == "water"
    assert allergic.excluded == ("lido",)
    assert allergic.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    [finding] = allergic.findings
    assert (finding.rule.id, finding.scope, finding.outcome) == (
        "lido-allergy", "protocol:lido", "excludes lido")
    unknown = assess({**BASE, "pacemaker": False}, rs)
    assert unknown.decision is Decision.NEEDS_INFORMATION
    assert unknown.missing == ("drug_allergies",)
    assert unknown.protocol is None


# --- packaged rules --------------------------------------------------------------------------

def test_example_patient_is_eligible_for_tap_water(packaged):
    result = assess(patient(), packaged)
    assert result.decision is Decision.ELIGIBLE
    assert result.findings == () and result.missing == ()
    plan = result.protocol.to_dict()
    assert (plan["id"], plan["current"], plan["duration"], plan["dose"]) == (
        "tap-water-palmoplantar", "10 mA", "20 min", "200 mA * min")  # 10 mA x 20 min


@pytest.mark.parametrize("fact", ["pacemaker", "implanted_defibrillator", "epilepsy",
                                  "cardiac_disease", "thrombosis", "pregnant", "cannot_report_pain",
                                  "malignancy_at_site", "impaired_sensation_at_site",
                                  "swelling_at_site", "irradiated_skin_at_site"])
def test_true_absolute_contraindication_means_no_plan(packaged, fact):
    result = assess(patient(**{fact: True}), packaged)
    assert result.decision is Decision.NOT_ELIGIBLE
    assert result.protocol is None and result.missing == ()
    assert any(f.rule.severity.value == "absolute" and f.status.label == "true"
               for f in result.findings)


@pytest.mark.parametrize("fact", ["pacemaker", "epilepsy", "skin_condition_at_site"])
def test_unknown_absolute_asks_for_it(packaged, fact):
    result = assess(patient(**{fact: None}), packaged)
    assert result.decision is Decision.NEEDS_INFORMATION
    assert result.missing == (fact,)
    assert result.protocol is None


def test_not_eligible_with_other_unknowns_asks_nothing(packaged):
    result = assess({"indication": "hyperhidrosis", "site": "palms", "pacemaker": True},
                    packaged)
    assert result.decision is Decision.NOT_ELIGIBLE
    assert result.missing == ()


def test_sex_is_asked_before_pregnancy(packaged):
    result = assess(patient(sex=None, pregnant=None, breastfeeding=None, metal_iud=None),
                    packaged)
    assert result.decision is Decision.NEEDS_INFORMATION
    assert result.missing.index("sex") < result.missing.index("pregnant")
    # metal_iud waits on sex too, but for the palms it is only relative (the path avoids the
    # pelvis): it is asked with the other questions that cannot move past needs_information
    assert {"sex", "pregnant", "breastfeeding", "metal_iud"} == set(result.missing)


def test_pregnancy_is_neither_asked_nor_blocking_for_a_male_patient(packaged):
    result = assess(patient(sex="male", pregnant=None, breastfeeding=None, metal_iud=None),
                    packaged)
    assert result.decision is Decision.ELIGIBLE
    assert result.missing == ()
    assert {"pregnant", "breastfeeding", "metal_iud"} <= set(result.factset.not_applicable)
    assert {"pregnant", "breastfeeding", "metal_iud"} <= set(result.to_dict()["not_applicable"])
    female = assess(patient(pregnant=None, breastfeeding=None, metal_iud=None), packaged)
    assert female.decision is Decision.NEEDS_INFORMATION


def test_pregnant_true_for_a_male_patient_is_an_input_error(packaged):
    with pytest.raises(PatientDataError) as info:
        assess(patient(sex="male", pregnant=True), packaged)
    assert [p.fact for p in info.value.problems] == ["pregnant"]


def test_ruleset_provenance_is_recorded(packaged):
    d = assess(patient(), packaged).to_dict()
    assert d["ruleset"] == {"version": "2026.1", "sha256": packaged.sha256}
    assert len(d["ruleset"]["sha256"]) == 64


def test_same_input_same_output(packaged):
    first = assess(patient(age=None, fixed_dental_braces=True), packaged).to_dict()
    again = assess(patient(age=None, fixed_dental_braces=True), load_ruleset()).to_dict()
    assert first == again


def test_relative_contraindication_is_shown_with_what_to_do(packaged):
    result = assess(patient(fixed_dental_braces=True), packaged)
    assert result.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    [finding] = result.findings
    assert finding.rule.id == "fixed-dental-braces"
    assert finding.to_dict()["action"].startswith("Discuss with the patient")
    assert result.protocol is not None
    assert any(p.startswith("Fixed dental braces: Discuss") for p in
               result.protocol.to_dict()["precautions"])


def test_hyperhidrosis_elsewhere_is_referred(packaged):
    result = assess(patient(site="back"), packaged)
    assert result.decision is Decision.REFER
    assert result.protocol is None
    assert result.referral.id == "hyperhidrosis-other-site-referral"
    assert result.to_dict()["referral"]["id"] == "hyperhidrosis-other-site-referral"
    assert result.missing == ()


def test_metal_iud_only_blocks_the_feet(packaged):
    assert assess(patient(metal_iud=True, site="soles"), packaged).decision is \
        Decision.NOT_ELIGIBLE
    hands = assess(patient(metal_iud=True), packaged)
    assert hands.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    assert [f.rule.id for f in hands.findings] == ["metal-iud-other-sites"]


def test_unneeded_facts_are_the_screens_of_protocols_that_cannot_apply():
    rs = load_ruleset()
    assert rs.unneeded_facts(rs.answers({}).env) == frozenset()
    elbow = rs.unneeded_facts(rs.answers({"indication": "tendinopathy", "site": "elbow"}).env)
    assert {"narrow_angle_glaucoma", "urinary_retention", "taking_droxidopa"} <= elbow
    assert not {"pacemaker", "epilepsy", "drug_allergies", "electrode_area", "sex"} & elbow
    palms = rs.unneeded_facts(rs.answers({"indication": "hyperhidrosis", "site": "palms"}).env)
    assert "narrow_angle_glaucoma" not in palms and "taking_droxidopa" in palms
    # hiding them never changes a decision: they are read by no rule that is consulted
    base = {"indication": "tendinopathy", "site": "elbow", **{
        k: v for k, v in BASE.items() if k not in ("indication", "site")}}
    assert assess(base, rs).decision == assess(
        {**base, "narrow_angle_glaucoma": True, "urinary_retention": True}, rs).decision
