"""The educator app: case library, pathway with its path, what-if, step-through and compare.

Widgets only call assess (directly or through sensitivity) and draw what it returns; the
pathway is built from the same RuleSet the clinician app uses.
"""

from __future__ import annotations

import html
import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ionto_cds.analysis.cases import Case, read_cases
from ionto_cds.analysis.sensitivity import Difference, difference, sensitivity
from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import PatientDataError
from ionto_cds.render.pathway.build import build_pathway
from ionto_cds.render.pathway.steps import Step, evaluation_steps, reading
from ionto_cds.render.pathway.svg import render_svg
from ionto_cds.render.words import finding_words
from ionto_cds.units import pretty_quantity
from ionto_cds.widgets.form import PatientForm
from ionto_cds.widgets.results import STYLE, banner_html

_ids = itertools.count(1)
DASH = "\u2013"

EDU_STYLE = """
<style>
.ionto-edu { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 14px; line-height: 1.4; color: #111; }
.ionto-edu h3 { font-size: 16px; margin: 12px 0 4px 0; color: #1f4e79; }
.ionto-edu .ionto-title { font-size: 22px; font-weight: 700; color: #1f4e79; }
.ionto-edu .ionto-edu-teaching { background: #f3f7fb; border-left: 6px solid #1f4e79;
  padding: 6px 10px; margin: 4px 0; }
.ionto-edu .ionto-edu-svg { overflow: auto; max-height: 860px; border: 1px solid #bbb;
  background: #fff; }
.ionto-edu table.ionto-edu-table { border-collapse: collapse; }
.ionto-edu table.ionto-edu-table td, .ionto-edu table.ionto-edu-table th {
  padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.ionto-edu .ionto-changed { background: #ffe08a; font-weight: 700; outline: 2px solid #3d2c00;
  padding: 0 3px; }
.ionto-edu .ionto-muted { color: #444; font-size: 12px; }
.ionto-edu .ionto-edu-step { border: 2px solid #e06c00; border-radius: 6px; padding: 8px 12px;
  background: #fff; }
.ionto-edu .ionto-decision-box .ionto-banner { font-size: 18px; }
/* every tab label in full at any width (a phone: 390 px): a tab shrinks to its label, no less */
.ionto-edu .ionto-edu-tabs.widget-tab > .lm-TabBar .lm-TabBar-tab { min-width: max-content; }
</style>
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _words(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v).replace("_", " ") for v in value) or "none"
    return str(value).replace("_", " ")


def pathway_html(rs: RuleSet, assessment: Assessment | None, title: str | None = None,
                 focus: str | None = None, fit: bool = False,
                 around_focus: bool = False) -> str:
    """The pathway as inline SVG in a scrolling frame (Voila and JupyterLab both show it);
    with ``around_focus``, only the part around the focused step."""
    svg = render_svg(build_pathway(rs, assessment, title), focus=focus,
                                                      id_prefix=f"edu{next(_ids)}",
                                                      around_focus=around_focus)
    if fit:
        svg = svg.replace("<svg ", '<svg style="width:100%;height:auto" ', 1)
    name = _esc(title or ("Decision pathway" + (f", outcome {assessment.decision.words}"
                                                if assessment is not None else "")))
    # a scrolling frame must be reachable and named for keyboard users (arrow keys scroll it)
    return (f"<div class='ionto-edu-svg' tabindex='0' role='region' "
            f"aria-label='{name} (diagram; scroll with the arrow keys)'>{svg}</div>")


def answers_html(rs: RuleSet, answers: Mapping[str, Any]) -> str:
    """A case's answers by form section."""
    rows = []
    for group in rs.catalog.groups:
        facts = [f for f in rs.catalog.in_group(group.id) if f.name in answers]
        if not facts:
            continue
        rows.append(f"<tr><th colspan='2'>{_esc(group.label)}</th></tr>")
        rows += [f"<tr><td>{_esc(f.label)}</td><td><b>{_esc(_words(answers[f.name]))}</b>"
                 f"</td></tr>" for f in facts]
    return f"<table class='ionto-edu-table'>{''.join(rows)}</table>"


