"""The fact catalog: validation of answers, every problem at once, applicability."""

from __future__ import annotations

import math

import pytest

from ionto_cds import load_ruleset
from ionto_cds.errors import PatientDataError
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, FactType

RS_ = load_ruleset()


@pytest.fixture(scope="module")
def catalog():
    return load_ruleset().catalog


def _problems(catalog, answers) -> str:
    with pytest.raises(PatientDataError) as info:
        RS_.validate(answers)
    return str(info.value)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"pacemakr": True}, "pacemakr: unknown fact (did you mean 'pacemaker'?)"),
        ({"hdss": 5}, "hdss: 5 is out of range (1 to 4)"),
        ({"hdss": 2.5}, "hdss: expected a whole number, got 2.5"),
        ({"hdss": True}, "hdss: expected a whole number, got yes"),
        ({"hdss": "\u00b9"}, "hdss: expected a whole number, got '\u00b9'"),  # a digit, not decimal
        ({"pacemaker": "maybe"},
         "pacemaker: expected yes/no (true/false) or leave it empty for unknown, got 'maybe'"),
        ({"sex": "mal"}, "sex: 'mal' is not one of: female, male, other (did you mean 'male'?)"),
        ({"drug_allergies": "lidocaine"},
         "drug_allergies: expected a list such as [glycopyrronium], or [] for none; got "
         "'lidocaine'"),
        ({"drug_allergies": ["lidocain"]},
         "drug_allergies: 'lidocain' is not one of: glycopyrronium, dexamethasone, acetic_acid, "
         "lidocaine (did you mean 'lidocaine'?)"),
        ({"weight": "62 mA"}, "weight: expected a mass (kg), got '62 mA' (a current)"),
        ({"electrode_area": "6 cm"},
         "electrode_area: expected an area (cm²), got '6 cm' (a length)"),
        ({"electrode_area": "0.1 cm^2"},
         "electrode_area: 0.1 cm² is out of range (0.5 cm² to 1000 cm²)"),
        ({"weight": "six kg"}, "weight: expected a mass (kg), got 'six kg' (no number: write "
         "e.g. '12 kg')"),
    ],
)
def test_one_bad_answer_exact_message(catalog, answers, message):
    assert _problems(catalog, answers) == f"1 answer cannot be used:\n  {message}"


def test_out_of_range_age_names_years(catalog):
    assert _problems(catalog, {"age": 130}) == (
        "1 answer cannot be used:\n  age: 130 year is out of range (0 year to 120 year)")


def test_every_problem_is_reported_at_once(catalog):
    text = _problems(catalog, {"pacemakr": True, "sex": "mal", "hdss": 9, "weight": "x",
                               "age": 30})
    head, *lines = text.splitlines()
    assert head == "4 answers cannot be used:"
    assert [line.split(":")[0].strip() for line in lines] == ["pacemakr", "sex", "hdss", "weight"]


def test_not_a_mapping(catalog):
    assert _problems(catalog, [1, 2]) == (
        "1 answer cannot be used:\n  (answers): expected a mapping of fact: answer")


@pytest.mark.parametrize(("raw", "value"), [
    (True, True), ("yes", True), ("Y", True), ("no", False), (False, False),
    (None, UNKNOWN), ("", UNKNOWN), ("unknown", UNKNOWN), ("?", UNKNOWN), (math.nan, UNKNOWN),
])
def test_bool_answers(catalog, raw, value):
    assert catalog["pacemaker"].normalise(raw) is value


@pytest.mark.parametrize(("raw", "years"), [
    (34, 34.0), ("34", 34.0), ("34 year", 34.0), ("18 month", 1.5), ("52 week", 52 * 7 / 365.25),
])
def test_quantity_answers_are_normalised_to_the_default_unit(catalog, raw, years):
    assert catalog["age"].normalise(raw) == pytest.approx(years, rel=1e-9)


def test_weight_in_pounds(catalog):
    assert catalog["weight"].normalise("150 lb") == pytest.approx(150 * 0.45359237, rel=1e-9)


def test_list_answers(catalog):
    f = catalog["drug_allergies"]
    assert f.type is FactType.LIST
    assert f.normalise([]) == frozenset()
    assert f.normalise("none") == frozenset()
    assert f.normalise(["lidocaine", "lidocaine"]) == frozenset({"lidocaine"})


def test_enum_value_that_looks_like_unknown_word_is_kept(catalog):
    # 'none' is a real answer to tap_water_response, not "unanswered".
    assert catalog["tap_water_response"].normalise("none") == "none"


def test_unanswered_facts_are_unknown_not_false(catalog):
    fs = RS_.validate({"pacemaker": None, "site": "palms"})
    assert "pacemaker" not in fs.values
    assert fs.get("pacemaker") is UNKNOWN
    assert fs.get("site") == "palms"


def test_pregnancy_does_not_apply_to_a_male_patient(catalog):
    fs = RS_.validate({"sex": "male"})
    assert set(fs.not_applicable) == {"pregnant", "breastfeeding", "metal_iud"}
    assert fs.get("pregnant") is NOT_APPLICABLE
    # unanswered sex: the question still applies (unknown, not "not applicable")
    assert RS_.validate({}).get("pregnant") is UNKNOWN


def test_pregnant_true_for_a_male_patient_is_an_input_error(catalog):
    assert _problems(catalog, {"sex": "male", "pregnant": True}) == (
        "1 answer cannot be used:\n  pregnant: is answered yes, but the question does not "
        "apply (asked only when sex ≠ male and age ≥ 12 year and age < 61 year): correct the "
        "other answer or remove this one")


def test_pregnant_false_for_a_male_patient_is_accepted(catalog):
    fs = RS_.validate({"sex": "male", "pregnant": False})
    assert fs.get("pregnant") is NOT_APPLICABLE


def test_chained_applicability(catalog):
    # tap_water_response is asked only for hyperhidrosis after at least one session.
    fs = RS_.validate({"indication": "hyperhidrosis", "tap_water_sessions": 0})
    assert "tap_water_response" in fs.not_applicable
    fs = RS_.validate({"indication": "hyperhidrosis", "tap_water_sessions": 3})
    assert "tap_water_response" not in fs.not_applicable
    fs = RS_.validate({"indication": "bursitis"})
    assert {"tap_water_sessions", "tap_water_response", "hdss"} <= set(fs.not_applicable)


def test_range_text_and_show(catalog):
    assert catalog["age"].range_text() == "0 year to 120 year"
    assert catalog["hdss"].range_text() == "1 to 4"
    assert catalog["age"].show(34.0) == "34 year"
    assert catalog["drug_allergies"].show(frozenset({"lidocaine", "acetic_acid"})) == [
        "acetic_acid", "lidocaine"]
    assert catalog["pacemaker"].show(UNKNOWN) is None
    assert catalog["pregnant"].show(NOT_APPLICABLE) == "not applicable"


def test_required_facts_and_form_groups(catalog):
    assert {f.name for f in catalog if f.required} == {
        "indication", "site", "hyperhidrosis_warning_signs", "hdss", "tap_water_sessions"}
    assert [f.name for f in catalog.in_group("patient")] == [
        "age", "sex", "weight", "pregnant", "breastfeeding", "cannot_report_pain"]
