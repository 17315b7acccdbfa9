"""The patient leaflet for a plan: what iontophoresis is, the schedule, what to expect, what to
report and aftercare, in plain words (rules/leaflet/leaflet.yaml) and the plan's own protocol."""

from __future__ import annotations

from collections.abc import Mapping

from ionto_cds.engine.assessment import Assessment
from ionto_cds.errors import UsageError
from ionto_cds.language.leaflet import LeafletText, Paragraph, read_leaflet
from ionto_cds.render.report import markdown_to_html
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import duration_text

_CONTEXT_SHOWN = ("Patient reference", "Assessed", "Clinician")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _schedule(plan: Plan) -> list[str]:
    lines = [f"Each session lasts about {duration_text(plan.duration)}."]
    schedule = plan.protocol.schedule
    if schedule is None:
        return lines
    if schedule.sessions_per_week:
        often = f"{_count(schedule.sessions_per_week, 'session')} a week"
        lines.append(f"{often}, {_count(schedule.induction_sessions, 'session')} in the first "
                     "course." if schedule.induction_sessions else f"{often}.")
    if schedule.min_interval is not None:
        lines.append(f"At least {duration_text(schedule.min_interval)} between sessions.")
    return lines


def leaflet_markdown(assessment: Assessment, context: Mapping[str, str] | None = None,
                     text: LeafletText | None = None) -> str:
    """The leaflet for the plan of ``assessment``. Raises UsageError when there is no plan (a
    leaflet only ever goes with a plan the clinician has)."""
    plan = assessment.protocol
    if plan is None or not assessment.decision.allows_treatment:
        raise UsageError("there is no treatment plan for this patient, so there is no leaflet "
                         "to give: the leaflet goes with a plan")
    words = text if text is not None else read_leaflet(assessment.ruleset.references)
    protocol = plan.protocol
    d = assessment.to_dict()["protocol"]
    cited: list[str] = []

    def say(paragraph: Paragraph) -> str:
        cited.extend(r for r in paragraph.references if r not in cited)
        return paragraph.text

    out = [f"# {words.title}", ""]
    shown = {k: v for k, v in (context or {}).items() if k in _CONTEXT_SHOWN and v}
    if shown:
        out += [" · ".join(f"**{k}:** {v}" for k, v in shown.items()), ""]
    out += [say(words.intro), "", "## Your treatment", "", f"- {protocol.title}."]
    out += [f"- {line}" for line in _schedule(plan)]
    out += ["", "## During a session", ""]
    for group in ("all", protocol.modality.value):
        out += [f"- {say(p)}" for p in words.during.get(group, ())]
    expected = [s for s in d["side_effects"] if s["response"] == "expected"]
    report = [s for s in d["side_effects"] if s["response"] != "expected"]
    if expected:
        out += ["", "## What you may notice", ""]
        out += [f"- **{s['effect']}**: {words.responses['expected']}" for s in expected]
    if report:
        out += ["", "## Tell us about these", ""]
        order = list(words.responses)
        report.sort(key=lambda s: order.index(s["response"]))
        out += [f"- **{s['effect']}**: {words.responses[s['response']]}" for s in report]
    if d["aftercare"]:
        out += ["", "## Looking after your skin", ""]
        out += [f"- {item}" for item in d["aftercare"]]
    refs = assessment.ruleset.references
    out += ["", words.closing, "", "## Sources", ""]
    out += [f"- {refs[key].citation}" for key in cited if key in refs]
    out += ["", "---", "", f"Leaflet text {words.version} (sha256 {words.sha256[:12]}); plan "
            f"from ruleset {assessment.ruleset.version} (sha256 "
            f"{assessment.ruleset.sha256[:12]}).", ""]
    return "\n".join(out)


def leaflet_html(assessment: Assessment, context: Mapping[str, str] | None = None) -> str:
    """The leaflet as a printable HTML page."""
    return markdown_to_html(leaflet_markdown(assessment, context), "Your iontophoresis treatment")