def outcome_html(a: Assessment) -> str:
    """Decision banner, findings and plan summary of one assessment."""
    findings = "".join(
        f"<li><b>{_esc(f.rule.title)}</b> "
        f"({_esc(finding_words(f.rule.severity.value, f.status.label))}"
        f"{'' if f.scope == 'decision' else ', ' + _esc(f.scope)})</li>" for f in a.findings)
    parts = [f"<div class='ionto-decision-box'>{banner_html(a.decision)}</div>"]
    if a.missing:
        labels = ", ".join(a.ruleset.catalog[n].label for n in a.missing)
        parts.append(f"<div><b>Still to ask:</b> {_esc(labels)}</div>")
    parts.append(f"<h3>Findings</h3><ul>{findings or '<li>none</li>'}</ul>")
    if a.protocol is not None:
        plan = a.protocol
        density = (f", density {pretty_quantity(plan.current_density)}"
                   if plan.current_density is not None else "")
        parts.append(f"<h3>Plan: {_esc(plan.protocol.title)}</h3><div>"
                     f"{_esc(f'current {pretty_quantity(plan.current)}, duration ')}"
                     f"{_esc(pretty_quantity(plan.duration))}, dose "
                     f"{_esc(pretty_quantity(plan.dose))}{_esc(density)}</div>")
    elif a.referral is not None:
        parts.append(f"<h3>Refer: {_esc(a.referral.title)}</h3>")
    elif a.no_plan_reason and a.decision.allows_treatment:
        parts.append(f"<h3>No plan</h3><div>{_esc(a.no_plan_reason)}</div>")
    return "".join(parts)


def difference_html(diff: Difference) -> str:
    """What changed, each change marked (colour, outline and the word 'changed')."""
    if diff.empty:
        return "<div>No change: same decision, findings, protocol and dose.</div>"
    items = []
    if diff.decision:
        items.append(f"<li><span class='ionto-changed'>\u25b2 decision changed</span> "
                     f"{_esc(diff.decision[0].words)} \u2192 <b>{_esc(diff.decision[1].words)}"
                     "</b></li>")
    items += [f"<li><span class='ionto-changed'>+ finding</span> {_esc(r)}</li>"
              for r in diff.findings_added]
    items += [f"<li><span class='ionto-changed'>\u2212 finding</span> {_esc(r)}</li>"
              for r in diff.findings_removed]
    items += [f"<li><span class='ionto-changed'>\u25b2 finding</span> {_esc(r)}: {_esc(old)}"
              f" \u2192 {_esc(new)}</li>" for r, old, new in diff.findings_changed]
    if diff.protocol:
        old, new = diff.protocol
        items.append(f"<li><span class='ionto-changed'>\u25b2 protocol changed</span> "
                     f"{_esc(old or 'none')} \u2192 <b>{_esc(new or 'none')}</b></li>")
    items += [f"<li><span class='ionto-changed'>\u25b2 {_esc(name.replace('_', ' '))}</span> "
              f"{_esc(old or DASH)} \u2192 {_esc(new or DASH)}</li>"
              for name, old, new in diff.dose]
    return f"<h3>What changed</h3><ul class='ionto-edu-diff-list'>{''.join(items)}</ul>"


def _reading_html(rs: RuleSet, trace: Mapping[str, Any]) -> str:
    """A condition trace as an indented list in clinical words (question texts)."""
    return "".join(f"<li style='margin-left:{depth * 16}px'>{_esc(line)}</li>"
                   for depth, line in reading(trace, rs.catalog))


def step_html(rs: RuleSet, step: Step, index: int, count: int) -> str:
    """One evaluation step: the rule or stage, the answers it read, its result and why."""
    reads = (f"<div><b>Answers read</b><ul class='ionto-edu-reads'>"
             f"{_reading_html(rs, step.reads)}</ul></div>" if step.reads is not None else "")
    lines = "".join(f"<div class='ionto-muted'>{_esc(x)}</div>" for x in step.lines)
    why = "".join(f"<p>{_esc(p)}</p>" for p in step.why.split("\n\n") if p)
    return (f"<div class='ionto-edu-step'><div class='ionto-muted'>Step {index + 1} of {count}"
            f" \u00b7 {_esc(step.stage)}</div><h3>{_esc(step.title)}</h3>{lines}"
            f"<div><b>Result:</b> {_esc(step.result)}</div>{reads}"
            f"<div><b>Why</b>{why or ' ' + DASH}</div></div>")


