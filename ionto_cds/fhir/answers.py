"""A patient's answers read from a FHIR R4 Bundle by the mapping of rules/fhir/mapping.yaml,
with the resource that answered each fact.

The record only ever says yes: absent is unknown, never no. A refuted or entered-in-error
resource is not a yes; a resolved condition, an inactive device or a stopped procedure leaves
the fact unknown so that it is asked (a removed pacemaker may have left its leads). Age comes
from birthDate at the assessment date, sex from gender. Explicit answers, "no" included, come
only from the ionto-cds questionnaire (a QuestionnaireResponse), and a yes in the record wins
over a no there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import FhirBundleError, FhirProblem
from ionto_cds.fhir.bundle import bundle_resources, validate_bundle
from ionto_cds.language.fhir_mapping import FhirMapping, Verdict
from ionto_cds.language.read_fhir_mapping import fhir_mapping_for

_CODE_ELEMENT = {"Condition": "code", "Device": "type", "Procedure": "code",
                 "Observation": "code"}


@dataclass(frozen=True)
class RecordSource:
    """One resource that bore on a fact: what it said and whether it answered it."""

    fact: str
    reference: str
    text: str
    verdict: Verdict

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly."""
        return {"fact": self.fact, "resource": self.reference, "text": self.text,
                "verdict": self.verdict.value}


@dataclass(frozen=True)
class FhirAnswers:
    """Answers read from a bundle (for :func:`~ionto_cds.engine.assess.assess`) and where each
    came from; ``sources`` also lists resources that were seen but did not answer (a resolved
    condition: ask)."""

    answers: Mapping[str, Any]
    sources: tuple[RecordSource, ...]
    patient: str | None
    mapping: FhirMapping
    on: dt.date

    def answered_by(self, fact: str) -> tuple[RecordSource, ...]:
        """The resources that gave a fact its answer."""
        return tuple(s for s in self.sources if s.fact == fact and s.verdict is Verdict.COUNTS)

    def to_dict(self) -> dict[str, Any]:
        """The provenance block added to the assess JSON: which resource answered which fact,
        and which were seen but not counted."""
        return {"patient": self.patient, "assessed_on": self.on.isoformat(),
                "mapping": {"version": self.mapping.version, "sha256": self.mapping.sha256},
                "sources": [s.to_dict() for s in self.sources]}


def mapping_for(ruleset: RuleSet) -> FhirMapping:
    """The FHIR mapping beside a rule set's folder (the packaged one when it has none)."""
    return fhir_mapping_for(Path(ruleset.source.directory), ruleset.sha256, ruleset.catalog)


def answers_from_fhir(bundle: Mapping[str, Any], ruleset: RuleSet | None = None,
                      on: dt.date | None = None, source: str = "the bundle") -> FhirAnswers:
    """Read a FHIR R4 Bundle (parsed JSON) into answers, validated with fhir.resources first.

    ``on`` is the assessment date (today by default): age is worked out at it. Raises
    :class:`~ionto_cds.errors.FhirBundleError` for a bundle that is not valid FHIR R4.
    """
    rs = ruleset if ruleset is not None else default_ruleset()
    validate_bundle(bundle, source)
    return _Collector(mapping_for(rs), on or dt.date.today(), source).read(
        bundle_resources(bundle))


def _ref(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '(no id)')}"


def _codings(concept: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping):
                yield coding


def _status_code(resource: Mapping[str, Any], element: str) -> str | None:
    value = resource.get(element)
    if isinstance(value, str):
        return value
    for coding in _codings(value):
        code = coding.get("code")
        if isinstance(code, str):
            return code
    return None


def _when(resource: Mapping[str, Any]) -> str:
    for key in ("effectiveDateTime", "effectiveInstant", "issued"):
        if isinstance(resource.get(key), str):
            return str(resource[key])
    period = resource.get("effectivePeriod")
    return str(period.get("start", "")) if isinstance(period, Mapping) else ""


