"""An Assessment as a FHIR R4 Bundle: a GuidanceResponse with the decision, a DetectedIssue per
finding, and for a plan a RequestGroup whose action is a draft ServiceRequest carrying the dose
as Quantities with UCUM codes. Built from :meth:`Assessment.to_dict` and the plan table of
:mod:`~ionto_cds.render.plan_text`; it decides nothing. Every resource is checked with the
fhir.resources R4B models (R4-shaped for these resources) before it is returned.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from ionto_cds.engine.assessment import NOTICE, Assessment
from ionto_cds.errors import ProgramError
from ionto_cds.language.fhir_mapping import FhirMapping
from ionto_cds.language.read_fhir_mapping import fhir_mapping_for
from ionto_cds.render.plan_text import plan_rows
from ionto_cds.units import parse_quantity

BASE = "https://ionto-cds.org/fhir"
DECISION_SYSTEM = f"{BASE}/CodeSystem/decision"
"""ionto-cds's own code system for its five decisions (not a clinical terminology)."""
RULE_SYSTEM = f"{BASE}/CodeSystem/rule"
"""ionto-cds's own code system: the id of a rule in rules/."""
FACT_SYSTEM = f"{BASE}/CodeSystem/fact"
"""ionto-cds's own code system: a fact (question) name of rules/facts.yaml."""
QUANTITY_EXTENSION = f"{BASE}/StructureDefinition/plan-"
"""Extension URL prefix of a plan quantity (plan-current, plan-dose...)."""
UCUM = "http://unitsofmeasure.org"
_SEVERITY = {"absolute": "high", "relative": "moderate", "precaution": "low"}
"""Finding severity to DetectedIssue.severity (FHIR detectedissue-severity)."""
_GUIDANCE_STATUS = {"needs_information": "data-required"}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _quantity(text: str, unit_text: str, code: str) -> dict[str, Any]:
    q = parse_quantity(text, unit_text).to(unit_text)
    return {"value": round(float(q.magnitude), 6), "unit": code, "system": UCUM, "code": code}


