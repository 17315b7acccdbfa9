"""Fictional FHIR R4 records, shaped like Synthea's output (urn:uuid full URLs, coded
statuses, references to the patient), for the FHIR and CDS Hooks tests. No real patient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import CLEAR_ADULT, EXAMPLES

PATIENT_ID = "9d3c1f7e-5a2b-4c6d-8e9f-0a1b2c3d4e5f"
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
QUESTIONNAIRE = "https://ionto-cds.org/fhir/Questionnaire/ionto-cds-answers"
FHIR_EXAMPLES = EXAMPLES / "fhir"


def patient(gender: str = "female", birth: str = "1990-05-17") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT_ID,
            "name": [{"use": "official", "family": "Testperson", "given": ["Ada"]}],
            "gender": gender, "birthDate": birth}


def condition(system: str, code: str, display: str, clinical: str | None = "active",
              verification: str | None = "confirmed", rid: str = "cond-1") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition", "id": rid, "subject": SUBJECT,
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "onsetDateTime": "2018-04-02T10:00:00+02:00"}
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"system": VERIFICATION,
                                                      "code": verification}]}
    return resource


def device(system: str, code: str, display: str, status: str | None = "active",
           rid: str = "dev-1") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Device", "id": rid, "patient": SUBJECT,
        "type": {"coding": [{"system": system, "code": code, "display": display}]}}
    if status:
        resource["status"] = status
    return resource


def procedure(system: str, code: str, display: str, status: str = "completed",
              rid: str = "proc-1") -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": rid, "status": status, "subject": SUBJECT,
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "performedDateTime": "2016-03-10T09:00:00+01:00"}


def observation(code: str, *, quantity: tuple[float, str] | None = None,
                coded: tuple[str, str] | None = None, status: str = "final",
                when: str = "2026-11-02", rid: str = "obs-1") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": status, "subject": SUBJECT,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": when}
    if quantity:
        resource["valueQuantity"] = {"value": quantity[0], "unit": quantity[1],
                                     "system": "http://unitsofmeasure.org",
                                     "code": quantity[1]}
    if coded:
        resource["valueCodeableConcept"] = {"coding": [{"system": coded[0],
                                                        "code": coded[1]}]}
    return resource


def order(code: str = "L74.512", status: str = "draft", rid: str = "order-1") -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": rid, "status": status,
            "intent": "proposal", "subject": SUBJECT,
            "code": {"text": "Iontophoresis"},
            "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                        "code": code}]}]}


def _answer(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, list):
        return [{"valueCoding": {"code": v}} for v in value] or [{"valueString": "none"}]
    return [{"valueString": str(value)}]


def questionnaire(answers: dict[str, Any], rid: str = "qr-1") -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "id": rid, "status": "completed",
            "questionnaire": QUESTIONNAIRE, "subject": SUBJECT,
            "item": [{"linkId": k, "answer": _answer(v)} for k, v in answers.items()]}


def cleared_answers(*without: str) -> dict[str, Any]:
    """The clear adult's answers a form would give, less the record's facts and ``without``."""
    skip = {"age", "sex", "weight", "indication", "site", *without}
    return {k: v for k, v in CLEAR_ADULT.items() if k not in skip}


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"fullUrl": f"urn:uuid:{i:08d}-0000-4000-8000-000000000000",
                       "resource": r} for i, r in enumerate(resources)]}


def example(name: str) -> dict[str, Any]:
    return json.loads(Path(FHIR_EXAMPLES / name).read_text())
