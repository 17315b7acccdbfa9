"""The CDS Hooks services: discovery (with prefetch templates) and one hook call turned into
cards. No HTTP here (see :mod:`~ionto_cds.hooks.app`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds.engine.assess import assess
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import FhirBundleError, HookRequestError, PatientDataError, quote
from ionto_cds.fhir.answers import FhirAnswers, answers_from_fhir, mapping_for
from ionto_cds.hooks.cards import build_cards, shorten
from ionto_cds.hooks.log import DecisionLog, Feedback, IssuedCard

PATIENT = "{{context.patientId}}"
REQUIRED_PREFETCH = ("patient", "conditions", "devices", "procedures", "observations")
"""Prefetch keys without which no assessment is made (the service never fetches or guesses)."""
OUTCOMES = ("accepted", "overridden")


@dataclass(frozen=True)
class Service:
    """One CDS service: its hook, id, title and description."""

    hook: str
    id: str
    title: str
    description: str


SERVICES = (
    Service("patient-view", "ionto-cds-patient-view", "Iontophoresis eligibility",
            "Checks the record for contraindications to iontophoresis (implanted devices, "
            "pregnancy, epilepsy, heart disease...) and says what to ask before a plan."),
    Service("order-select", "ionto-cds-order-select", "Iontophoresis order check",
            "Checks a draft iontophoresis order (ServiceRequest) against the record and the "
            "rules, and offers the dose plan with units when the patient is eligible."),
)
BY_ID = {s.id: s for s in SERVICES}


def prefetch_templates(rs: RuleSet) -> dict[str, str]:
    """The FHIR queries the EHR is asked to prefetch (observations: only the codes read)."""
    mapping = mapping_for(rs)
    loinc = [f"{q.system}|{q.code}" for q in mapping.quantities]
    loinc += [f"{v.system}|{v.code}" for v in mapping.values]
    templates = {
        "patient": f"Patient/{PATIENT}",
        "conditions": f"Condition?patient={PATIENT}",
        "devices": f"Device?patient={PATIENT}",
        "procedures": f"Procedure?patient={PATIENT}",
        "observations": f"Observation?patient={PATIENT}&code={','.join(loinc)}",
    }
    if mapping.allergies:
        templates["allergies"] = f"AllergyIntolerance?patient={PATIENT}"
    if mapping.questionnaire:
        templates["answers"] = (f"QuestionnaireResponse?patient={PATIENT}"
                                f"&questionnaire={mapping.questionnaire}")
    return templates


def discovery(rs: RuleSet) -> dict[str, Any]:
    """The body of GET /cds-services."""
    prefetch = prefetch_templates(rs)
    return {"services": [{"hook": s.hook, "id": s.id, "title": s.title,
                          "description": s.description, "prefetch": prefetch,
                          "usageRequirements": "Decision support for health-care "
                          "professionals; it does not replace clinical judgement."}
                         for s in SERVICES]}


def _text(body: Mapping[str, Any], key: str, where: str = "the request") -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise HookRequestError(f"{where} needs '{key}' as text, got {quote(value)}")
    return value


def _resources(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, Mapping):
        return []
    if value.get("resourceType") == "Bundle":
        return [dict(e["resource"]) for e in value.get("entry") or ()
                if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)]
    return [dict(value)]


def _missing(prefetch: Mapping[str, Any]) -> list[str]:
    return [k for k in REQUIRED_PREFETCH
            if not isinstance(prefetch.get(k), Mapping)
            or prefetch[k].get("resourceType") == "OperationOutcome"]


def _needs_data_card(rs: RuleSet, missing: list[str]) -> dict[str, Any]:
    templates = prefetch_templates(rs)
    lines = [f"- `{k}`: `{templates[k]}`" for k in missing]
    return {"uuid": str(uuid.uuid4()),
            "summary": shorten(f"ionto-cds needs the patient's {', '.join(missing)} to assess "
                               "iontophoresis"),
            "indicator": "warning",
            "detail": "\n".join(["This service does not fetch data or guess: the EHR sent no "
                                 "prefetch for these, so no decision was made.", "",
                                 "**Needed (FHIR queries):**", *lines]),
            "source": {"label": f"ionto-cds rules {rs.version}"}}


class HookHandler:
    """Turns hook calls into cards and feedback into the decision log."""

    def __init__(self, ruleset: RuleSet, log: DecisionLog) -> None:
        self.rs = ruleset
        self.log = log

    def call(self, service_id: str, body: Mapping[str, Any],
             on: dt.date | None = None) -> dict[str, Any]:
        """The response body of POST /cds-services/{id}."""
        service = BY_ID[service_id]
        if body.get("hook") != service.hook:
            raise HookRequestError(f"service '{service.id}' serves the {service.hook} hook, "
                                   f"not {quote(body.get('hook'))}")
        instance = _text(body, "hookInstance")
        context = body.get("context")
        if not isinstance(context, Mapping):
            raise HookRequestError("the request needs a 'context' object")
        patient_id = _text(context, "patientId", "the context")
        prefetch = body.get("prefetch") or {}
        if not isinstance(prefetch, Mapping):
            raise HookRequestError("'prefetch' must be an object of the prefetch templates' "
                                   "results")
        missing = _missing(prefetch)
        if missing:
            card = _needs_data_card(self.rs, missing)
            self._log(service, instance, None, "no_decision", [card], [None])
            return {"cards": [card]}
        draft, orders = self._orders(service, context)
        if service.hook == "order-select" and draft is None:
            return {"cards": []}  # not an iontophoresis order: nothing to say
        resources = [r for key in prefetch for r in _resources(prefetch[key])]
        record = self._read(resources + orders, patient_id, on)
        try:
            assessment = assess(record.answers, self.rs)
        except PatientDataError as exc:
            raise HookRequestError(str(PatientDataError(exc.problems, "the prefetch",
                                                        exc.total))) from None
        cards = build_cards(assessment, record, draft)
        self._log(service, instance, record.patient, assessment.decision.value,
                  list(cards.cards), list(cards.rules))
        return {"cards": list(cards.cards)}

    def _orders(self, service: Service, context: Mapping[str, Any]
                ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if service.hook != "order-select":
            return None, []
        selections = context.get("selections")
        drafts = _resources(context.get("draftOrders"))
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise HookRequestError("order-select needs 'context.selections': a list of "
                                   "references such as \"ServiceRequest/1\"")
        chosen = [r for r in drafts if f"{r.get('resourceType')}/{r.get('id')}" in selections]
        mapping = mapping_for(self.rs)
        requests = [r for r in chosen if r.get("resourceType") == "ServiceRequest"
                    and mapping.is_iontophoresis_order(r)]
        return (requests[0] if requests else None), requests

    def _read(self, resources: list[dict[str, Any]], patient_id: str,
              on: dt.date | None) -> FhirAnswers:
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for r in resources]}
        try:
            record = answers_from_fhir(bundle, self.rs, on=on, source="the prefetch")
        except FhirBundleError as exc:
            raise HookRequestError(str(exc)) from None
        if record.patient is not None and record.patient != f"Patient/{patient_id}":
            raise HookRequestError(f"the prefetched patient is {record.patient}, the context's "
                                   f"is Patient/{patient_id}")
        return record

    def _log(self, service: Service, instance: str, patient: str | None, decision: str,
             cards: list[dict[str, Any]], rules: list[str | None]) -> None:
        self.log.record_cards(
            IssuedCard(c["uuid"], service.id, instance, patient, decision, rule,
                       c["indicator"], c["summary"], f"{self.rs.version} {self.rs.sha256}")
            for c, rule in zip(cards, rules, strict=True))

    def feedback(self, service_id: str, body: Mapping[str, Any]) -> int:
        """Record POST /cds-services/{id}/feedback; the number of items kept."""
        items = body.get("feedback")
        if not isinstance(items, list) or not items:
            raise HookRequestError("feedback needs 'feedback': a list of {card, outcome, "
                                   "outcomeTimestamp}")
        return self.log.record_feedback(service_id, [_feedback(i, n)
                                                     for n, i in enumerate(items)])


def _feedback(item: object, n: int) -> Feedback:
    where = f"feedback item {n}"
    if not isinstance(item, Mapping):
        raise HookRequestError(f"{where} must be an object")
    outcome = _text(item, "outcome", where)
    if outcome not in OUTCOMES:
        raise HookRequestError(f"{where}: outcome is accepted or overridden, got "
                               f"{quote(outcome)}")
    accepted = item.get("acceptedSuggestions") or []
    ids = tuple(str(s.get("id")) for s in accepted if isinstance(s, Mapping))
    override = item.get("overrideReason") or {}
    reason = override.get("reason") if isinstance(override, Mapping) else None
    reason = reason if isinstance(reason, Mapping) else {}
    comment = override.get("userComment") if isinstance(override, Mapping) else None
    return Feedback(_text(item, "card", where), outcome, ids,
                    str(reason["code"]) if "code" in reason else None,
                    str(reason["display"]) if "display" in reason else None,
                    str(comment) if comment is not None else None,
                    _text(item, "outcomeTimestamp", where))
