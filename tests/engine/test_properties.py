"""Property tests (hypothesis) over random patients drawn from the fact catalog, with unknowns."""

from __future__ import annotations

from typing import Any

from helpers import patient
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.errors import PatientDataError
from ionto_cds.evaluation.outcomes import StepOutcome
from ionto_cds.language.model import UNKNOWN, FactType, Severity, Truth

RS = load_ruleset()
CATALOG = RS.catalog
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def value_for(fact) -> st.SearchStrategy[Any]:
    """A valid raw answer for one fact, in the forms a clinician might write."""
    if fact.type is FactType.BOOL:
        return st.sampled_from([True, False, "yes", "no"])
    if fact.type is FactType.ENUM:
        return st.sampled_from(fact.values)
    if fact.type is FactType.LIST:
        return st.lists(st.sampled_from(fact.values), unique=True, max_size=3)
    low = fact.minimum if fact.minimum is not None else 0
    high = fact.maximum if fact.maximum is not None else 1000
    if fact.type is FactType.INT:
        return st.integers(int(low), int(min(high, 40)))
    numbers = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if fact.name == "age":  # ages round the thresholds 6 and 18 years matter most
        numbers = st.one_of(numbers, st.sampled_from([5, 6, 17, 18, 30]))
    if fact.name == "electrode_area":
        numbers = st.one_of(st.floats(0.5, 60), st.sampled_from([2.0, 5.0, 10.0, 20.0, 40.0]))
    return st.one_of(numbers, numbers.map(lambda x: f"{x} {fact.unit}"))


OPTIONAL = {fact.name: value_for(fact) for fact in CATALOG}


@st.composite
def patients(draw) -> dict[str, Any]:
    answers: dict[str, Any] = draw(st.fixed_dictionaries({}, optional=OPTIONAL))
    # Indication and site are nearly always known.
    for name in ("indication", "site"):
        if name not in answers and draw(st.integers(0, 9)) > 0:
            answers[name] = draw(OPTIONAL[name])
    # Keep the patient consistent: a "yes" to a question that does not apply is an input
    # error (tested elsewhere), so drop such answers.
    for _ in range(3):
        try:
            RS.validate(answers)
            break
        except PatientDataError as exc:
            for problem in exc.problems:
                answers.pop(problem.fact, None)
    return answers


TREATABLE = [("hyperhidrosis", "palms"), ("hyperhidrosis", "soles"), ("hyperhidrosis", "axillae"),
             ("tendinopathy", "elbow"), ("bursitis", "hip"), ("plantar_fasciitis", "ankle_foot"),
             ("calcific_deposits", "shoulder"), ("local_anesthesia", "wrist_hand")]


@st.composite
def treatable_patients(draw) -> dict[str, Any]:
    """Mostly-cleared patients at treatable sites, so that plans are actually produced."""
    indication, site = draw(st.sampled_from(TREATABLE))
    answers = patient(indication=indication, site=site)
    if indication != "hyperhidrosis":
        for name in ("tap_water_sessions", "hdss", "hyperhidrosis_warning_signs"):
            answers.pop(name)
    # Change a few answers at random (to anything valid, or to unanswered).
    for name in draw(st.lists(st.sampled_from(sorted(OPTIONAL)), max_size=4, unique=True)):
        if draw(st.booleans()):
            answers[name] = draw(OPTIONAL[name])
        else:
            answers.pop(name, None)
    for name in ("electrode_area", "age", "tap_water_sessions", "tap_water_response"):
        if draw(st.booleans()):
            answers[name] = draw(OPTIONAL[name])
    answers["indication"], answers["site"] = indication, site
    for _ in range(len(answers)):  # drop answers that cannot be used until the rest is valid
        try:
            RS.validate(answers)
        except PatientDataError as exc:
            for problem in exc.problems:
                answers.pop(problem.fact, None)
        else:
            break
    return answers


def _assess(answers):
    return assess(answers, RS)


def assert_plan_within_limits(plan) -> None:
    current = plan.current.to("mA").magnitude
    dose = (plan.current * plan.duration).to("mA*min").magnitude
    area = plan.electrode_area.to("cm^2").magnitude if plan.electrode_area is not None else None
    assert current > 0 and dose > 0
    for lim in plan.limits:
        if lim.name == "max_current":
            assert current <= lim.value.to("mA").magnitude * (1 + 1e-9), lim.describe()
        elif lim.name == "max_dose":
            assert dose <= lim.value.to("mA*min").magnitude * (1 + 1e-9), lim.describe()
        elif area is not None:
            assert current / area <= lim.value.to("mA/cm^2").magnitude * (1 + 1e-9), \
                lim.describe()
    # The global density limit for the plan's polarity is always among the limits.
    polarity = plan.protocol.polarity
    assert any(lim.name == "max_current_density" and lim.value == RS.limits.max_current_density[
        polarity] for lim in plan.limits)