def _case_source(case: Any) -> str:
    """Where a vignette is written, without the machine's folders ('devices.yaml, line 4')."""
    where = case.location
    name = Path(where.file).name if where is not None and where.file else "the vignettes"
    line = f", line {where.line}" if where is not None and where.line else ""
    return f"vignette {case.id} in {name}{line}"


def _columns(first: w.Box, second: w.Box,
             flex: tuple[str, str] = ("9 1 380px", "11 1 440px")) -> w.HBox:
    """Two columns side by side (grown by ``flex``) that wrap one under the other on a narrow
    screen (390 px)."""
    for box, grow in zip((first, second), flex, strict=True):
        box.layout.flex = grow
        box.layout.min_width = "0"
    return w.HBox([first, second], layout=w.Layout(flex_flow="row wrap", width="100%",
                                                    grid_gap="0 12px"))


CATALOGUE_URL_ENV = "IONTO_CDS_CATALOGUE_URL"


def catalogue_link_html() -> str:
    """A link to the rule catalogue when the app server built and serves one ($IONTO_CDS_
    CATALOGUE_URL, set by ``ionto-cds app``); nothing otherwise, never a dead link."""
    url = os.environ.get(CATALOGUE_URL_ENV, "")
    if not url:
        return ""
    return (f"<div class='ionto-edu-catalogue'><a href='{html.escape(url)}' target='_blank' "
            "rel='noopener' style='text-decoration:underline'>Open the rule catalogue</a>: "
            "every fact, rule, protocol, drug and source, readable without code.</div>")


