"""Render an Assessment as JSON, Markdown or HTML. Renderers show; they never decide."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from ionto_cds.engine.assessment import Assessment
from ionto_cds.language.model import Reference
from ionto_cds.render.plan_text import plan_rows
from ionto_cds.render.words import finding_words


def to_json(assessment: Assessment) -> str:
    """The assess JSON contract, pretty-printed, keys in a stable order."""
    return json.dumps(assessment.to_dict(), indent=2, ensure_ascii=False)


def _trace_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    pad = "  " * depth
    if "fact" in node:
        seen = node["seen"] if node["seen"] is not None else "unanswered"
        return [f"{pad}- `{node['fact']}` {node['op']} {node['expected']}: answer "
                f"**{seen}** -> {node['result']}"]
    lines = [f"{pad}- {node['op']} -> {node['result']}"]
    for part in node["parts"]:
        lines.extend(_trace_lines(part, depth + 1))
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def schedule_lines(schedule: dict[str, Any]) -> list[str]:
    """A plan's schedule (as in Plan.to_dict()) as sentences: induction, when to judge
    response, maintenance, minimum interval."""
    lines: list[str] = []
    ind = schedule["induction"]
    parts = []
    if ind["sessions_per_week"]:
        parts.append(f"{_count(ind['sessions_per_week'], 'session')} a week")
    if ind["sessions"]:
        parts.append(f"{_count(ind['sessions'], 'session')} in all")
    head = "Induction: " + (", ".join(parts) + "." if parts else "")
    lines.append(f"{head} {ind['note'] or ''}".strip())
    judge = schedule["judge_response"]
    if judge["after_sessions"] or judge["note"]:
        after = (f"Judge response after {_count(judge['after_sessions'], 'session')}."
                 if judge["after_sessions"] else "Judging response:")
        lines.append(f"{after} {judge['note'] or ''}".strip())
    if schedule["maintenance"]:
        lines.append(f"Maintenance: {schedule['maintenance']}")
    if schedule["min_interval"]:
        lines.append(f"Minimum interval between sessions: {schedule['min_interval']}")
    return lines


def to_markdown(assessment: Assessment, context: Mapping[str, str] | None = None) -> str:
    """A printable report: decision, questions, findings with reasons, plan, provenance.

    ``context`` ties it to a patient and a date: e.g. {"Patient reference": "A-12",
    "Assessed": "2026-12-01", "Clinician": "..."}, shown under the title as given.
    """
    d = assessment.to_dict()
    refs = assessment.ruleset.references
    out = [f"# Iontophoresis assessment: {assessment.decision.words.upper()}", ""]
    if context:
        out += [" · ".join(f"**{k}:** {v}" for k, v in context.items() if v), ""]
    if d["missing"]:
        out += ["## Questions to answer first", ""]
        out += [f"- **{q['label']}** (`{q['fact']}`): {q['help']}" for q in d["questions"]]
        out.append("")
    out += _findings_md(d["findings"], refs)
    plan = d["protocol"]
    if plan and assessment.protocol is not None:
        out += _plan_md(plan, refs, plan_rows(assessment.protocol))
    elif d["referral"]:
        out += [f"## Refer: {d['referral']['title']}", "", d["referral"]["summary"], "",
                f"Sources: {_citations(d['referral']['references'], refs)}", ""]
    elif d["no_plan_reason"] and assessment.decision.allows_treatment:
        out += ["## No plan", "", d["no_plan_reason"], ""]
    if d["worked_out"]:
        out += ["Worked out from the answers:", ""]
        out += [f"- {w['label']}: {worked_out_text(w['value'])}" for w in d["worked_out"]]
        out.append("")
    if d["plan_questions"]:
        out += ["Answers that could change the plan: "
                + ", ".join(f"`{q}`" for q in d["plan_questions"]), ""]
    if d["excluded_protocols"]:
        out += ["Protocols excluded: " + "; ".join(d["excluded_protocols"]), ""]
    out += ["---", "", f"Ruleset {d['ruleset']['version']} (sha256 {d['ruleset']['sha256']}), "
            f"ionto-cds {d['ionto_cds_version']}.", "", f"*{d['notice']}*", ""]
    return "\n".join(out)


def worked_out_text(value: object) -> str:
    """A worked-out fact's value in words ('hand wrist, forearm elbow')."""
    items = value if isinstance(value, list) else [value]
    return ", ".join(str(v).replace("_", " ") for v in items) or "none"


def _citations(keys: list[str], refs: Mapping[str, Reference]) -> str:
    return "; ".join(refs[k].citation for k in keys if k in refs)


