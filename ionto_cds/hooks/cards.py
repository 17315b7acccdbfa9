"""CDS Hooks 2.0 cards of one assessment: a decision card, and a card per relative or precaution
finding (with override reasons for the relative ones). Built from :meth:`Assessment.to_dict`,
the plan table and the FHIR output; nothing is decided here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ionto_cds.engine.assessment import NOTICE, Assessment
from ionto_cds.fhir.answers import FhirAnswers
from ionto_cds.fhir.output import evidence
from ionto_cds.language.fhir_mapping import Verdict
from ionto_cds.render.fhir_out import BASE, plan_service_request
from ionto_cds.render.plan_text import plan_rows
from ionto_cds.render.words import finding_words

SUMMARY_LIMIT = 140
"""CDS Hooks 2.0: a card's summary is under 140 characters."""
INDICATOR = {"not_eligible": "critical", "needs_information": "warning",
             "eligible_with_precautions": "warning", "refer": "warning", "eligible": "info"}
"""The decision card's indicator (issue 13: critical for not eligible, warning for precautions
or needs information, info for eligible)."""
FINDING_INDICATOR = {"relative": "warning", "precaution": "info"}
OVERRIDE_SYSTEM = f"{BASE}/CodeSystem/override-reason"
OVERRIDE_REASONS = (
    ("benefit-outweighs-risk", "Benefit outweighs the risk; discussed with the patient"),
    ("specialist-cleared", "Cleared by the treating specialist"),
    ("record-inaccurate", "The record is wrong or out of date for this patient"),
)
"""Why a clinician may go on despite a relative finding (offered on its card; never on an
absolute one, which cannot be overridden)."""


@dataclass(frozen=True)
class CardSet:
    """The cards of one hook call and, for the log, which decision and rule each stands for."""

    cards: tuple[dict[str, Any], ...]
    rules: tuple[str | None, ...]


def shorten(text: str, limit: int = SUMMARY_LIMIT - 1) -> str:
    """Text cut to ``limit`` characters at a word, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _source(assessment: Assessment, reference_keys: Sequence[str]) -> dict[str, str]:
    refs = assessment.ruleset.references
    label = f"ionto-cds rules {assessment.ruleset.version}"
    for key in reference_keys:
        if key in refs and refs[key].url:
            return {"label": f"{label}; {refs[key].citation}"[:200],
                    "url": str(refs[key].url)}
    return {"label": label}


def _summary(d: Mapping[str, Any]) -> str:
    head = f"Iontophoresis: {d['decision_text'].lower()}"
    absolute = [f["title"] for f in d["findings"]
                if f["severity"] == "absolute" and f["status"] == "true"]
    if d["decision"] == "not_eligible" and absolute:
        return shorten(f"{head}: {', '.join(absolute)}")
    if d["decision"] == "needs_information":
        return shorten(f"{head}: ask {', '.join(q['label'].lower() for q in d['questions'])}")
    if d["decision"] == "refer" and d["referral"]:
        return shorten(f"{head}: {d['referral']['title']}")
    if d["protocol"]:
        return shorten(f"{head}: {d['protocol']['title']}")
    return shorten(head)


def _finding_lines(assessment: Assessment, findings: Sequence[Mapping[str, Any]]) -> list[str]:
    refs = assessment.ruleset.references
    lines = []
    for f in findings:
        cited = "; ".join(refs[k].citation if k in refs else k for k in f["references"])
        what = f" *What to do:* {f['action']}" if f.get("action") else ""
        said = finding_words(f["severity"], f["status"])
        lines.append(f"- **{f['title']}** ({said}): {f['rationale']}{what}"
                     + (f" *Sources:* {cited}" if cited else ""))
    return lines


def _record_lines(record: FhirAnswers | None) -> list[str]:
    if record is None:
        return []
    lines = ["", "**From the record:**"]
    lines += [f"- `{s.fact}` ← {s.reference}: {s.text}" + (
        "" if s.verdict is Verdict.COUNTS else f" (**{s.verdict.value}**: not counted)")
              for s in record.sources]
    return lines if len(lines) > 2 else []


def decision_detail(assessment: Assessment, record: FhirAnswers | None,
                    data: Mapping[str, Any] | None = None) -> str:
    """The decision card's Markdown: reasons, questions, what the record said, the plan
    (``data``: the assessment's to_dict() when the caller has it)."""
    d = data if data is not None else assessment.to_dict()
    out = [f"**Decision: {d['decision_text']}**"]
    if d["questions"]:  # first: the reason for no plan below refers to "the questions above"
        out += ["", "**Ask first:**"]
        out += [f"- **{q['label']}** (`{q['fact']}`): {q['help']}" for q in d["questions"]]
        out.append("")
    if d["no_plan_reason"]:
        out.append(d["no_plan_reason"])
    if d["referral"]:
        out.append(f"**Refer:** {d['referral']['title']}: {d['referral']['summary']}")
    if d["findings"]:
        out += ["", "**Reasons:**", *_finding_lines(assessment, d["findings"])]
    out += _record_lines(record)
    if assessment.protocol is not None:
        out += ["", f"**Plan: {d['protocol']['title']}**", "", "| | |", "|---|---|"]
        out += [f"| {label} | {value} |" for label, value in plan_rows(assessment.protocol)]
    out += ["", f"*{NOTICE}*"]
    return "\n".join(out)


def _suggestion(assessment: Assessment, record: FhirAnswers | None,
                draft: Mapping[str, Any] | None, data: Mapping[str, Any]
                ) -> dict[str, Any] | None:
    if assessment.protocol is None:
        return None
    request = plan_service_request(assessment, record.patient if record else None,
                                   evidence(record), data, check=False)
    if draft is not None:
        merged = {**draft, **{k: v for k, v in request.items() if k not in ("subject",)}}
        merged["id"] = draft.get("id")
        action = {"type": "update", "description": "Add the ionto-cds plan (current, duration "
                  "and dose with units, schedule) to the selected order",
                  "resource": {k: v for k, v in merged.items() if v is not None}}
    else:
        action = {"type": "create", "description": f"Propose the plan: "
                  f"{assessment.protocol.protocol.title}", "resource": request}
    return {"label": shorten(f"Use the plan: {assessment.protocol.protocol.title}", 80),
            "uuid": str(uuid.uuid4()), "isRecommended": True, "actions": [action]}


def build_cards(assessment: Assessment, record: FhirAnswers | None,
                draft: Mapping[str, Any] | None = None) -> CardSet:
    """The cards of one assessment (``draft``: the selected order of an order-select call)."""
    d = assessment.to_dict()
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": _summary(d),
        "indicator": INDICATOR[d["decision"]],
        "detail": decision_detail(assessment, record, d),
        "source": _source(assessment, [k for f in d["findings"] for k in f["references"]]),
    }
    suggestion = _suggestion(assessment, record, draft, d)
    if suggestion is not None:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
    cards, rules = [card], [None]
    for f in d["findings"]:  # unknown ones are asked on the decision card
        if f["severity"] not in FINDING_INDICATOR or f["status"] != "true":
            continue
        extra: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "summary": shorten(f"{f['title']} ({f['severity']})"),
            "indicator": FINDING_INDICATOR[f["severity"]],
            "detail": "\n".join(_finding_lines(assessment, [f])),
            "source": _source(assessment, f["references"]),
        }
        if f["severity"] == "relative":
            extra["overrideReasons"] = [{"code": code, "system": OVERRIDE_SYSTEM,
                                         "display": display}
                                        for code, display in OVERRIDE_REASONS]
        cards.append(extra)
        rules.append(f["rule"])
    return CardSet(tuple(cards), tuple(rules))