class _Builder:
    def __init__(self, assessment: Assessment, mapping: FhirMapping, subject: Mapping[str, str],
                 evidence: Mapping[str, Sequence[str]], when: str,
                 data: Mapping[str, Any] | None = None) -> None:
        self.a = assessment
        self.d = data if data is not None else assessment.to_dict()
        self.mapping = mapping
        self.subject = dict(subject)
        self.evidence = evidence
        self.when = when
        self.entries: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any]) -> str:
        url = _urn()
        self.entries.append({"fullUrl": url, "resource": resource})
        return url

    def build(self) -> dict[str, Any]:
        guidance = self.guidance()
        issues = [self.add(self.issue(f)) for f in self.d["findings"]]
        if self.a.protocol is not None:
            guidance["result"] = {"reference": self.add_plan()}
        if issues:
            guidance["extension"] = [{"url": f"{BASE}/StructureDefinition/detected-issue",
                                      "valueReference": {"reference": u}} for u in issues]
        self.entries.insert(0, {"fullUrl": _urn(), "resource": guidance})
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "timestamp": self.when, "entry": self.entries}
        try:
            Bundle.model_validate(bundle)
        except ValidationError as exc:  # our own output: a bug, never the user's mistake
            raise ProgramError(f"FHIR output does not validate: {exc.errors()[:3]}") from None
        return bundle

    def guidance(self) -> dict[str, Any]:
        d = self.d
        notes = [NOTICE] + ([d["no_plan_reason"]] if d["no_plan_reason"] else [])
        if d["referral"]:
            notes.append(f"Referral: {d['referral']['title']}: {d['referral']['summary']}")
        resource: dict[str, Any] = {
            "resourceType": "GuidanceResponse",
            "identifier": [{"system": f"{BASE}/assessment", "value": str(uuid.uuid4())}],
            "moduleUri": f"{BASE}/ruleset/{d['ruleset']['version']}",
            "status": _GUIDANCE_STATUS.get(d["decision"], "success"),
            "subject": self.subject,
            "occurrenceDateTime": self.when,
            "reasonCode": [{"coding": [{"system": DECISION_SYSTEM, "code": d["decision"],
                                        "display": d["decision_text"]}],
                            "text": d["decision_text"]}],
            "note": [{"text": n} for n in notes],
        }
        if d["missing"]:
            resource["dataRequirement"] = [{
                "type": "QuestionnaireResponse",
                "profile": [self.mapping.questionnaire] if self.mapping.questionnaire else None,
                "mustSupport": [f"item.where(linkId='{q['fact']}')" for q in d["questions"]],
            }]
            resource["dataRequirement"][0] = {k: v for k, v in
                                              resource["dataRequirement"][0].items() if v}
        return resource

    def issue(self, finding: Mapping[str, Any]) -> dict[str, Any]:
        refs = self.a.ruleset.references
        implicated = sorted({r for fact in _trace_facts(finding["trace"])
                             for r in self.evidence.get(fact, ())})
        resource: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "final" if finding["status"] == "true" else "preliminary",
            "code": {"coding": [{"system": RULE_SYSTEM, "code": finding["rule"],
                                 "display": finding["title"]}], "text": finding["title"]},
            "severity": _SEVERITY[finding["severity"]],
            "patient": self.subject,
            "identifiedDateTime": self.when,
            "detail": finding["rationale"]
            + ("" if finding["status"] == "true" else " (unknown: not yet answered)"),
        }
        if implicated:
            resource["implicated"] = [{"reference": r} for r in implicated]
        cited = [refs[k].citation if k in refs else k for k in finding["references"]]
        if cited:
            resource["evidence"] = [{"code": [{"text": c}]} for c in cited]
        if finding.get("action"):
            resource["mitigation"] = [{"action": {"text": finding["action"]}}]
        return resource

    def service_request(self) -> dict[str, Any]:
        """The draft ServiceRequest of the plan (dose quantities as UCUM extensions)."""
        plan = self.d["protocol"]
        if self.a.protocol is None:
            raise ProgramError("a plan resource was asked for an assessment without a plan")
        rows = plan_rows(self.a.protocol)
        extensions = [{"url": f"{QUANTITY_EXTENSION}{name.replace('_', '-')}",
                       "valueQuantity": _quantity(plan[name], u.unit, u.code)}
                      for name, u in self.mapping.ucum.items() if plan.get(name)]
        request: dict[str, Any] = {
            "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
            "code": {"text": f"Iontophoresis: {plan['title']}"},
            "subject": self.subject, "authoredOn": self.when,
            "reasonCode": [{"text": str(self.d["answers"].get("indication", ""))}],
            "bodySite": [{"text": str(self.d["answers"].get("site", ""))}],
            "note": [{"text": f"{label}: {value}"} for label, value in rows]
            + [{"text": f"Precaution: {p}"} for p in plan["precautions"]],
            "extension": extensions,
        }
        timing = self.timing(plan)
        if timing:
            request["occurrenceTiming"] = {"repeat": timing}
        return {k: v for k, v in request.items() if v not in ([{"text": ""}], [])}

    def add_plan(self) -> str:
        plan = self.d["protocol"]
        request_url = self.add(self.service_request())
        rows = plan_rows(self.a.protocol) if self.a.protocol is not None else []
        group = {
            "resourceType": "RequestGroup", "status": "draft", "intent": "proposal",
            "subject": self.subject, "authoredOn": self.when,
            "action": [{"title": plan["title"],
                        "description": "; ".join(f"{k}: {v}" for k, v in rows[:8]),
                        "resource": {"reference": request_url}}],
        }
        return self.add(group)

    def timing(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        duration = self.mapping.ucum.get("duration")
        repeat: dict[str, Any] = {}
        if duration is not None and plan.get("duration"):
            q = _quantity(plan["duration"], duration.unit, duration.code)
            repeat.update(duration=q["value"], durationUnit=duration.code)
        schedule = plan.get("schedule") or {}
        per_week = (schedule.get("induction") or {}).get("sessions_per_week")
        if per_week:
            repeat.update(frequency=int(per_week), period=1, periodUnit="wk")
        return repeat


def _trace_facts(node: Mapping[str, Any]) -> set[str]:
    if "fact" in node:
        return {str(node["fact"])}
    return {f for part in node.get("parts", ()) for f in _trace_facts(part)}


def assessment_bundle(assessment: Assessment, subject: str | None = None,
                      evidence: Mapping[str, Sequence[str]] | None = None,
                      when: dt.datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle (JSON-ready) of one assessment.

    ``subject`` is the patient reference ("Patient/p1") when the answers came from a record;
    ``evidence`` maps a fact to the references of the resources that answered it (they are
    named as ``implicated`` on the DetectedIssues of the findings that read that fact).
    """
    rs = assessment.ruleset
    mapping = fhir_mapping_for(Path(rs.source.directory), rs.sha256, rs.catalog)
    stamp = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    who = {"reference": subject} if subject else {"display": "the assessed patient"}
    return _Builder(assessment, mapping, who, evidence or {}, stamp).build()


def plan_service_request(assessment: Assessment, subject: str | None = None,
                         evidence: Mapping[str, Sequence[str]] | None = None,
                         data: Mapping[str, Any] | None = None, check: bool = True
                         ) -> dict[str, Any]:
    """The plan alone as a draft FHIR R4 ServiceRequest; ``data`` is the assessment's to_dict()
    when the caller already has it. ``check`` validates it with fhir.resources (the hooks
    service, on its hot path, leaves that to its tests, which validate every suggestion)."""
    rs = assessment.ruleset
    mapping = fhir_mapping_for(Path(rs.source.directory), rs.sha256, rs.catalog)
    who = {"reference": subject} if subject else {"display": "the assessed patient"}
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    request = _Builder(assessment, mapping, who, evidence or {}, stamp, data).service_request()
    if not check:
        return request
    try:
        ServiceRequest.model_validate(request)
    except ValidationError as exc:
        raise ProgramError(f"FHIR output does not validate: {exc.errors()[:3]}") from None
    return request


def to_fhir_json(assessment: Assessment, subject: str | None = None,
                 evidence: Mapping[str, Sequence[str]] | None = None) -> str:
    """:func:`assessment_bundle` as pretty JSON."""
    return json.dumps(assessment_bundle(assessment, subject, evidence), indent=2,
                      ensure_ascii=False)
