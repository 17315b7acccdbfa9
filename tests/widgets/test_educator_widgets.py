"""The educator app driven from Python; notebook 03 executes headless."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import REPO

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.render.pathway.build import build_pathway
from ionto_cds.render.pathway.steps import evaluation_steps
from ionto_cds.serve import notebook_path
from ionto_cds.widgets.educator import EducatorApp, pathway_html, step_html

NOTEBOOK = REPO / "notebooks" / "03_educator_pathways.ipynb"


@pytest.fixture(scope="module")
def rs() -> Any:
    return load_ruleset()


@pytest.fixture(scope="module")
def app(rs: Any) -> EducatorApp:
    return EducatorApp(rs)


def test_library_lists_every_vignette_by_title(app: EducatorApp) -> None:
    titles = [label for label, _id in app.picker.options]
    assert len(titles) == len(app.cases) > 50
    assert "Palmar sweating with a pacemaker" in titles
    assert not app.load_errors


def test_picking_a_case_shows_teaching_point_answers_outcome_and_path(app: EducatorApp) -> None:
    app.pick("pacemaker-palmar")
    case = app.cases["pacemaker-palmar"]
    assert case.teaching_point.split()[0] in app.teaching.value
    assert "Implanted cardiac pacemaker" in app.case_outcome.value
    assert "Not eligible" in app.case_outcome.value
    assert "Pacemaker" in app.case_answers.value or "pacemaker" in app.case_answers.value
    svg = app.case_pathway.value
    assert "<svg" in svg and "on the path" in svg
    assert app.case_assessment.decision is Decision.NOT_ELIGIBLE
    assert f"vignette pacemaker-palmar in devices.yaml, line {case.location.line}" in (
        app.teaching.value)
    assert "/" not in app.teaching.value.split("ionto-muted'>")[1].split("<")[0]  # no path


def test_what_if_flip_shows_the_difference_and_redraws(app: EducatorApp) -> None:
    app.pick("pacemaker-palmar")
    before = app.whatif_pathway.value
    assert "No change" in app.whatif_diff.value
    app.set_answer("pacemaker", False)
    assert app.assessment.decision is Decision.ELIGIBLE
    assert "decision changed" in app.whatif_diff.value
    assert "Not eligible \u2192 <b>Eligible</b>" in app.whatif_diff.value
    assert "protocol changed" in app.whatif_diff.value
    assert app.whatif_pathway.value != before
    app.set_answer("pacemaker", None)  # clear
    assert app.assessment.decision is Decision.NEEDS_INFORMATION
    app.reset_button.click()
    assert app.assessment.decision is Decision.NOT_ELIGIBLE


def test_sensitivity_view_lists_the_decisive_changes(app: EducatorApp) -> None:
    app.pick("pacemaker-palmar")
    view = app.sensitivity_view.value
    assert "(2)" in view
    assert html.escape(app.rs.catalog["pacemaker"].label) in view
    assert "Eligible" in view and "Needs information" in view


def test_step_through_walks_rule_by_rule(app: EducatorApp) -> None:
    app.pick("pacemaker-palmar")
    assert app.step_index == 0 and app.back_button.disabled
    app.next_button.click()
    assert app.step_index == 1
    assert "Implanted cardiac pacemaker" in app.step_view.value
    assert "Implanted cardiac pacemaker: looks for yes; answer yes \u2192 met" in \
        app.step_view.value
    assert "THIS STEP" in app.step_pathway.value
    app.back_button.click()
    assert app.step_index == 0
    app.step_to(10_000)
    assert app.next_button.disabled and "Not eligible" in app.step_view.value


def test_compare_two_cases_side_by_side(app: EducatorApp) -> None:
    app.left.value = "pacemaker-palmar"
    app.right.value = "hip-replacement-not-in-path"
    assert "Not eligible" in app.left_view.value
    right = assess(app.cases["hip-replacement-not-in-path"].answers, app.rs)
    assert right.decision.words in app.right_view.value
    assert "Differences, left" in app.compare_diff.value


def test_fit_width_scales_the_diagram(app: EducatorApp) -> None:
    app.fit.value = True
    assert 'style="width:100%;height:auto"' in app.case_pathway.value
    app.fit.value = False
    assert 'style="width:100%' not in app.case_pathway.value


def test_pathway_html_is_inline_svg_with_unique_ids(rs: Any) -> None:
    one, two = pathway_html(rs, None), pathway_html(rs, None)
    svg = one[one.index("<svg"):one.rindex("</svg>") + 6]
    ET.fromstring(svg)
    assert one != two  # pattern and marker ids differ so two diagrams can share a page


def test_app_notebook_name_maps_to_notebook_03() -> None:
    assert notebook_path("educator") == NOTEBOOK.resolve() or notebook_path(
        "educator").name == NOTEBOOK.name


def test_notebook_03_committed_without_outputs() -> None:
    nb = nbformat.read(Path(NOTEBOOK), as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_every_step_is_in_clinical_words(app: EducatorApp) -> None:
    """No rule id, protocol id or fact name in any step of any vignette: titles and question
    texts only."""
    import re

    rs = app.rs
    machine = {*(i for i in rs.by_id if "-" in i or "_" in i),
               *(p.id for p in rs.protocols), *(f.name for f in rs.catalog.asked if "_" in f.name)}
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(machine, key=len,
                                                                          reverse=True)))
                         + r")(?![\w-])")
    seen = 0
    for case_id, case in app.cases.items():
        a = assess(case.answers, rs)
        steps = evaluation_steps(build_pathway(rs, a), a)
        for index, step in enumerate(steps):
            shown = step_html(rs, step, index, len(steps))
            text = html.unescape(re.sub(r"<[^>]+>", " ", shown))
            found = pattern.search(text)
            assert found is None, f"{case_id} step {index + 1}: {found.group(0)!r} in {text!r}"
            seen += 1
    assert seen > 100