def _findings_md(findings: list[dict[str, Any]], refs: Mapping[str, Reference]) -> list[str]:
    if not findings:
        return ["No contraindication or precaution applies.", ""]
    out = ["## Findings", ""]
    for f in findings:
        scope = "" if f["scope"] == "decision" else f" [{f['scope']}]"
        out += [f"### {f['title']}: {finding_words(f['severity'], f['status'])}{scope}", ""]
        if f["outcome"]:
            out += [f"*{f['outcome']}*", ""]
        out += [f"**Why:** {f['rationale']}", "", f"**What to do:** {f['action']}", ""]
        out += ["Answers read:", "", *_trace_lines(f["trace"]), ""]
        out += [f"Sources: {_citations(f['references'], refs)}", ""]
    return out


def _plan_md(plan: dict[str, Any], refs: Mapping[str, Reference],
             rows: list[tuple[str, str]]) -> list[str]:
    out = [f"## Plan: {plan['title']}", "", plan["summary"], ""]
    out += ["| parameter | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]
    if plan["polarity_note"]:
        out += [f"Polarity: {plan['polarity_note']}", ""]
    if plan["ramp"]:
        out += [f"Ramp: {plan['ramp']}", ""]
    for title, key in (("Adjustments", "adjustments"), ("Precautions", "precautions"),
                       ("Additives", "additives"), ("Aftercare", "aftercare"),
                       ("Monitoring", "monitoring")):
        if plan[key]:
            out += [f"**{title}**", "", *[f"- {x}" for x in plan[key]], ""]
    if plan["schedule"]:
        out += ["**Schedule**", "", *[f"- {line}" for line in schedule_lines(plan["schedule"])],
                ""]
    if plan["side_effects"]:
        out += ["**On side effects**", ""]
        out += [f"- {s['effect']} ({s['response'].replace('_', ' ')}): {s['action']}"
                for s in plan["side_effects"]]
        out.append("")
    if plan["expected_efficacy"]:
        out += [f"Expected efficacy: {plan['expected_efficacy']}", ""]
    return [*out, f"Sources: {_citations(plan['references'], refs)}", ""]


_HEADINGS = (("### ", "h3"), ("## ", "h2"), ("# ", "h1"))


class _Html:
    """The Markdown report's lines as HTML, opening and closing lists and tables."""

    def __init__(self) -> None:
        self.body: list[str] = []
        self.open: str | None = None  # "ul" or "table"

    def block(self, kind: str | None) -> None:
        if self.open != kind:
            if self.open is not None:
                self.body.append(f"</{self.open}>")
            if kind is not None:
                self.body.append(f"<{kind}>")
            self.open = kind

    def line(self, line: str) -> None:
        text = html.escape(line)
        heading = next(((prefix, tag) for prefix, tag in _HEADINGS if line.startswith(prefix)),
                       None)
        if line.startswith(("- ", "  ")):
            self.block("ul")
            self.body.append(f"<li>{_inline(text.strip()[2:])}</li>")
            return
        if line.startswith("|"):
            cells = [c.strip() for c in text.strip("|").split("|")]
            if not set("".join(cells)) <= {"-"}:
                self.block("table")
                self.body.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells)
                                 + "</tr>")
            return
        self.block(None)
        if heading is not None:
            prefix, tag = heading
            self.body.append(f"<{tag}>{text[len(prefix):]}</{tag}>")
        elif line == "---":
            self.body.append("<hr>")
        elif line:
            self.body.append(f"<p>{_inline(text)}</p>")


PRINT_CSS = (
    "body{font-family:system-ui,'Segoe UI',Roboto,sans-serif;max-width:50em;margin:2em auto;"
    "line-height:1.45;color:#111;padding:0 1em}"
    "h1{font-size:1.5em;color:#1f4e79;border-bottom:3px solid #1f4e79;padding-bottom:.2em}"
    "h2{font-size:1.2em;color:#1f4e79;margin-top:1.2em}h3{font-size:1.05em}"
    "table{border-collapse:collapse;width:100%}"
    "td{border:1px solid #888;padding:.25em .6em;vertical-align:top}"
    "td:first-child{width:32%;font-weight:600}code{background:#eee}"
    "@page{size:A4;margin:16mm 14mm}"
    "@media print{body{margin:0;max-width:none;font-size:10.5pt}"
    "h1,h2,h3{break-after:avoid}tr,li,p{break-inside:avoid}"
    "a{color:inherit;text-decoration:none}}"
)
"""The print stylesheet shared by the plan and the patient leaflet (A4, nothing split badly)."""


def markdown_to_html(markdown: str, title: str) -> str:
    """A standalone printable HTML page (no external assets) of one of our Markdown texts."""
    page = _Html()
    for line in markdown.splitlines():
        page.line(line)
    page.block(None)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{PRINT_CSS}</style></head><body>"
            + "\n".join(page.body) + "</body></html>")


def to_html(assessment: Assessment, context: Mapping[str, str] | None = None) -> str:
    """A standalone printable HTML page of the Markdown report (no external assets)."""
    return markdown_to_html(to_markdown(assessment, context), "Iontophoresis assessment")


def _inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return re.sub(r"(?<!\w)\*(.+?)\*(?!\w)", r"<em>\1</em>", text)
