"""The live result panel: it only shows an Assessment (banner, questions, findings, plan)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ionto_cds.analysis.record import OVERRIDE_REASONS, Override
from ionto_cds.engine.assessment import Assessment, Finding
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation.outcomes import Decision
from ionto_cds.language.model import Severity, Truth
from ionto_cds.render.plan_text import plan_rows
from ionto_cds.render.report import schedule_lines, worked_out_text
from ionto_cds.render.words import STATUS_WORDS

_BANNER = {
    # decision: (icon, background, text colour, one-line explanation)
    Decision.NOT_ELIGIBLE: ("\u2716", "#8b0000", "#ffffff",
                            "An absolute contraindication applies: do not treat."),
    Decision.REFER: ("\u279c", "#1f3f7a", "#ffffff",
                     "No iontophoresis plan here: refer as described below."),
    Decision.NEEDS_INFORMATION: ("?", "#fff3cd", "#3d2c00",
                                 "Answer the questions below before deciding."),
    Decision.ELIGIBLE_WITH_PRECAUTIONS: ("!", "#ffe08a", "#3d2c00",
                                         "Treatment possible: read the findings first."),
    Decision.ELIGIBLE: ("\u2714", "#1e6b34", "#ffffff", "No contraindication found."),
}
_SEVERITY_TITLE = {
    Severity.ABSOLUTE: "Absolute contraindications",
    Severity.RELATIVE: "Relative contraindications",
    Severity.PRECAUTION: "Precautions",
}

STYLE = """
<style>
.ionto-results { font-size: 14px; line-height: 1.4; color: #111; }
.ionto-results h3 { font-size: 16px; margin: 12px 0 4px 0; color: #1f4e79; }
.ionto-results .ionto-card { border: 1px solid #bbb; border-radius: 4px; padding: 6px 10px;
  margin: 4px 0; background: #fff; }
.ionto-results .ionto-absolute { border-left: 6px solid #8b0000; }
.ionto-results .ionto-relative { border-left: 6px solid #b35900; }
.ionto-results .ionto-precaution { border-left: 6px solid #806000; }
.ionto-results details summary { cursor: pointer; color: #1f4e79; font-weight: 600; }
.ionto-results table.ionto-params td { padding: 2px 8px; border-bottom: 1px solid #ddd;
  vertical-align: top; }
.ionto-results .ionto-muted { color: #444; font-size: 12px; }
.ionto-decision-box .ionto-banner { padding: 10px 14px; border-radius: 6px; font-size: 22px;
  font-weight: 700; border: 2px solid #222; }
.ionto-decision-box .ionto-banner small { display: block; font-size: 14px; font-weight: 400; }
</style>
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _trace_html(node: Mapping[str, Any]) -> str:
    if "fact" in node:
        seen = "unanswered" if node["seen"] is None else node["seen"]
        return (f"<li><code>{_esc(node['fact'])}</code> {_esc(node['op'])} "
                f"{_esc(node['expected'])}: answer <b>{_esc(seen)}</b> \u2192 "
                f"{_esc(node['result'])}</li>")
    parts = "".join(_trace_html(p) for p in node.get("parts", []))
    return f"<li>{_esc(node['op'])} \u2192 {_esc(node['result'])}<ul>{parts}</ul></li>"


def banner_html(decision: Decision, note: str = "") -> str:
    """The decision in words, an icon and a colour (readable without the colour)."""
    icon, background, colour, explain = _BANNER[decision]
    extra = f"<small>{_esc(note)}</small>" if note else ""
    return (f"<div class='ionto-banner' style='background:{background};color:{colour}' "
            f"role='status' aria-live='polite'>{icon} {_esc(decision.words)}"
            f"<small>{_esc(explain)}</small>{extra}</div>")


def finding_html(finding: Finding, rs: RuleSet) -> str:
    """One finding: title, status and an expandable 'why' (answers, rationale, action, sources)."""
    rule = finding.rule
    scope = "" if finding.scope == "decision" else f" <i>({_esc(finding.scope)})</i>"
    cites = "".join(
        f"<li>{_esc(rs.references[k].citation)}"
        + (f" <span class='ionto-muted'>{_esc(rs.references[k].url)}</span>"
           if rs.references[k].url else "") + "</li>"
        for k in rule.references if k in rs.references)
    outcome = f"<div><i>{_esc(finding.outcome)}</i></div>" if finding.outcome else ""
    return (f"<div><b>{_esc(rule.title)}</b>: {STATUS_WORDS[finding.status.label]}{scope}</div>"
            f"{outcome}<div>What to do: {_esc(rule.action)}</div>"
            f"<details><summary>Why</summary>"
            f"<div><b>Answers read</b><ul>{_trace_html(finding.trace)}</ul></div>"
            f"<div><b>Rationale</b>: {_esc(rule.rationale)}</div>"
            f"<div><b>Sources</b><ul>{cites}</ul></div></details>")


def plan_html(assessment: Assessment, d: Mapping[str, Any] | None = None) -> str:
    """The protocol card: parameters with units, schedule, precautions, aftercare.

    ``d`` is ``assessment.to_dict()`` when the caller already has it.
    """
    if d is None:
        d = assessment.to_dict()
    plan = d["protocol"]
    if plan is None:
        if d["referral"]:
            refs = assessment.ruleset.references
            cites = "".join(f"<li>{_esc(refs[k].citation)}</li>"
                            for k in d["referral"]["references"] if k in refs)
            return (f"<h3>Refer: {_esc(d['referral']['title'])}</h3>"
                    f"<div>{_esc(d['referral']['summary'])}</div>"
                    f"<details><summary>Sources</summary><ul>{cites}</ul></details>")
        if d["no_plan_reason"] and assessment.decision.allows_treatment:
            return f"<h3>No plan</h3><div>{_esc(d['no_plan_reason'])}</div>"
        return ""
    rows = plan_rows(assessment.protocol) if assessment.protocol is not None else []
    rows += [(w["label"], worked_out_text(w["value"])) for w in d["worked_out"]]
    table = "".join(f"<tr><td><b>{_esc(k)}</b></td><td>{_esc(v)}</td></tr>" for k, v in rows)
    out = [f"<h3>Plan: {_esc(plan['title'])}</h3>", f"<div>{_esc(plan['summary'])}</div>",
           f"<table class='ionto-params'>{table}</table>"]
    schedule = plan["schedule"]
    if schedule:
        out.append(_list("Schedule", schedule_lines(schedule)))
    for title, key in (("Adjustments", "adjustments"), ("Precautions", "precautions"),
                       ("Aftercare", "aftercare"), ("Monitoring", "monitoring")):
        if plan[key]:
            out.append(_list(title, plan[key]))
    if plan["side_effects"]:
        out.append(_list("On side effects", [f"{s['effect']}: {s['action']}"
                                             for s in plan["side_effects"]]))
    if plan["ramp"]:
        out.append(f"<details><summary>Ramp and polarity</summary><div>{_esc(plan['ramp'])}"
                   f"</div><div>{_esc(plan['polarity_note'] or '')}</div></details>")
    return "<div class='ionto-card ionto-plan'>" + "".join(out) + "</div>"


def _list(title: str, items: list[str]) -> str:
    body = "".join(f"<li>{_esc(x)}</li>" for x in items)
    return f"<div><b>{_esc(title)}</b><ul>{body}</ul></div>"


class OverrideControl:
    """Acknowledge one relative contraindication or precaution: coded reason plus comment."""

    def __init__(self, finding: Finding, on_ack: Callable[[str, str, str], str | None]) -> None:
        self.rule_id = finding.rule.id
        # a placeholder option with the value None shows as a blank box: "" keeps its text
        self.reason = w.Dropdown(options=[("Choose a reason\u2026", "")] + [
            (text, code) for code, text in OVERRIDE_REASONS.items()],
            value="", description="Reason", layout=w.Layout(width="auto", max_width="100%"))
        self.comment = w.Text(placeholder="why, in a few words (required)",
                              description="Comment", continuous_update=True,
                              layout=w.Layout(width="auto", flex="1 1 240px"))
        self.button = w.Button(description="Acknowledge", button_style="warning",
                               icon="check", layout=w.Layout(width="auto", min_width="130px"))
        self.button.add_class("ionto-acknowledge")
        self.message = w.HTML("")
        self._on_ack = on_ack
        self.button.on_click(self._click)
        self.widget = w.VBox([w.HBox([self.reason, self.comment, self.button],
                                     layout=w.Layout(flex_flow="row wrap")), self.message])
        self.widget.add_class(f"ionto-override-{self.rule_id}")

    def clear(self) -> None:
        """Empty the reason, comment and message."""
        self.reason.value = ""
        self.comment.value = ""
        self.message.value = ""

    def _click(self, _button: Any) -> None:
        problem = self._on_ack(self.rule_id, self.reason.value or "", self.comment.value)
        self.message.value = (f"<span style='color:#a00000;font-weight:600'>\u26a0 "
                              f"{_esc(problem)}</span>" if problem else "")


class FindingCard:
    """One finding's card, kept while its rule keeps appearing; only what changed is re-sent."""

    def __init__(self, finding: Finding, rs: RuleSet,
                 on_ack: Callable[[str, str, str], str | None]) -> None:
        self.rs = rs
        self.finding = finding
        self._on_ack = on_ack
        self.body = w.HTML("")
        self._absolute_note: w.HTML | None = None
        self._unanswered_note: w.HTML | None = None
        self._acknowledged: w.HTML | None = None
        self._control: OverrideControl | None = None
        severity = finding.rule.severity
        self.widget = w.VBox([self.body])
        self.widget.add_class("ionto-card")
        self.widget.add_class(f"ionto-{severity.value}")
        self.widget.add_class(f"ionto-finding-{finding.rule.id}")

    def show(self, finding: Finding, override: Override | None) -> None:
        """Bring the card up to date with ``finding`` (and its acknowledgement, if any)."""
        self.finding = finding
        body = finding_html(finding, self.rs)
        if self.body.value != body:
            self.body.value = body
        footer = self._footer(finding, override)
        children = (self.body,) if footer is None else (self.body, footer)
        if self.widget.children != children:
            self.widget.children = children

    def clear_control(self) -> None:
        """Forget a half-filled acknowledgement (the card left the screen and came back)."""
        if self._control is not None:
            self._control.clear()

    def _footer(self, finding: Finding, override: Override | None) -> Any:
        if finding.rule.severity is Severity.ABSOLUTE:
            if finding.scope != "decision":
                return None
            if self._absolute_note is None:
                self._absolute_note = w.HTML("<div class='ionto-muted'>Absolute: cannot be "
                                             "overridden.</div>")
            return self._absolute_note
        if finding.status is not Truth.TRUE:
            if self._unanswered_note is None:
                self._unanswered_note = w.HTML("<div class='ionto-muted'>Unanswered: answer "
                                               "the question to decide; only a finding that "
                                               "applies can be acknowledged.</div>")
            return self._unanswered_note
        if override is not None:
            text = (f"<div>\u2714 <b>Acknowledged</b>: {_esc(override.reason_text)}. "
                    f"\u201c{_esc(override.comment)}\u201d ({_esc(override.time_utc)})</div>")
            if self._acknowledged is None:
                self._acknowledged = w.HTML(text)
                self._acknowledged.add_class("ionto-acknowledged")
            elif self._acknowledged.value != text:
                self._acknowledged.value = text
            return self._acknowledged
        if self._control is None:
            self._control = OverrideControl(finding, self._on_ack)
        return self._control.widget


class ResultPanel:
    """Banner, questions still to answer, findings, plan and provenance for one Assessment.

    Widgets are kept and keyed (a card per finding, a button per question) and only values
    that changed are sent: rebuilding some twenty cards on every answer made back-to-back
    changes queue up in the browser.
    """

    def __init__(self, rs: RuleSet, on_question: Callable[[str], None],
                 on_ack: Callable[[str, str, str], str | None]) -> None:
        self.rs = rs
        self._on_question = on_question
        self._on_ack = on_ack
        self.banner = w.HTML("")
        self.banner.add_class("ionto-decision")
        banner_box = w.VBox([w.HTML(STYLE), self.banner])
        banner_box.add_class("ionto-decision-box")
        self.banner_box = banner_box
        self.notes = w.HTML("")
        self.notes.add_class("ionto-notes")
        self._questions_title = w.HTML("")
        self._question_row = w.HBox([], layout=w.Layout(flex_flow="row wrap"))
        # hidden rather than emptied when there is nothing to ask, so the browser keeps the
        # button views instead of building them again when questions come back
        self.questions = w.VBox([self._questions_title, self._question_row],
                                layout=w.Layout(display="none"))
        self.questions.add_class("ionto-questions")
        self._question_buttons: dict[str, w.Button] = {}
        self.findings = w.VBox([])
        self.findings.add_class("ionto-findings")
        self._group_titles = {s: w.HTML("") for s in Severity}
        self._no_findings = w.HTML("<h3>Findings</h3><div>No contraindication or precaution "
                                   "applies.</div>")
        self._cards: dict[tuple[str, str], FindingCard] = {}
        self.plan = w.HTML("")
        self.plan.add_class("ionto-plan-card")
        self.provenance = w.HTML(
            f"<div class='ionto-muted'>Ruleset {_esc(rs.version)} \u00b7 sha256 "
            f"{_esc(rs.sha256[:12])} \u00b7 Supports, does not replace, clinical judgement."
            "</div>")
        self.provenance.add_class("ionto-provenance")
        # the details under the banner; a page that keeps the banner in view (sticky) puts
        # banner_box and details side by side in one tall column instead of using widget
        self.details = w.VBox([self.notes, self.questions, self.findings, self.plan,
                               self.provenance], layout=w.Layout(width="100%"))
        self.details.add_class("ionto-results")
        self.widget = w.VBox([banner_box, self.details], layout=w.Layout(width="100%"))
        self.widget.add_class("ionto-results")
        self._shown: tuple[Any, ...] | None = None

    def show(self, assessment: Assessment, overrides: Mapping[str, Override],
             unreadable: Mapping[str, str]) -> None:
        """Show an assessment; ``unreadable`` are answers that could not be read (shown too)."""
        d = assessment.to_dict()
        shown = (d, tuple(sorted(overrides.items())), tuple(sorted(unreadable)))
        if shown == self._shown:
            return
        self._shown = shown
        notes = ""
        decision, note = assessment.decision, ""
        if unreadable:
            names = ", ".join(self.rs.catalog[n].label for n in unreadable)
            notes = (f"<div class='ionto-card' style='border-color:#a00000'>\u26a0 "
                     f"<b>Could not read:</b> {_esc(names)}. Correct it (see the message "
                     f"beside the field) to get a decision and a plan.</div>")
            note = f"Could not read: {names}."
            # Not eligible holds whatever the unreadable answer says (an absolute finding that
            # is true with it unknown stays true); anything that would allow treatment waits.
            if decision.allows_treatment:
                decision = Decision.NEEDS_INFORMATION
        _set_value(self.banner, banner_html(decision, note))
        _set_value(self.notes, notes)
        self._show_questions(assessment)
        _set_children(self.findings, self._findings(assessment, overrides))
        _set_value(self.plan, "" if unreadable and assessment.decision.allows_treatment
                   else plan_html(assessment, d))

    def show_problem(self, message: str) -> None:
        """Show answers that contradict each other (no assessment possible)."""
        self._shown = None
        self.banner.value = banner_html(Decision.NEEDS_INFORMATION, message)

    def _show_questions(self, a: Assessment) -> None:
        names = list(a.missing) + [q for q in a.plan_questions if q not in a.missing]
        display = None if names else "none"
        if names:
            title = ("Questions still to answer" if a.missing
                     else "Answers that could change the plan")
            _set_value(self._questions_title, f"<h3>{title}</h3>")
            _set_children(self._question_row, tuple(self._question_button(n) for n in names))
        if self.questions.layout.display != display:
            self.questions.layout.display = display

    def _question_button(self, name: str) -> w.Button:
        button = self._question_buttons.get(name)
        if button is None:
            fact = self.rs.catalog[name]
            button = w.Button(description=fact.label, tooltip=f"Go to: {fact.help}",
                              layout=w.Layout(width="auto", max_width="100%"))
            button.add_class("ionto-question")
            button.add_class(f"ionto-question-{name}")
            button.on_click(lambda _b, n=name: self._on_question(n))
            self._question_buttons[name] = button
        return button

    def _findings(self, a: Assessment, overrides: Mapping[str, Override]) -> tuple[Any, ...]:
        out: list[Any] = []
        on_screen = {id(child) for child in self.findings.children}
        for severity in Severity:
            group = [f for f in a.findings if f.rule.severity is severity]
            if not group:
                continue
            title = self._group_titles[severity]
            _set_value(title, f"<h3>{_SEVERITY_TITLE[severity]} ({len(group)})</h3>")
            out.append(title)
            for finding in group:
                key = (finding.rule.id, finding.scope)
                card = self._cards.get(key)
                if card is None:
                    card = self._cards[key] = FindingCard(finding, self.rs, self._on_ack)
                elif id(card.widget) not in on_screen:
                    card.clear_control()
                card.show(finding, overrides.get(finding.rule.id))
                out.append(card.widget)
        if not out:
            out.append(self._no_findings)
        return tuple(out)


def _set_value(widget: Any, value: str) -> None:
    """Send a value only when it differs (every assignment is a message to the browser)."""
    if widget.value != value:
        widget.value = value


def _set_children(box: Any, children: tuple[Any, ...]) -> None:
    if tuple(box.children) != children:
        box.children = children