class EducatorApp:
    """Case library, what-if, step-through and compare over one rule set."""

    def __init__(self, rs: RuleSet | None = None, cases_dir: Path | None = None) -> None:
        self.rs = rs if rs is not None else default_ruleset()
        self.steps: tuple[Step, ...] = ()
        self.step_index = 0
        folder = cases_dir if cases_dir is not None else Path(self.rs.source.directory) / "cases"
        cases, errors = read_cases(folder)
        self.load_errors = [str(e) for e in errors]
        self.cases: dict[str, Case] = {c.id: c for c in cases}
        options = [(c.title, c.id) for c in cases]
        self.fit = w.ToggleButtons(options=[("Actual size", False), ("Fit width", True)],
                                   value=False, style={"button_width": "100px"})
        self.fit.add_class("ionto-edu-fit")
        self.fit.observe(lambda _c: self._redraw(), "value")

        # --- case library -----------------------------------------------------------------
        self.picker = w.Dropdown(options=options, description="Case",
                                 layout=w.Layout(width="95%"))
        self.picker.add_class("ionto-edu-case")
        self.teaching = w.HTML("")
        self.teaching.add_class("ionto-edu-teaching-box")
        self.case_outcome = w.HTML("")
        self.case_outcome.add_class("ionto-edu-outcome")
        self.case_answers = w.HTML("")
        self.case_answers.add_class("ionto-edu-answers")
        self.case_pathway = w.HTML("")
        self.case_pathway.add_class("ionto-edu-pathway")
        case_tab = w.VBox([
            _columns(w.VBox([w.HTML("<h3>Answers</h3>"), self.case_answers]),
                     w.VBox([w.HTML("<h3>Outcome</h3>"), self.case_outcome])),
            w.HTML("<h3>Pathway: the path this case takes through the rules</h3>"),
            self.case_pathway])

        # --- what-if ----------------------------------------------------------------------
        self.form = PatientForm(self.rs)
        self.form.on_change(self._what_if)
        self.reset_button = w.Button(description="Back to the case's answers", icon="undo",
                                     layout=w.Layout(width="auto"))
        self.reset_button.add_class("ionto-edu-reset")
        self.reset_button.on_click(lambda _b: self._load_case())
        self.whatif_outcome = w.HTML("")
        self.whatif_outcome.add_class("ionto-edu-whatif-outcome")
        self.whatif_diff = w.HTML("")
        self.whatif_diff.add_class("ionto-edu-diff")
        self.sensitivity_view = w.HTML("")
        self.sensitivity_view.add_class("ionto-edu-sensitivity")
        self.whatif_pathway = w.HTML("")
        self.whatif_pathway.add_class("ionto-edu-whatif-pathway")
        # A box with a height limit shrinks its flex children to fit (rows of 7-16 px): the
        # form keeps its own height and the box scrolls instead.
        for child in (self.reset_button, self.form.widget):
            child.layout.flex = "0 0 auto"
        heading = w.HTML("<h3>Answers: flip or clear any of them</h3>",
                         layout=w.Layout(flex="0 0 auto"))
        form_box = w.VBox([heading, self.reset_button, self.form.widget],
                          layout=w.Layout(max_height="1100px", overflow="auto",
                                          padding="0 10px 0 0"))
        form_box.add_class("ionto-edu-whatif-form")
        whatif_tab = w.VBox([
            _columns(form_box, w.VBox([self.whatif_diff, self.whatif_outcome,
                                       self.sensitivity_view]),
                     flex=("2 1 420px", "3 1 480px")),
            w.HTML("<h3>Pathway with the changed answers</h3>"), self.whatif_pathway])

        # --- step-through -----------------------------------------------------------------
        self.back_button = w.Button(description="Back", icon="arrow-left")
        self.back_button.add_class("ionto-edu-back")
        self.next_button = w.Button(description="Next", icon="arrow-right")
        self.next_button.add_class("ionto-edu-next")
        self.back_button.on_click(lambda _b: self.step_to(self.step_index - 1))
        self.next_button.on_click(lambda _b: self.step_to(self.step_index + 1))
        self.step_view = w.HTML("")
        self.step_view.add_class("ionto-edu-step-view")
        self.step_pathway = w.HTML("")
        self.step_pathway.add_class("ionto-edu-step-pathway")
        step_tab = w.VBox([
            w.HTML("<div>Walk the evaluation of the answers on the What-if tab one rule at a "
                   "time, in the order the engine reads them.</div>"),
            w.HBox([self.back_button, self.next_button]), self.step_view, self.step_pathway])

        # --- compare ----------------------------------------------------------------------
        self.left = w.Dropdown(options=options, description="Left", layout=w.Layout(width="95%"))
        self.right = w.Dropdown(options=options, description="Right",
                                value=options[1][1] if len(options) > 1 else None,
                                layout=w.Layout(width="95%"))
        self.left.add_class("ionto-edu-left")
        self.right.add_class("ionto-edu-right")
        self.left_view = w.HTML("")
        self.right_view = w.HTML("")
        self.compare_diff = w.HTML("")
        self.compare_diff.add_class("ionto-edu-compare-diff")
        for dropdown in (self.left, self.right):
            dropdown.observe(lambda _c: self._compare(), "value")
        compare_tab = w.VBox([
            _columns(w.VBox([self.left, self.left_view]), w.VBox([self.right, self.right_view]),
                     flex=("1 1 360px", "1 1 360px")),
            self.compare_diff])

        self.tabs = w.Tab(children=[case_tab, whatif_tab, step_tab, compare_tab])
        for i, title in enumerate(("Case", "What-if", "Step-through", "Compare")):
            self.tabs.set_title(i, title)
        self.tabs.add_class("ionto-edu-tabs")
        problems = (f"<div style='color:#a00000'>\u26a0 Some vignettes could not be read: "
                    f"{_esc('; '.join(self.load_errors))}</div>" if self.load_errors else "")
        header = w.VBox([
            w.HTML(EDU_STYLE + STYLE + problems + catalogue_link_html()),
            self.picker, self.teaching, w.HBox([w.HTML("Diagram: "), self.fit])])
        self.widget = w.VBox([header, self.tabs], layout=w.Layout(width="100%"))
        self.widget.add_class("ionto-edu")
        self.widget.add_class("ionto-results")

        self.case_assessment: Assessment = assess({}, self.rs)
        self.assessment: Assessment = self.case_assessment
        self.picker.observe(lambda _c: self._load_case(), "value")
        self._load_case()
        self._compare()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def case(self) -> Case:
        """The case picked in the library."""
        return self.cases[str(self.picker.value)]

    def pick(self, case_id: str) -> None:
        """Show one case (as if picked from the list)."""
        self.picker.value = case_id

    # --- case ---------------------------------------------------------------------------
    def _load_case(self) -> None:
        if not self.cases:
            return
        case = self.case
        self.teaching.value = (f"<div class='ionto-edu-teaching'><b>{_esc(case.title)}</b>"
                               f"<div>{_esc(case.teaching_point)}</div>"
                               f"<div class='ionto-muted'>{_esc(_case_source(case))}</div>"
                               "</div>")
        self.case_assessment = assess(case.answers, self.rs)
        self.case_answers.value = answers_html(self.rs, case.answers)
        self.case_outcome.value = outcome_html(self.case_assessment)
        self.case_pathway.value = pathway_html(self.rs, self.case_assessment,
                                               fit=bool(self.fit.value))
        self.form.load(case.answers)  # notifies: the what-if view follows

    # --- what-if ------------------------------------------------------------------------
    def answers(self) -> dict[str, object]:
        """The what-if answers as currently set."""
        return self.form.answers()

    def _what_if(self) -> None:
        try:
            self.assessment = assess(self.form.answers(), self.rs)
        except PatientDataError as exc:
            self.whatif_diff.value = ("<div style='color:#a00000'>\u26a0 " + _esc(
                "; ".join(f"{p.fact}: {p.message}" for p in exc.problems)) + "</div>")
            return
        self.whatif_diff.value = difference_html(difference(self.case_assessment,
                                                            self.assessment))
        self.whatif_outcome.value = outcome_html(self.assessment)
        self.sensitivity_view.value = self._sensitivity_html()
        self.whatif_pathway.value = pathway_html(self.rs, self.assessment,
                                                 fit=bool(self.fit.value))
        self.steps = evaluation_steps(build_pathway(self.rs, self.assessment), self.assessment)
        self.step_to(0)

    def set_answer(self, fact: str, value: object) -> None:
        """Change one what-if answer (None clears it)."""
        self.form.set_answer(fact, value)

    def _sensitivity_html(self) -> str:
        changes = sensitivity(self.form.answers(), self.rs)
        if not changes:
            return ("<h3>Single changes that would change the decision</h3>"
                    "<div>None: no single answer change moves this decision.</div>")
        catalog = self.rs.catalog
        rows = "".join(
            f"<tr><td>{_esc(catalog[c.alternative.fact].label)}</td>"
            f"<td>{_esc(c.alternative.shown)}</td><td><b>{_esc(c.after.decision.words)}</b>"
            f"</td></tr>" for c in changes)
        return (f"<h3>Single changes that would change the decision ({len(changes)})</h3>"
                f"<div class='ionto-muted'>Now: {_esc(self.assessment.decision.words)}. Each "
                "row re-runs the assessment with one answer changed.</div>"
                "<div style='max-height:320px;overflow:auto'><table class='ionto-edu-table'>"
                f"<tr><th>Question</th><th>Change to</th><th>Decision</th></tr>{rows}</table>"
                "</div>")

    # --- step-through -------------------------------------------------------------------
    def step_to(self, index: int) -> None:
        """Show evaluation step ``index`` (clamped to the steps there are)."""
        if not self.steps:
            return
        self.step_index = max(0, min(index, len(self.steps) - 1))
        step = self.steps[self.step_index]
        self.step_view.value = step_html(self.rs, step, self.step_index, len(self.steps))
        self.back_button.disabled = self.step_index == 0
        self.next_button.disabled = self.step_index == len(self.steps) - 1
        self.step_pathway.value = pathway_html(self.rs, self.assessment, focus=step.node.id,
                                               fit=bool(self.fit.value), around_focus=True)

    # --- compare ------------------------------------------------------------------------
    def _compare(self) -> None:
        if self.left.value is None or self.right.value is None:
            return
        left, right = self.cases[str(self.left.value)], self.cases[str(self.right.value)]
        a, b = assess(left.answers, self.rs), assess(right.answers, self.rs)
        for view, case, result in ((self.left_view, left, a), (self.right_view, right, b)):
            view.value = (f"<div class='ionto-edu-teaching'>{_esc(case.teaching_point)}</div>"
                          + outcome_html(result) + pathway_html(self.rs, result, fit=True))
        self.compare_diff.value = difference_html(difference(a, b)).replace(
            "What changed", "Differences, left \u2192 right")

    def _redraw(self) -> None:
        self._load_case()
        self._compare()


def educator_app(rs: RuleSet | None = None) -> EducatorApp:
    """The educator app over the packaged rules and vignettes (displayable in a notebook)."""
    return EducatorApp(rs)
