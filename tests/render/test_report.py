"""Renderers show the Assessment; they never decide."""

from __future__ import annotations

import json

import pytest
from helpers import patient

from ionto_cds import assess, load_ruleset
from ionto_cds.render.report import to_html, to_json, to_markdown


@pytest.fixture(scope="module")
def rs():
    return load_ruleset()


def test_json_is_the_assessment_dict(rs):
    a = assess(patient(fixed_dental_braces=True), rs)
    assert json.loads(to_json(a)) == json.loads(json.dumps(a.to_dict()))


def test_markdown_eligible_with_plan(rs):
    md = to_markdown(assess(patient(), rs))
    assert md.startswith("# Iontophoresis assessment: ELIGIBLE\n")
    assert "No contraindication or precaution applies." in md
    assert "## Plan: Tap-water iontophoresis, palms and soles" in md
    assert "| Starting current | 10 mA |" in md
    assert "| Current range | 10 mA to 20 mA: raise slowly to tingling, never to pain |" in md
    assert "| Dose | 200 mA·min at the starting current |" in md
    assert "| Smallest electrode for this current | 20 cm² |" in md
    assert " * " not in md and "**2" not in md and "** 2" not in md  # no unit reads as code
    assert f"(sha256 {rs.sha256})" in md


def test_drug_plan_says_start_target_maximum_and_pretty_units(rs):
    md = to_markdown(assess(patient(indication="tendinopathy", site="elbow",
                                    hyperhidrosis_warning_signs=None, hdss=None,
                                    tap_water_sessions=None, electrode_area="10 cm2"), rs))
    for row in ("| Starting current | 4 mA |", "| Maximum current | 4 mA (Dexamethasone "
                "iontophoresis for tendinopathy, bursitis or plantar fasciitis) |",
                "| Current density | 0.4 mA/cm² |",
                "| Dose | 40 mA·min target: at a lower current the session runs longer "
                "(dose ÷ current) |", "| Concentration | 4 mg/mL |",
                "| Active electrode | cathode (−) |"):
        assert row in md, row


def test_markdown_questions_and_findings(rs):
    md = to_markdown(assess(patient(pacemaker=None, fixed_dental_braces=True), rs))
    assert md.startswith("# Iontophoresis assessment: NEEDS INFORMATION\n")
    assert "## Questions to answer first" in md
    assert "- **Implanted cardiac pacemaker** (`pacemaker`):" in md
    assert ("### Implanted cardiac pacemaker: absolute contraindication, may apply "
            "(unanswered)") in md
    assert "- `pacemaker` is true: answer **unanswered** -> unknown" in md
    assert "## Plan" not in md


def test_markdown_not_eligible_has_no_plan(rs):
    md = to_markdown(assess(patient(epilepsy=True), rs))
    assert "### Epilepsy or seizure disorder: absolute contraindication, applies" in md
    assert "## Plan" not in md and "## No plan" not in md


def test_html_is_standalone_and_escaped(rs):
    page = to_html(assess(patient(fixed_dental_braces=True), rs))
    assert page.startswith("<!DOCTYPE html><html lang='en'>")
    assert page.endswith("</body></html>")
    assert "<h1>Iontophoresis assessment: ELIGIBLE WITH PRECAUTIONS</h1>" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]
    assert page.count("<table>") == page.count("</table>") == 1
    assert page.count("<ul>") == page.count("</ul>")


def test_markdown_side_effects_name_label_and_response(rs):
    md = to_markdown(assess(patient(), rs))
    assert "**On side effects**" in md
    assert ("- Small blisters (vesicles) (lower current): Check the skin and lower the current; "
            "stop if blistering recurs.") in md


def test_markdown_refer_names_the_referral_and_its_sources(rs):
    a = assess(patient(hyperhidrosis_warning_signs=["night_sweats"]), rs)
    md = to_markdown(a)
    assert md.startswith("# Iontophoresis assessment: REFER\n")
    assert a.referral is not None
    assert f"## Refer: {a.referral.title}\n\n{a.referral.summary}\n" in md
    first = rs.references[a.referral.references[0]].citation
    assert "Sources: " in md and first in md
    assert "## Plan" not in md and "## Questions to answer first" not in md


def test_the_current_path_worked_out_is_shown(rs):
    d = assess(patient(site="soles"), rs).to_dict()
    path = next(w for w in d["worked_out"] if w["fact"] == "current_path")
    assert {"pelvis_hip", "thigh_knee", "lower_leg_foot"} <= set(path["value"])
    assert not {"upper_arm_shoulder", "chest_upper_back"} & set(path["value"])
    md = to_markdown(assess(patient(site="soles"), rs))
    assert f"- {path['label']}: " in md and "pelvis hip" in md
