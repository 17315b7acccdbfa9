"""Protocol choice and plans on the packaged rules: every plan within every limit."""

from __future__ import annotations

import itertools
import re

import pytest
from helpers import patient

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.errors import PlanInfeasible
from ionto_cds.evaluation.outcomes import StepOutcome
from ionto_cds.language.treatment import Limits
from ionto_cds.treatment.limits import check_limits
from ionto_cds.treatment.plan import build_plan


@pytest.fixture(scope="module")
def rs():
    return load_ruleset()


def assert_within_limits(plan):
    """Every limit recorded on the plan holds, recomputed here from current, time and area."""
    assert plan.limits, "a plan without limits"
    current = plan.current.to("mA").magnitude
    dose = (plan.current * plan.duration).to("mA*min").magnitude
    assert plan.dose.to("mA*min").magnitude == pytest.approx(dose)
    for lim in plan.limits:
        cap = lim.value.magnitude
        if lim.name == "max_current":
            assert current <= lim.value.to("mA").magnitude * (1 + 1e-9), lim.describe()
        elif lim.name == "max_dose":
            assert dose <= lim.value.to("mA*min").magnitude * (1 + 1e-9), lim.describe()
        elif plan.electrode_area is not None:
            density = current / plan.electrode_area.to("cm^2").magnitude
            assert density <= lim.value.to("mA/cm^2").magnitude * (1 + 1e-9), lim.describe()
        assert cap > 0
    assert not any(c.broken for c in check_limits(plan.limits, plan.current, plan.duration,
                                                  plan.electrode_area))


INDICATION_SITES = [
    ("hyperhidrosis", "palms"), ("hyperhidrosis", "soles"), ("hyperhidrosis", "axillae"),
    ("tendinopathy", "elbow"), ("bursitis", "shoulder"), ("plantar_fasciitis", "ankle_foot"),
    ("calcific_deposits", "shoulder"), ("local_anesthesia", "wrist_hand"),
]
VARIANTS = [
    {}, {"age": 8}, {"age": 16}, {"electrode_area": "2 cm^2"}, {"electrode_area": "8 cm^2"},
    {"electrode_area": "40 cm^2"}, {"tap_water_sessions": 12, "tap_water_response": "none"},
    {"tap_water_sessions": 10, "tap_water_response": "partial", "age": 9,
     "electrode_area": "6 cm^2"},
]


@pytest.mark.parametrize(("site", "variant"), list(itertools.product(INDICATION_SITES,
                                                                      range(len(VARIANTS)))))
def test_every_plan_respects_all_its_limits(rs, site, variant):
    changes = dict(VARIANTS[variant])
    indication, where = site
    if indication != "hyperhidrosis":
        changes = {k: v for k, v in changes.items() if not k.startswith("tap_water")}
        changes.update(tap_water_sessions=None, hdss=None, hyperhidrosis_warning_signs=None)
        changes.setdefault("electrode_area", "10 cm^2")  # a drug plan needs its electrode
    result = assess(patient(indication=indication, site=where, **changes), rs)
    if result.decision is Decision.NEEDS_INFORMATION:  # only for an electrode too small
        assert result.missing == ("electrode_area",)
        assert "use an active electrode of at least" in (result.no_plan_reason or "")
    else:
        assert result.decision in (Decision.ELIGIBLE, Decision.ELIGIBLE_WITH_PRECAUTIONS)
    if result.protocol is not None:
        assert_within_limits(result.protocol)
        # The plan's current stays within the protocol's effective range.
        p = result.protocol.protocol
        assert p.current_min <= result.protocol.current <= p.current_max


def test_paediatric_cap_is_applied_to_children(rs):
    child = assess(patient(age=9), rs).protocol
    adult = assess(patient(), rs).protocol
    caps = [lim for lim in child.limits if lim.source == "rule paediatric-current-cap"]
    assert [(c.name, c.value.to("mA").magnitude) for c in caps] == [("max_current", 10)]
    assert not [lim for lim in adult.limits if lim.source == "rule paediatric-current-cap"]
    assert child.current.to("mA").magnitude <= 10


