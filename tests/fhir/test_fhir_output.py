"""FHIR out: `assess --format fhir` is a Bundle whose every resource validates (R4 shapes)."""

from __future__ import annotations

import json
import subprocess
import sys

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir_records import FHIR_EXAMPLES
from helpers import CLEAR_ADULT, EXAMPLES, REPO

from ionto_cds import assess
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.render.fhir_out import (
    DECISION_SYSTEM,
    QUANTITY_EXTENSION,
    RULE_SYSTEM,
    UCUM,
    assessment_bundle,
)

RS = default_ruleset()


def _validated(bundle: dict) -> dict[str, list[dict]]:
    Bundle.model_validate(bundle)
    by_type: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        by_type.setdefault(resource["resourceType"], []).append(resource)
    return by_type


def test_eligible_plan_has_dose_quantities_in_ucum():
    assessment = assess(CLEAR_ADULT, RS)
    bundle = assessment_bundle(assessment)
    found = _validated(bundle)
    (guidance,) = found["GuidanceResponse"]
    assert guidance["status"] == "success"
    assert guidance["reasonCode"][0]["coding"][0] == {
        "system": DECISION_SYSTEM, "code": "eligible", "display": "Eligible"}
    (request,) = found["ServiceRequest"]
    quantities = {e["url"].removeprefix(QUANTITY_EXTENSION): e["valueQuantity"]
                  for e in request["extension"]}
    plan = assessment.to_dict()["protocol"]
    assert quantities["current"] == {"value": 10.0, "unit": "mA", "system": UCUM, "code": "mA"}
    assert plan["current"] == "10 mA"
    assert quantities["dose"]["code"] == "mA.min"
    assert quantities["duration"]["code"] == "min"
    assert request["occurrenceTiming"]["repeat"]["durationUnit"] == "min"
    (group,) = found["RequestGroup"]
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in bundle["entry"]}
    assert group["action"][0]["resource"]["reference"] == urls["ServiceRequest"]
    assert guidance["result"]["reference"] == urls["RequestGroup"]


def test_one_detected_issue_per_finding_with_the_record_implicated():
    answers = {**CLEAR_ADULT, "pacemaker": True, "epilepsy": None}
    assessment = assess(answers, RS)
    bundle = assessment_bundle(assessment, "Patient/p1", {"pacemaker": ["Device/d1"]})
    found = _validated(bundle)
    issues = found["DetectedIssue"]
    assert len(issues) == len(assessment.findings)
    pacemaker = next(i for i in issues if i["code"]["coding"][0]["code"] == "pacemaker")
    assert pacemaker["code"]["coding"][0]["system"] == RULE_SYSTEM
    assert pacemaker["severity"] == "high" and pacemaker["status"] == "final"
    assert pacemaker["implicated"] == [{"reference": "Device/d1"}]
    assert pacemaker["patient"] == {"reference": "Patient/p1"}
    assert "RequestGroup" not in found


def test_needs_information_lists_the_questions_as_data_required():
    assessment = assess({"age": 40}, RS)
    (guidance,) = _validated(assessment_bundle(assessment))["GuidanceResponse"]
    assert guidance["status"] == "data-required"
    must = guidance["dataRequirement"][0]["mustSupport"]
    assert "item.where(linkId='indication')" in must
    assert len(must) == len(assessment.missing)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ionto_cds.cli", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_cli_format_fhir_for_answers_and_for_a_bundle():
    for path in (EXAMPLES / "palmar-adult.yaml", FHIR_EXAMPLES / "palmar-eligible-bundle.json",
                 FHIR_EXAMPLES / "pacemaker-bundle.json"):
        done = _cli("assess", str(path), "--format", "fhir", "--on", "2026-12-01")
        assert done.returncode == 0, done.stderr
        _validated(json.loads(done.stdout))
