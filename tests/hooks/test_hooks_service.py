"""The CDS Hooks service on a real uvicorn server, driven by httpx over loopback, with the
cards checked against the CDS Hooks 2.0 required fields (tests/contracts/cds-hooks.schema.json).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import jsonschema
import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir_records import (
    PATIENT_ID,
    SUBJECT,
    cleared_answers,
    device,
    observation,
    order,
    patient,
    questionnaire,
)

from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.hooks.app import create_app, is_loopback, serving
from ionto_cds.hooks.log import DecisionLog

SCHEMA = json.loads((Path(__file__).parents[1] / "contracts" / "cds-hooks.schema.json")
                    .read_text())
SCT = "http://snomed.info/sct"
TIMEOUT = httpx.Timeout(20.0)
VIEW = "/cds-services/ionto-cds-patient-view"
ORDER = "/cds-services/ionto-cds-order-select"


def valid(body: dict, part: str) -> dict:
    jsonschema.validate(body, {**SCHEMA, "$ref": f"#/$defs/{part}"})
    return body


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    log = DecisionLog(tmp_path_factory.mktemp("hooks") / "log.sqlite3")
    with serving(create_app(default_ruleset(), log)) as url, \
            httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        yield client, log
    log.close()


def searchset(*resources):
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


def prefetch(*resources, **extra):
    by_type = {"Condition": "conditions", "Device": "devices", "Procedure": "procedures",
               "Observation": "observations", "QuestionnaireResponse": "answers",
               "AllergyIntolerance": "allergies"}
    out = {key: searchset() for key in ("conditions", "devices", "procedures", "observations")}
    out["patient"] = patient()
    for r in resources:
        out.setdefault(by_type[r["resourceType"]], searchset())["entry"].append({"resource": r})
    return {**out, **extra}


def call(client, path, hook, prefetched, **context):
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID, **context},
            "prefetch": prefetched}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return valid(response.json(), "response")["cards"]


def test_discovery_lists_both_hooks_with_prefetch_templates(service):
    client, _ = service
    body = valid(client.get("/cds-services").json(), "discovery")
    hooks = {s["hook"]: s for s in body["services"]}
    assert set(hooks) == {"patient-view", "order-select"}
    prefetch_keys = hooks["patient-view"]["prefetch"]
    assert prefetch_keys["patient"] == "Patient/{{context.patientId}}"
    assert prefetch_keys["devices"] == "Device?patient={{context.patientId}}"
    assert "http://loinc.org|29463-7" in prefetch_keys["observations"]


def test_pacemaker_device_gives_a_critical_card(service):
    client, _ = service
    pacemaker = device(SCT, "14106009", "Cardiac pacemaker, device (physical object)")
    cards = call(client, VIEW, "patient-view", prefetch(pacemaker))
    card = cards[0]
    assert card["indicator"] == "critical"
    assert card["summary"] == "Iontophoresis: not eligible: Implanted cardiac pacemaker"
    assert "**Implanted cardiac pacemaker** (absolute contraindication, applies)" in card["detail"]
    assert "`pacemaker` ← Device/dev-1" in card["detail"]
    assert "suggestions" not in card and "overrideReasons" not in card
    assert card["source"]["label"].startswith("ionto-cds rules ")


def test_nothing_relevant_says_what_to_ask_and_offers_no_plan(service):
    client, _ = service
    (card,) = call(client, VIEW, "patient-view", prefetch())
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Iontophoresis: needs information: ask indication")
    assert "**Ask first:**" in card["detail"] and "(`site`)" in card["detail"]
    assert "suggestions" not in card


def test_missing_prefetch_names_the_data_needed_and_decides_nothing(service):
    client, _ = service
    partial = prefetch()
    del partial["devices"]
    partial["procedures"] = None
    (card,) = call(client, VIEW, "patient-view", partial)
    assert card["summary"] == ("ionto-cds needs the patient's devices, procedures to assess "
                               "iontophoresis")
    assert "`Device?patient={{context.patientId}}`" in card["detail"]
    assert "Decision" not in card["detail"]


def test_order_select_eligible_offers_the_plan_as_an_update_of_the_order(service):
    client, _ = service
    draft = order()
    answers = questionnaire(cleared_answers())
    weight = observation("29463-7", quantity=(61, "kg"))
    cards = call(client, ORDER, "order-select", prefetch(answers, weight),
                 selections=["ServiceRequest/order-1"],
                 draftOrders={"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": draft}]})
    card = cards[0]
    assert card["indicator"] == "info"
    assert card["summary"] == "Iontophoresis: eligible: Tap-water iontophoresis, palms and soles"
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update" and action["resource"]["id"] == "order-1"
    ServiceRequest.model_validate(action["resource"])
    current = next(e for e in action["resource"]["extension"] if e["url"].endswith("current"))
    assert current["valueQuantity"]["code"] == "mA"
    assert action["resource"]["subject"] == SUBJECT
    assert "| Starting current | 10 mA |" in card["detail"]


def test_relative_findings_get_their_own_card_with_override_reasons(service):
    client, _ = service
    answers = questionnaire({**cleared_answers("fixed_dental_braces"),
                             "fixed_dental_braces": True})
    cards = call(client, ORDER, "order-select", prefetch(answers),
                 selections=["ServiceRequest/order-1"],
                 draftOrders={"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": order()}]})
    assert cards[0]["indicator"] == "warning"  # eligible with precautions
    (braces,) = [c for c in cards if "overrideReasons" in c]
    assert braces["summary"] == "Fixed dental braces (relative)"
    assert braces["indicator"] == "warning"
    assert {r["code"] for r in braces["overrideReasons"]} >= {"benefit-outweighs-risk"}


def test_feedback_is_recorded_in_the_decision_log(service):
    client, log = service
    pacemaker = device(SCT, "14106009", "Cardiac pacemaker, device (physical object)")
    card = call(client, VIEW, "patient-view", prefetch(pacemaker))[0]
    body = valid({"feedback": [{"card": card["uuid"], "outcome": "overridden",
                                "overrideReason": {"reason": {"code": "record-inaccurate",
                                                              "system": "urn:x",
                                                              "display": "Record wrong"},
                                                   "userComment": "explanted 2024"},
                                "outcomeTimestamp": "2026-12-01T16:40:00Z"}]}, "feedback")
    response = client.post(f"{VIEW}/feedback", json=body)
    assert response.status_code == 200 and response.json() == {"recorded": 1}
    row = log.feedback_rows()[-1]
    assert (row["card"], row["outcome"], row["override_code"], row["comment"],
            row["decision"], row["known_card"]) == (card["uuid"], "overridden",
                                                     "record-inaccurate", "explanted 2024",
                                                     "not_eligible", 1)


def test_the_log_is_append_only(service):
    _, log = service
    import sqlite3

    with sqlite3.connect(log.path) as con, pytest.raises(sqlite3.DatabaseError,
                                                         match="append-only"):
        con.execute("DELETE FROM cards")


@pytest.mark.parametrize(("body", "status", "message"), [
    (b'{"hook": "patient-view", "hook": "x"}', 400, "given twice"),
    (b"[1]", 400, "must be a JSON object"),
    (json.dumps({"hook": "order-select", "hookInstance": "1", "context": {}}).encode(), 400,
     "serves the patient-view hook"),
    (json.dumps({"hook": "patient-view", "hookInstance": "1", "context": {}}).encode(), 400,
     "'patientId'"),
])
def test_bad_requests_get_400_with_a_reason(service, body, status, message):
    client, _ = service
    response = client.post(VIEW, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["error"]


def test_invalid_fhir_in_the_prefetch_names_resource_and_field(service):
    client, _ = service
    broken = {**device(SCT, "14106009", "x"), "status": {"code": "active"}}
    body = {"hook": "patient-view", "hookInstance": "1",
            "context": {"patientId": PATIENT_ID}, "prefetch": prefetch(broken)}
    response = client.post(VIEW, json=body)
    assert response.status_code == 400
    assert "(Device/dev-1): status:" in response.json()["error"]


def test_unknown_service_and_foreign_host_are_refused(service):
    client, _ = service
    assert client.post("/cds-services/nope", json={}).status_code == 404
    assert client.get("/cds-services", headers={"Host": "attacker.example"}).status_code == 400


def test_loopback_check():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_the_example_request_of_the_docs_gets_a_critical_card(service):
    client, _ = service
    body = json.loads((Path(__file__).parents[2] / "examples" / "fhir" /
                       "patient-view-request.json").read_text())
    response = client.post(VIEW, json=body)
    cards = valid(response.json(), "response")["cards"]
    assert cards[0]["indicator"] == "critical"
    assert cards[0]["detail"].index("**Decision") < cards[0]["detail"].index("**Reasons")


def test_a_recorded_allergy_is_shown_on_the_card_and_asked(service):
    client, _ = service
    allergy = {"resourceType": "AllergyIntolerance", "id": "a1", "patient": SUBJECT,
               "code": {"coding": [{"system": SCT, "code": "387480006"}]}}
    body = client.get("/cds-services").json()
    assert body["services"][0]["prefetch"]["allergies"] == \
        "AllergyIntolerance?patient={{context.patientId}}"
    (card,) = call(client, VIEW, "patient-view", prefetch(allergy))
    assert "`drug_allergies` ← AllergyIntolerance/a1: allergy to lidocaine recorded" in \
        card["detail"]
    assert "(**ask**: not counted)" in card["detail"]


def test_order_select_is_silent_on_orders_that_are_not_iontophoresis(service):
    client, _ = service
    physio = {**order(rid="physio-1"), "reasonCode": [{"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.5"}]}]}
    drafts = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": physio}, {"resource": order()}]}
    assert call(client, ORDER, "order-select", prefetch(),
                selections=["ServiceRequest/physio-1"], draftOrders=drafts) == []
    assert call(client, ORDER, "order-select", prefetch(),
                selections=["ServiceRequest/order-1"], draftOrders=drafts) != []
