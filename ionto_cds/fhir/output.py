"""`ionto-cds assess` output for an assessment whose answers came from a FHIR Bundle: every
format names the resources that answered the facts (provenance)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ionto_cds.engine.assessment import Assessment
from ionto_cds.errors import ProgramError
from ionto_cds.fhir.answers import FhirAnswers
from ionto_cds.language.fhir_mapping import Verdict
from ionto_cds.render import report
from ionto_cds.render.fhir_out import to_fhir_json


def evidence(record: FhirAnswers | None) -> dict[str, list[str]]:
    """Fact -> the references of the resources that answered it."""
    out: dict[str, list[str]] = {}
    for s in record.sources if record is not None else ():
        if s.verdict is Verdict.COUNTS:
            out.setdefault(s.fact, []).append(s.reference)
    return out


def record_context(record: FhirAnswers) -> dict[str, str]:
    """The report's heading lines: patient, date, and where each answer came from."""
    answered = "; ".join(f"{fact} ({', '.join(refs)})" for fact, refs in evidence(record).items())
    asked = "; ".join(f"{s.fact} ({s.reference}: {s.text})" for s in record.sources
                      if s.verdict is not Verdict.COUNTS)
    return {"Patient reference": record.patient or "none in the bundle",
            "Assessed": record.on.isoformat(),
            "Answered from the record": answered or "nothing",
            "Seen in the record, not counted (ask)": asked}


def render_with_record(assessment: Assessment, fmt: str, record: FhirAnswers | None) -> str:
    """The assessment in ``fmt`` (json, md, html, fhir) with the record's provenance."""
    if fmt == "fhir":
        return to_fhir_json(assessment, record.patient if record else None, evidence(record))
    if record is None:
        raise ProgramError(f"no record to render as {fmt}")
    if fmt == "json":
        data: Mapping[str, object] = {**assessment.to_dict(), "record": record.to_dict()}
        return json.dumps(data, indent=2, ensure_ascii=False)
    render = report.to_html if fmt == "html" else report.to_markdown
    return render(assessment, record_context(record))