def test_paediatric_cap_lowers_a_higher_current(rs):
    # The packaged tap-water protocol already starts at 10 mA; check the mechanism with the
    # glycopyrronium protocol moved to a 15 mA start.
    from dataclasses import replace

    from ionto_cds.units import Quantity

    glyco = next(p for p in rs.protocols if p.id == "glycopyrronium-palmoplantar")
    higher = replace(glyco, current=Quantity(15, "mA"))
    caps = [("max_current", Quantity(10, "mA"), "paediatric-current-cap")]
    plan = build_plan(higher, rs.drugs["glycopyrronium"], rs.limits, caps, None)
    assert plan.current.to("mA").magnitude == pytest.approx(10)
    assert plan.adjustments[0] == ("current lowered to 10 mA by the maximum current 10 mA "
                                   "(rule paediatric-current-cap)")
    assert_within_limits(plan)


def test_small_electrode_lowers_the_current(rs):
    # lidocaine: anode limit 1.0 mA/cm^2; over 2 cm^2 at most 2 mA (planned 4 mA).
    plan = assess(patient(indication="local_anesthesia", site="wrist_hand",
                          electrode_area="2 cm^2", tap_water_sessions=None, hdss=None,
                          secondary_hyperhidrosis_suspected=None), rs).protocol
    assert plan.current.to("mA").magnitude == pytest.approx(2)
    assert plan.current_density.magnitude == pytest.approx(1.0)
    # target dose 40 mA*min is kept by lengthening the session: 40 / 2 = 20 min
    assert plan.duration.to("min").magnitude == pytest.approx(20)
    assert plan.area_source == "answer"


def test_too_small_electrode_asks_for_a_larger_one(rs):
    # tap water, alternating: 0.5 mA/cm^2 x 10 cm^2 = 5 mA, under the 10 mA minimum: the
    # remedy is an electrode of at least 20 cm^2, not another protocol or a referral
    result = assess(patient(electrode_area="10 cm^2"), rs)
    assert result.protocol is None
    assert result.decision is Decision.NEEDS_INFORMATION
    assert result.missing == ("electrode_area",)
    assert result.excluded == ()
    [step] = [s for s in result.protocol_walk if s.outcome is StepOutcome.ELECTRODE_TOO_SMALL]
    assert step.protocol == "tap-water-palmoplantar"
    assert result.no_plan_reason == (
        "Tap-water iontophoresis, palms and soles: the 10 cm² electrode is too small for the "
        "protocol's minimum of 10 mA: the maximum current density 0.5 mA/cm² (current-density "
        "limit, alternating polarity) allows at most 5 mA over it; use an active electrode of at "
        "least 20 cm². Give the area of the larger electrode to get the plan.")


def test_build_plan_raises_when_infeasible(rs):
    from ionto_cds.units import Quantity

    tap = next(p for p in rs.protocols if p.id == "tap-water-palmoplantar")
    with pytest.raises(PlanInfeasible):
        build_plan(tap, None, rs.limits, [], Quantity(4, "cm^2"))
    plan = build_plan(tap, None, Limits.none(), [], None)
    assert plan.current.to("mA").magnitude == 10


@pytest.mark.parametrize(("indication", "site", "drug"), [
    ("hyperhidrosis", "palms", "glycopyrronium"),
    ("plantar_fasciitis", "ankle_foot", "dexamethasone"),
    ("plantar_fasciitis", "ankle_foot", "acetic_acid"),
    ("calcific_deposits", "shoulder", "acetic_acid"),
    ("local_anesthesia", "wrist_hand", "lidocaine"),
    ("tendinopathy", "elbow", "dexamethasone"),
])
def test_a_drug_the_patient_is_allergic_to_is_never_chosen(rs, indication, site, drug):
    for allergies in ([drug], [drug, "glycopyrronium"], [drug, "dexamethasone"],
                      [drug, "acetic_acid", "dexamethasone", "lidocaine", "glycopyrronium"]):
        result = assess(patient(indication=indication, site=site, drug_allergies=allergies,
                                tap_water_sessions=12, tap_water_response="none")
                        if indication == "hyperhidrosis" else
                        patient(indication=indication, site=site, drug_allergies=allergies,
                                tap_water_sessions=None, hdss=None, electrode_area="10 cm^2",
                                hyperhidrosis_warning_signs=None), rs)
        if result.protocol is not None:
            assert result.protocol.protocol.drug not in allergies
        else:  # no drug left: refer, naming the exclusions
            assert result.decision is Decision.REFER
    # and without the allergy that drug's protocol is the first choice for this indication
    result = assess(patient(indication=indication, site=site, tap_water_sessions=12,
                            tap_water_response="none") if indication == "hyperhidrosis" else
                    patient(indication=indication, site=site, tap_water_sessions=None,
                            hdss=None, hyperhidrosis_warning_signs=None,
                            electrode_area="10 cm^2"), rs)
    assert result.protocol is not None