@SETTINGS
@given(patients())
def test_true_general_absolute_contraindication_never_yields_a_plan(answers):
    result = _assess(answers)
    env = result.factset.env
    absolute_true = [r for r in RS.general if r.severity is Severity.ABSOLUTE
                     and RS.rule_truth(r.id, env) is Truth.TRUE]
    if absolute_true:
        assert result.decision is Decision.NOT_ELIGIBLE
        assert result.protocol is None
        assert result.missing == ()
        ids = {f.rule.id for f in result.findings}
        assert {r.id for r in absolute_true} <= ids


@SETTINGS
@given(patients())
def test_unknown_absolute_contraindication_needs_information_listing_its_facts(answers):
    result = _assess(answers)
    env = result.factset.env
    status = {r.id: RS.rule_truth(r.id, env) for r in RS.general
              if r.severity is Severity.ABSOLUTE}
    assume(Truth.TRUE not in status.values())
    unknown = [rid for rid, s in status.items() if s == Truth.UNKNOWN]
    if unknown and result.decision is Decision.REFER:
        # said at once: a referral needs no screening answer, and asks for none
        assert result.referral is not None and result.protocol is None
        assert result.missing == ()
        assert not any(f.status is Truth.UNKNOWN and f.protocol is None
                       for f in result.findings)
    elif unknown:
        assert result.decision is Decision.NEEDS_INFORMATION
        assert result.protocol is None
        for rid in unknown:
            facts = set(RS.scalar.undecided(RS.program.rule_node[rid], env))
            assert facts, rid
            asked = {f for f in facts if not CATALOG[f].is_derived}  # derived: never asked
            assert asked <= set(result.missing), (rid, facts, result.missing)
            assert not {f for f in result.missing if CATALOG[f].is_derived}
        # every missing fact is really unanswered, or an electrode too small to plan on (the
        # remedy: a larger one, whose area is asked for)
        too_small = any(s.outcome is StepOutcome.ELECTRODE_TOO_SMALL for s in result.protocol_walk)
        assert all(env.get(f, UNKNOWN) is UNKNOWN or (f == "electrode_area" and too_small)
                   for f in result.missing)


@SETTINGS
@given(patients(), st.data())
def test_answering_a_missing_fact_never_lifts_not_eligible(answers, data):
    first = _assess(answers)
    assume(first.decision is Decision.NOT_ELIGIBLE)
    unanswered = [f for f in CATALOG if f.name not in first.factset.values]
    assume(unanswered)
    fact = data.draw(st.sampled_from(unanswered))
    more = {**answers, fact.name: data.draw(value_for(fact))}
    try:
        second = _assess(more)
    except PatientDataError:
        assume(False)  # the new answer contradicts another one (tested elsewhere)
    assert second.decision is Decision.NOT_ELIGIBLE


@SETTINGS
@given(treatable_patients())
def test_no_plan_ever_exceeds_a_current_dose_or_density_limit(answers):
    result = _assess(answers)
    event(f"plan: {result.protocol.protocol.id if result.protocol else None}")
    if result.protocol is not None:
        assert result.decision.allows_treatment
        assert_plan_within_limits(result.protocol)
        drug = result.protocol.protocol.drug
        if drug is not None:
            assert drug not in result.factset.values.get("drug_allergies", frozenset())


@settings(max_examples=100, deadline=None)
@given(patients())
def test_same_input_same_output(answers):
    assert _assess(dict(answers)).to_dict() == _assess(dict(answers)).to_dict()


@settings(max_examples=100, deadline=None)
@given(patients())
def test_a_plan_only_for_decisions_that_allow_treatment(answers):
    result = _assess(answers)
    if not result.decision.allows_treatment:
        assert result.protocol is None
    if result.decision is not Decision.NEEDS_INFORMATION:
        # missing is only ever non-empty when the decision waits for answers, or when an
        # unknown precaution could still change eligible_with_precautions
        assert result.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS or result.missing == ()