def age_at(birth: str, on: dt.date) -> str | None:
    """Age at ``on`` from a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) as an answer ("34 year",
    "18 month" under 2 years); None when a partial date leaves the age in doubt."""
    parts = [int(p) for p in birth[:10].split("-")]
    if len(parts) == 3:
        return _age_text(dt.date(*parts), on)
    first_month, last_month = (parts[1], parts[1]) if len(parts) == 2 else (1, 12)
    first = dt.date(parts[0], first_month, 1)
    last = dt.date(parts[0] + last_month // 12, last_month % 12 + 1, 1) - dt.timedelta(days=1)
    earliest, latest = _age_text(first, on), _age_text(last, on)
    return earliest if earliest == latest else None


def _age_text(birth: dt.date, on: dt.date) -> str:
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    return f"{months} month" if months < 24 else f"{months // 12} year"


@dataclass
class _Collector:
    mapping: FhirMapping
    on: dt.date
    source: str
    answers: dict[str, Any] = field(default_factory=dict)
    sources: list[RecordSource] = field(default_factory=list)
    patient: str | None = None
    newest: dict[str, str] = field(default_factory=dict)

    def note(self, fact: str, resource: Mapping[str, Any], text: str, verdict: Verdict) -> None:
        self.sources.append(RecordSource(fact, _ref(resource), text, verdict))

    def read(self, resources: list[dict[str, Any]]) -> FhirAnswers:
        patients = [r for r in resources if r.get("resourceType") == "Patient"]
        if len({_ref(p) for p in patients}) > 1:
            raise FhirBundleError(self.source, [FhirProblem(
                "Bundle", "entry", f"it holds {len(patients)} patients "
                f"({', '.join(_ref(p) for p in patients)}): give one patient's record")])
        for patient in patients[:1]:
            self.read_patient(patient)
        resources = [r for r in resources if self.for_patient(r)]
        for resource in resources:  # the form first: a yes in the record then overrules a no
            if resource.get("resourceType") == "QuestionnaireResponse":
                self.read_questionnaire(resource)
        for resource in resources:
            rtype = resource.get("resourceType")
            if rtype in _CODE_ELEMENT:
                self.read_coded(str(rtype), resource)
            if rtype == "Observation":
                self.read_observation(resource)
            elif rtype == "ServiceRequest":
                self.read_order(resource)
            elif rtype == "AllergyIntolerance":
                self.read_allergy(resource)
        return FhirAnswers(dict(self.answers), tuple(self.sources), self.patient, self.mapping,
                           self.on)

    def for_patient(self, resource: Mapping[str, Any]) -> bool:
        """False for a resource whose subject is another patient than the bundle's."""
        subject = resource.get("subject") or resource.get("patient")
        ref = subject.get("reference") if isinstance(subject, Mapping) else None
        if self.patient is None or not isinstance(ref, str) or not ref.startswith("Patient/"):
            return True
        return ref == self.patient

    def read_patient(self, patient: Mapping[str, Any]) -> None:
        self.patient = _ref(patient)
        gender = patient.get("gender")
        if isinstance(gender, str) and gender in self.mapping.gender:
            self.answers["sex"] = self.mapping.gender[gender]
            self.note("sex", patient, f"gender {gender}", Verdict.COUNTS)
        birth = patient.get("birthDate")
        if isinstance(birth, str) and birth[:10] > self.on.isoformat():
            raise FhirBundleError(self.source, [FhirProblem(
                _ref(patient), "birthDate", f"{birth} is after the assessment date "
                f"{self.on.isoformat()}: correct the record or give --on")])
        if isinstance(birth, str):
            age = age_at(birth, self.on)
            if age is None:
                self.note("age", patient, f"birthDate {birth} gives no whole age: ask the age",
                          Verdict.ASK)
            else:
                self.answers["age"] = age
                self.note("age", patient, f"birthDate {birth}: {age} on {self.on.isoformat()}",
                          Verdict.COUNTS)

    def supersede(self, fact: str, verdict: Verdict) -> None:
        """Earlier sources of a fact no longer answer it."""
        self.sources[:] = [RecordSource(s.fact, s.reference, s.text, verdict)
                           if s.fact == fact and s.verdict is Verdict.COUNTS else s
                           for s in self.sources]

    def yes(self, fact: str, resource: Mapping[str, Any], text: str) -> None:
        if self.answers.get(fact) is False:
            text += " (the questionnaire's 'no' is overruled by the record)"
            self.supersede(fact, Verdict.IGNORED)
        self.answers[fact] = True
        self.note(fact, resource, text, Verdict.COUNTS)

    def read_coded(self, rtype: str, resource: Mapping[str, Any]) -> None:
        codings = list(_codings(resource.get(_CODE_ELEMENT[rtype])))
        hits = [(e, c) for e in self.mapping.codes if rtype in e.resources
                for c in codings if e.matches(c.get("system"), c.get("code"))]
        if not hits:
            return
        statuses = {rule.element: _status_code(resource, rule.element)
                    for rule in self.mapping.statuses.get(rtype, ())}
        verdict = self.mapping.verdict(rtype, statuses)
        said = ", ".join(f"{k} {v}" for k, v in statuses.items() if v) or "no status"
        for entry in {e.fact: e for e, _ in hits}.values():
            text = f"{entry.display} ({said})"
            if verdict is Verdict.COUNTS:
                self.yes(entry.fact, resource, text)
            else:
                self.note(entry.fact, resource, text, verdict)

    def read_allergy(self, resource: Mapping[str, Any]) -> None:
        """A recorded allergy is shown, never answered: the list fact stays asked."""
        codings = [(c.get("system"), c.get("code")) for c in _codings(resource.get("code"))]
        statuses = {e: _status_code(resource, e) for e in ("clinicalStatus",
                                                            "verificationStatus")}
        verdict = self.mapping.verdict("AllergyIntolerance", statuses)
        said = ", ".join(f"{k} {v}" for k, v in statuses.items() if v) or "no status"
        for a in self.mapping.allergies:
            if (a.system, a.code) not in codings:
                continue
            if verdict is Verdict.COUNTS:
                self.note(a.fact, resource, f"allergy to {a.item} recorded ({a.display}, "
                          f"{said}): confirm the patient's drug allergies", Verdict.ASK)
            else:
                self.note(a.fact, resource, f"{a.display} ({said})", verdict)

    def status_verdict(self, rtype: str, resource: Mapping[str, Any]) -> Verdict:
        return self.mapping.verdict(rtype, {"status": _status_code(resource, "status")})

    def observation_counts(self, resource: Mapping[str, Any]) -> Verdict:
        return self.status_verdict("Observation", resource)

    def read_observation(self, resource: Mapping[str, Any]) -> None:
        codes = [(c.get("system"), c.get("code")) for c in _codings(resource.get("code"))]
        for q in self.mapping.quantities:
            if (q.system, q.code) in codes:
                self.read_quantity(q.fact, q.units, resource)
        for v in self.mapping.values:
            if (v.system, v.code) not in codes:
                continue
            values = [(c.get("system"), c.get("code"))
                      for c in _codings(resource.get("valueCodeableConcept"))]
            said = next((y for y in v.yes if (y.system, y.code) in values), None)
            verdict = self.observation_counts(resource)
            if said is not None and verdict is Verdict.COUNTS:
                self.yes(v.fact, resource, f"{v.display}: {said.display}")
            else:
                why = said.display if said is not None else "a value that is not a yes"
                self.note(v.fact, resource, f"{v.display}: {why} (not counted: ask)",
                          verdict if verdict is not Verdict.COUNTS else Verdict.ASK)

    def read_quantity(self, fact: str, units: Mapping[str, str],
                      resource: Mapping[str, Any]) -> None:
        value = resource.get("valueQuantity")
        if self.observation_counts(resource) is not Verdict.COUNTS or not isinstance(value,
                                                                                      Mapping):
            self.note(fact, resource, "no usable value (status or value missing)", Verdict.ASK)
            return
        code = value.get("code")
        number = value.get("value")
        if code not in units or not isinstance(number, int | float):
            self.note(fact, resource, f"unit {code!r} is not read (UCUM codes read: "
                      f"{', '.join(units)})", Verdict.ASK)
            return
        when = _when(resource)
        if fact in self.newest and self.newest[fact] > when:
            self.note(fact, resource, f"{number} {code} on {when} (an older value)", Verdict.ASK)
            return
        self.newest[fact] = when
        self.answers[fact] = f"{number} {units[str(code)]}"
        self.supersede(fact, Verdict.ASK)
        self.note(fact, resource, f"{number} {code} on {when or 'an unknown date'}",
                  Verdict.COUNTS)

    def read_order(self, resource: Mapping[str, Any]) -> None:
        if self.status_verdict("ServiceRequest", resource) is not Verdict.COUNTS:
            return
        for concept in resource.get("reasonCode") or ():
            for coding in _codings(concept):
                for reason in self.mapping.order_reasons:
                    if (coding.get("system"), coding.get("code")) != (reason.system, reason.code):
                        continue
                    for fact, value in reason.answers.items():
                        self.order_answer(fact, value, resource, reason.display)

    def order_answer(self, fact: str, value: str, resource: Mapping[str, Any],
                     display: str) -> None:
        given = self.answers.get(fact)
        if given is not None and given != value:
            self.answers.pop(fact)
            self.supersede(fact, Verdict.ASK)
            self.note(fact, resource, f"{display}: says {value}, another source said {given}: "
                      "ask", Verdict.ASK)
            return
        self.answers[fact] = value
        self.note(fact, resource, f"order reason {display}", Verdict.COUNTS)

    def read_questionnaire(self, resource: Mapping[str, Any]) -> None:
        canonical = str(resource.get("questionnaire", "")).split("|", 1)[0]
        if canonical != self.mapping.questionnaire or self.status_verdict(
                "QuestionnaireResponse", resource) is not Verdict.COUNTS:
            return
        for item in _items(resource.get("item")):
            values = [_answer_value(a) for a in item.get("answer") or ()]
            values = [v for v in values if v is not None]
            fact = str(item.get("linkId"))
            if not values:
                continue
            value = values[0] if len(values) == 1 else values
            if fact in self.answers:
                continue
            self.answers[fact] = value
            self.note(fact, resource, f"answered {value!r} on the ionto-cds form",
                      Verdict.COUNTS)


def _items(items: object) -> Iterator[Mapping[str, Any]]:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            yield item
            yield from _items(item.get("item"))


def _answer_value(answer: object) -> Any:
    if not isinstance(answer, Mapping):
        return None
    for key in ("valueBoolean", "valueInteger", "valueDecimal", "valueString"):
        if key in answer:
            return answer[key]
    quantity = answer.get("valueQuantity")
    if isinstance(quantity, Mapping) and "value" in quantity:
        return f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping):
        return coding.get("code")
    return None
