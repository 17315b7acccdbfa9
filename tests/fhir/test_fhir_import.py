"""FHIR R4 Bundles in: answers, statuses, provenance, validation errors, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from fhir_records import (
    FHIR_EXAMPLES,
    PATIENT_ID,
    SUBJECT,
    bundle,
    cleared_answers,
    condition,
    device,
    example,
    observation,
    order,
    patient,
    procedure,
    questionnaire,
)
from helpers import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds import assess
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.errors import FhirBundleError
from ionto_cds.fhir import answers_from_fhir
from ionto_cds.fhir.answers import age_at, mapping_for
from ionto_cds.language.fhir_mapping import Verdict

SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ON = dt.date(2026, 12, 1)
RS = default_ruleset()
MAPPING = mapping_for(RS)


def read(*resources):
    return answers_from_fhir(bundle(patient(), *resources), RS, on=ON)


def test_pacemaker_device_gives_not_eligible_with_the_device_as_source():
    record = answers_from_fhir(example("pacemaker-bundle.json"), RS, on=ON)
    assessment = assess(record.answers, RS)
    assert assessment.decision.value == "not_eligible"
    assert assessment.protocol is None
    refs = [s.reference for s in record.answered_by("pacemaker")]
    assert refs == ["Device/f0a1c2e3-0001-4e5b-9a10-000000000002",
                    "Procedure/f0a1c2e3-0001-4e5b-9a10-000000000003"]
    assert "pacemaker" in [f.rule.id for f in assessment.findings]


def test_pacemaker_condition_alone_gives_not_eligible():
    record = read(condition(ICD10, "Z95.0", "Presence of cardiac pacemaker"))
    assert record.answers["pacemaker"] is True
    assert assess(record.answers, RS).decision.value == "not_eligible"


def test_nothing_relevant_gives_needs_information_and_no_plan():
    record = answers_from_fhir(example("nothing-relevant-bundle.json"), RS, on=ON)
    assert record.answers == {"sex": "female", "age": "35 year"}
    assessment = assess(record.answers, RS)
    assert assessment.decision.value == "needs_information"
    assert assessment.protocol is None
    assert {"indication", "site"} <= set(assessment.missing)


def test_absent_resources_leave_facts_unknown_never_no():
    record = read()
    assert "pacemaker" not in record.answers
    assert "epilepsy" not in record.answers


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_or_entered_in_error_is_not_a_yes(verification):
    record = read(condition(ICD10, "Z95.0", "Presence of cardiac pacemaker",
                            verification=verification))
    assert "pacemaker" not in record.answers
    assert [s.verdict for s in record.sources if s.fact == "pacemaker"] == [Verdict.IGNORED]


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_resolved_condition_is_asked_not_answered(clinical):
    record = read(condition(SCT, "84757009", "Epilepsy (disorder)", clinical=clinical))
    assert "epilepsy" not in record.answers
    (seen,) = [s for s in record.sources if s.fact == "epilepsy"]
    assert seen.verdict is Verdict.ASK and clinical in seen.text


def test_inactive_pacemaker_device_is_asked_and_blocks_a_plan():
    answers = {**cleared_answers("pacemaker"), "indication": "hyperhidrosis", "site": "palms"}
    record = read(device(SCT, "14106009", "Cardiac pacemaker, device (physical object)",
                         status="inactive"), questionnaire(answers))
    assert "pacemaker" not in record.answers
    assessment = assess(record.answers, RS)
    assert assessment.decision.value == "needs_information"
    assert "pacemaker" in assessment.missing


def test_record_yes_overrules_a_questionnaire_no():
    answers = {**cleared_answers(), "indication": "hyperhidrosis", "site": "palms"}
    record = read(questionnaire(answers),
                  device(SCT, "72506001", "Implantable defibrillator, device (physical object)"))
    assert answers["implanted_defibrillator"] is False
    assert record.answers["implanted_defibrillator"] is True
    assert "overruled" in record.answered_by("implanted_defibrillator")[0].text


def test_procedure_statuses():
    done = read(procedure(SCT, "307280005", "Implantation of cardiac pacemaker (procedure)"))
    assert done.answers["pacemaker"] is True
    not_done = read(procedure(SCT, "307280005", "Implantation of cardiac pacemaker (procedure)",
                              status="not-done"))
    assert "pacemaker" not in not_done.answers


def test_age_from_birth_date_at_the_assessment_date():
    assert age_at("1990-12-02", ON) == "35 year"
    assert age_at("1990-12-01", ON) == "36 year"
    assert age_at("2025-06-10", ON) == "17 month"
    assert age_at("1990", ON) is None  # 35 or 36: ask
    assert age_at("1990-05", ON) == "36 year"
    record = answers_from_fhir(bundle(patient(birth="1990")), RS, on=ON)
    assert "age" not in record.answers


@pytest.mark.parametrize(("gender", "sex"), [("female", "female"), ("male", "male"),
                                             ("other", "other"), ("unknown", None)])
def test_sex_from_gender(gender, sex):
    record = answers_from_fhir(bundle(patient(gender=gender)), RS, on=ON)
    assert record.answers.get("sex") == sex


def test_pregnancy_from_a_condition_or_an_observation():
    assert read(condition(SCT, "77386006", "Pregnancy (finding)")).answers["pregnant"] is True
    observed = read(observation("82810-3", coded=(SCT, "77386006")))
    assert observed.answers["pregnant"] is True
    not_pregnant = read(observation("82810-3", coded=(SCT, "60001007")))
    assert "pregnant" not in not_pregnant.answers  # a record never says no


def test_newest_weight_counts_and_units_are_converted():
    record = read(observation("29463-7", quantity=(70, "kg"), when="2025-01-01", rid="o1"),
                  observation("29463-7", quantity=(150, "[lb_av]"), when="2026-10-01", rid="o2"))
    assert record.answers["weight"] == "150 lb"
    assert [s.reference for s in record.answered_by("weight")] == ["Observation/o2"]
    bad_unit = read(observation("29463-7", quantity=(70, "kg/m2")))
    assert "weight" not in bad_unit.answers


def test_order_reason_gives_indication_and_site():
    record = read(order("L74.513"))
    assert (record.answers["indication"], record.answers["site"]) == ("hyperhidrosis", "soles")
    conflicting = read(order("L74.513", rid="a"), order("L74.512", rid="b"))
    assert "site" not in conflicting.answers


def _resource_for(entry):
    system = next(k for k, v in MAPPING.systems.items() if v == entry.system)
    code = entry.code + (".9" if entry.prefix and "." not in entry.code else "")
    uri = MAPPING.systems[system]
    rtype = entry.resources[0]
    if rtype == "Device":
        return device(uri, code, entry.display)
    if rtype == "Procedure":
        return procedure(uri, code, entry.display)
    return condition(uri, code, entry.display)


@pytest.mark.parametrize("entry", MAPPING.codes, ids=lambda e: f"{e.fact}-{e.code}")
def test_every_mapped_code_answers_its_fact(entry):
    resource = _resource_for(entry)
    record = read(resource)
    assert record.answers[entry.fact] is True
    assert [s.reference for s in record.answered_by(entry.fact)] == \
        [f"{resource['resourceType']}/{resource['id']}"]


def _allergy(code: str, verification: str = "confirmed") -> dict:
    return {"resourceType": "AllergyIntolerance", "id": "allergy-1", "patient": SUBJECT,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                           "allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                               "allergyintolerance-verification",
                                               "code": verification}]},
            "code": {"coding": [{"system": SCT, "code": code}]}}


def test_a_recorded_drug_allergy_is_shown_but_the_list_is_still_asked():
    record = read(_allergy("387480006"))
    assert "drug_allergies" not in record.answers  # a list answer would say "no other"
    (seen,) = [s for s in record.sources if s.fact == "drug_allergies"]
    assert seen.verdict is Verdict.ASK and seen.reference == "AllergyIntolerance/allergy-1"
    assert seen.text.startswith("allergy to lidocaine recorded (Lidocaine (substance)")
    refuted = read(_allergy("372584003", verification="refuted"))
    assert [s.verdict for s in refuted.sources if s.fact == "drug_allergies"] == \
        [Verdict.IGNORED]


def test_every_mapped_fact_is_covered_by_a_test_here():
    covered = {e.fact for e in MAPPING.codes} | {"weight", "pregnant", "indication", "site",
                                                 "age", "sex", "drug_allergies"}
    assert set(MAPPING.facts) <= covered


def test_eligible_example_reaches_a_plan_through_the_questionnaire():
    record = answers_from_fhir(example("palmar-eligible-bundle.json"), RS, on=ON)
    assessment = assess(record.answers, RS)
    assert assessment.decision.value == "eligible"
    assert assessment.protocol is not None
    assert record.answered_by("site")[0].reference == \
        "ServiceRequest/f0a1c2e3-0003-4e5b-9a10-000000000003"


def test_invalid_fhir_names_the_resource_and_the_field():
    broken = bundle(patient(birth="17.05.1990"),
                    {**condition(SCT, "84757009", "Epilepsy (disorder)"),
                     "clinicalStatus": "active"})
    with pytest.raises(FhirBundleError) as caught:
        answers_from_fhir(broken, RS, on=ON)
    text = str(caught.value)
    assert f"entry 0 (Patient/{PATIENT_ID}): birthDate:" in text
    assert "entry 1 (Condition/cond-1): clinicalStatus: expected an object" in text


def test_unread_bundle_type_and_two_patients_are_refused():
    with pytest.raises(FhirBundleError, match="a 'history' bundle is not read"):
        answers_from_fhir(bundle(patient(), kind="history"), RS, on=ON)
    other = {**patient(), "id": "someone-else"}
    with pytest.raises(FhirBundleError, match="2 patients"):
        answers_from_fhir(bundle(patient(), other), RS, on=ON)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ionto_cds.cli", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_cli_assess_bundle_json_has_the_record_provenance():
    done = _cli("assess", str(FHIR_EXAMPLES / "pacemaker-bundle.json"), "--format", "json",
                "--on", "2026-12-01")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["decision"] == "not_eligible"
    assert data["record"]["assessed_on"] == "2026-12-01"
    assert {"fact": "age", "resource": "Patient/f0a1c2e3-0001-4e5b-9a10-000000000001",
            "text": "birthDate 1958-06-14: 68 year on 2026-12-01",
            "verdict": "counts"} in data["record"]["sources"]


def test_cli_invalid_bundle_exits_2_with_a_message(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle(patient(birth="yesterday"))))
    done = _cli("assess", str(path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"entry 0 (Patient/{PATIENT_ID}): birthDate:" in done.stderr


def test_unknown_resource_type_and_future_birth_date_are_clear_errors():
    with pytest.raises(FhirBundleError, match=r"entry 1 \(Nope/x\): resourceType: 'Nope' is "
                       "not a FHIR R4 resource type"):
        answers_from_fhir(bundle(patient(), {"resourceType": "Nope", "id": "x"}), RS, on=ON)
    with pytest.raises(FhirBundleError, match="birthDate: 2030-01-01 is after the assessment "
                       "date 2026-12-01"):
        answers_from_fhir(bundle(patient(birth="2030-01-01")), RS, on=ON)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(rtype=st.sampled_from(["Patient", "Condition", "Device", "Procedure", "Observation",
                              "QuestionnaireResponse", "ServiceRequest"]),
       fields=st.dictionaries(st.sampled_from(["status", "code", "type", "gender", "birthDate",
                                               "clinicalStatus", "valueQuantity", "item",
                                               "subject", "reasonCode", "questionnaire"]),
                              json_values, max_size=4))
def test_any_resource_gives_answers_or_a_clear_error(rtype, fields):
    try:
        record = answers_from_fhir(bundle(patient(), {"resourceType": rtype, "id": "r1",
                                                      **fields}), RS, on=ON)
    except FhirBundleError as exc:
        assert "Traceback" not in str(exc) and str(exc).startswith("the bundle: ")
        return
    assert isinstance(dict(record.answers), dict)


def test_cli_markdown_report_names_the_record_sources():
    done = _cli("assess", str(FHIR_EXAMPLES / "pacemaker-bundle.json"), "--on", "2026-12-01")
    assert done.returncode == 0, done.stderr
    assert "**Answered from the record:** sex (Patient/f0a1c2e3-0001-4e5b-9a10-000000000001)" \
        in done.stdout
    assert "pacemaker (Device/f0a1c2e3-0001-4e5b-9a10-000000000002, " in done.stdout


def test_bundle_assessment_json_still_meets_the_assessment_contract():
    import jsonschema

    schema = json.loads((REPO / "tests" / "contracts" / "assessment.schema.json").read_text())
    for name in ("pacemaker-bundle.json", "nothing-relevant-bundle.json",
                 "palmar-eligible-bundle.json"):
        done = _cli("assess", str(FHIR_EXAMPLES / name), "--format", "json")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        jsonschema.validate(data, schema)
        assert data["record"]["sources"]


def test_order_and_questionnaire_statuses_come_from_the_mapping():
    assert "site" not in read(order(status="completed")).answers
    assert read(order(status="active")).answers["site"] == "palms"
    unfinished = {**questionnaire({"epilepsy": True}), "status": "in-progress"}
    assert "epilepsy" not in read(unfinished).answers
    other_form = {**questionnaire({"epilepsy": True}), "questionnaire": "https://x.example/q"}
    assert "epilepsy" not in read(other_form).answers
    assert read(questionnaire({"epilepsy": True})).answers["epilepsy"] is True


def test_resources_of_another_patient_are_not_read():
    other = {"reference": "Patient/someone-else"}
    record = read({**condition(ICD10, "Z95.0", "Presence of cardiac pacemaker"),
                   "subject": other},
                  {**questionnaire({"epilepsy": True}), "subject": other})
    assert "pacemaker" not in record.answers and "epilepsy" not in record.answers
