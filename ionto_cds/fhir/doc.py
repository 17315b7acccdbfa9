"""The mapping table of docs/fhir.md, written from rules/fhir/mapping.yaml (a test keeps the doc
in step): ``python -m ionto_cds.fhir.doc docs/fhir.md`` rewrites it between its markers."""

from __future__ import annotations

import sys
from pathlib import Path

from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.fhir.answers import mapping_for
from ionto_cds.language.fhir_mapping import FhirMapping

START, END = "<!-- mapping:start -->", "<!-- mapping:end -->"


def _system(mapping: FhirMapping, uri: str) -> str:
    names = {"http://snomed.info/sct": "SNOMED CT", "http://hl7.org/fhir/sid/icd-10": "ICD-10",
             "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM", "http://loinc.org": "LOINC"}
    return names.get(uri, next((k for k, v in mapping.systems.items() if v == uri), uri))


def mapping_markdown(mapping: FhirMapping) -> str:
    """Every code, quantity, coded value, order reason and status rule as Markdown tables."""
    out = ["| fact | resource | system | code | display |", "|---|---|---|---|---|"]
    for e in mapping.codes:
        code = f"`{e.code}`" + (" and its subcodes" if e.prefix else "")
        out.append(f"| `{e.fact}` | {', '.join(e.resources)} | {_system(mapping, e.system)} | "
                   f"{code} | {e.display} |")
    for a in mapping.allergies:
        out.append(f"| `{a.fact}` (shown: allergy to {a.item}; the list is asked) | "
                   f"AllergyIntolerance | {_system(mapping, a.system)} | `{a.code}` | "
                   f"{a.display} |")
    for q in mapping.quantities:
        units = ", ".join(f"`{c}`" for c in q.units)
        out.append(f"| `{q.fact}` | Observation.valueQuantity (newest; UCUM {units}) | "
                   f"{_system(mapping, q.system)} | `{q.code}` | {q.display} |")
    for v in mapping.values:
        yes = "; ".join(f"{_system(mapping, y.system)} `{y.code}` {y.display}" for y in v.yes)
        out.append(f"| `{v.fact}` | Observation.valueCodeableConcept = {yes} | "
                   f"{_system(mapping, v.system)} | `{v.code}` | {v.display} |")
    for r in mapping.order_reasons:
        said = ", ".join(f"`{k}` = {v}" for k, v in r.answers.items())
        out.append(f"| {said} | ServiceRequest.reasonCode (status draft or active) | "
                   f"{_system(mapping, r.system)} | `{r.code}` | {r.display} |")
    genders = ", ".join(f"{k} → {v}" for k, v in mapping.gender.items())
    out.append(f"| `sex` | Patient.gender ({genders}; unknown: unanswered) | | | |")
    out.append("| `age` | Patient.birthDate, at the assessment date | | | |")
    out += ["", "| resource | status element | counts as yes | asked (fact stays unknown) | "
            "when absent |", "|---|---|---|---|---|"]
    for rtype, rules in mapping.statuses.items():
        for rule in rules:
            out.append(f"| {rtype} | {rule.element} | {', '.join(sorted(rule.counts))} | "
                       f"{', '.join(sorted(rule.ask)) or '—'} | {rule.missing.value} |")
    return "\n".join(out)


def rewrite(path: Path, mapping: FhirMapping) -> str:
    """The doc's text with the section between the markers written afresh."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{mapping_markdown(mapping)}\n{END}{tail}"


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.write_text(rewrite(target, mapping_for(default_ruleset())), encoding="utf-8")