@pytest.mark.parametrize("sessions", [None, 0, 1, 5, 9, 10, 11, 30])
@pytest.mark.parametrize("response", [None, "none", "partial", "adequate"])
def test_glycopyrronium_only_after_an_adequate_tap_water_trial(rs, sessions, response):
    changes = {"tap_water_sessions": sessions, "tap_water_response": response}
    if sessions == 0 and response is not None:
        changes["tap_water_response"] = None  # does not apply after no session
    result = assess(patient(**changes), rs)
    chosen = result.protocol.protocol.id if result.protocol else None
    adequate_trial = sessions is not None and sessions >= 10 and response in ("none", "partial")
    if chosen == "glycopyrronium-palmoplantar":
        assert adequate_trial
    if adequate_trial:
        assert chosen == "glycopyrronium-palmoplantar"
    elif result.protocol is not None:
        assert chosen == "tap-water-palmoplantar"


def test_unknown_trial_answer_is_asked_before_any_plan(rs):
    # after 12 sessions the response decides between glycopyrronium, tap water and escalation
    result = assess(patient(tap_water_sessions=12), rs)
    assert result.decision is Decision.NEEDS_INFORMATION
    assert result.protocol is None
    assert result.missing == ("tap_water_response",)


def test_drug_plan_never_silently_below_the_drugs_minimum_dose(rs):
    # a 12-year-old starts glycopyrronium at 2 mA: 24 mA*min, below the adult 90 mA*min
    plan = assess(patient(age=12, tap_water_sessions=12, tap_water_response="none"), rs).protocol
    drug = rs.drugs["glycopyrronium"]
    assert plan.dose < drug.dose_min
    assert any("minimum dose" in a for a in plan.adjustments)
    adult = assess(patient(tap_water_sessions=12, tap_water_response="none"), rs).protocol
    assert adult.dose >= drug.dose_min
    assert not any("minimum dose" in a for a in adult.adjustments)


@pytest.mark.parametrize("area", ["3 cm^2", "8 cm^2", "20 cm^2", "150 cm^2", "900 cm^2"])
def test_cached_plan_for_an_answered_area_equals_a_full_build(rs, area):
    """RuleSet.plan fills in a non-binding electrode area without rebuilding: same plan."""
    from ionto_cds.units import parse_quantity

    quantity = parse_quantity(area, "cm^2")
    for protocol in rs.protocols:
        if protocol.is_referral:
            continue
        drug = rs.drugs.get(protocol.drug) if protocol.drug else None
        try:
            expected = build_plan(protocol, drug, rs.limits, [], quantity, ()).to_dict()
        except PlanInfeasible as exc:
            with pytest.raises(PlanInfeasible, match=re.escape(str(exc))):
                rs.plan(protocol, [], quantity, ())
            continue
        assert rs.plan(protocol, [], quantity, ()).to_dict() == expected


def test_plan_side_effects_show_the_vocabulary_label_response_and_action(rs):
    effects = assess(patient(), rs).to_dict()["protocol"]["side_effects"]
    assert effects[4] == {"effect": "Burn at an electrode", "response": "stop",
                          "action": "Stop; reassess current density and the skin before any "
                                    "further session."}
    assert [e["effect"] for e in effects[:3]] == [
        "Tingling or prickling", "Burning or pain", "Redness (erythema)"]
