"""ionto-cds diff: what changed in clinical words, and every vignette and cohort row whose
outcome moves; replay of saved records through the same comparison."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from helpers import RULES, line_of, patient, replace_in

from ionto_cds.analysis.diff import diff_rulesets, outcome_row
from ionto_cds.analysis.diff_content import content_changes
from ionto_cds.analysis.diff_outcomes import row_changes
from ionto_cds.analysis.record import build_record, record_row, replay_all, write_record
from ionto_cds.cli import main
from ionto_cds.engine.assess import assess
from ionto_cds.engine.ruleset import load_ruleset

RULE = "body-worn-device-in-current-path"


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(RULES, folder)
    return folder


@pytest.fixture(scope="module")
def stricter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rules with one severity changed: a body-worn device in the current path
    becomes an absolute contraindication."""
    folder = _copy(tmp_path_factory.mktemp("diff"), "new")
    path = folder / "contraindications.yaml"
    line = line_of(path, f"- id: {RULE}")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[line + 1] == "    severity: relative\n"
    lines[line + 1] = "    severity: absolute\n"
    path.write_text("".join(lines), encoding="utf-8")
    return folder


def _cohort(tmp_path: Path) -> tuple[Path, list[dict]]:
    """Fictional patients as a cohort CSV (lists ';'-joined, [] as none)."""
    people = [
        patient(),
        patient(body_worn_device_regions=["hand_wrist"]),  # in the path of a palmar treatment
        patient(body_worn_device_regions=["lower_leg_foot"]),  # not in it
        patient(site="soles", body_worn_device_regions=["lower_leg_foot"]),  # in it
        patient(pacemaker=True, body_worn_device_regions=["hand_wrist"]),  # not eligible anyway
    ]
    path = tmp_path / "cohort.csv"
    names = list(people[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for p in people:
            writer.writerow([";".join(v) if isinstance(v, list) and v else
                             "none" if isinstance(v, list) else
                             str(v).lower() if isinstance(v, bool) else v for v in
                             (p[n] for n in names)])
    return path, people


def test_one_severity_changed_names_the_rule_and_every_vignette_that_moves(stricter):
    result = diff_rulesets(RULES, stricter)
    assert [c.line() for c in result.content] == [
        f"- rule '{RULE}' changed: severity relative → absolute"]
    old, new = load_ruleset(RULES), load_ruleset(stricter)
    from ionto_cds.analysis.diff import vignettes_of
    moved = {c.id for c in vignettes_of(RULES)
             if assess(c.answers, old).decision != assess(c.answers, new).decision}
    assert moved and set(result.vignettes.changed) == moved
    assert result.vignettes.decisions_changed == len(moved)
    text = result.render()
    for case_id in moved:
        assert f"- `{case_id}`: decision was eligible_with_precautions, now not_eligible" in text
    assert f"- decision eligible with precautions → not eligible: {len(moved)} (e.g." in text


def test_cli_names_every_cohort_row_whose_decision_moves(stricter, tmp_path, capsys):
    cohort, people = _cohort(tmp_path)
    old, new = load_ruleset(RULES), load_ruleset(stricter)
    expected = [f"row {i}" for i, p in enumerate(people, 1)
                if assess(p, old).decision != assess(p, new).decision]
    assert expected == ["row 2", "row 4"]
    changes = tmp_path / "changes.csv"
    code = main(["diff", str(RULES), str(stricter), "--cohort", str(cohort), "--expect-same",
                 "--changes", str(changes)])
    out, err = capsys.readouterr()
    assert code == 1 and "outcomes changed, but --expect-same was given" in err
    assert "2 of 5 cohort rows change outcome (2 change decision)." in out
    assert "- decision eligible with precautions → not eligible: 2 (e.g. row 2, row 4)" in out
    rows = list(csv.DictReader(changes.open(encoding="utf-8")))
    assert [r["patient"] for r in rows] == expected
    assert rows[0]["changes"].startswith("decision was eligible_with_precautions, now "
                                         "not_eligible; protocol was tap-water-palmoplantar")


def test_same_rules_with_expect_same_exit_0(tmp_path, capsys):
    copy = _copy(tmp_path, "same")
    replace_in(copy / "contraindications.yaml", "# Rules about", "# Reworded comment. Rules about")
    assert main(["diff", str(RULES), str(copy), "--expect-same"]) == 0
    out = capsys.readouterr().out
    assert "Nothing in the rules, facts, protocols, drugs, limits or references" in out
    assert "0 of 211 vignettes change outcome" in out


def test_content_changes_in_clinical_words(tmp_path):
    new = _copy(tmp_path, "new")
    replace_in(new / "protocols.yaml", "      current: 8 mA", "      current: 10 mA")
    replace_in(new / "references.yaml", "    grade: manufacturer", "    grade: other")
    replace_in(new / "drugs.yaml", "    max_current: 20 mA", "    max_current: 15 mA")
    old_source = load_ruleset(RULES).source
    new_source = load_ruleset(new).source
    lines = [c.line() for c in content_changes(old_source, new_source)]
    assert any(" changed: current 8 mA → 10 mA" in x and x.startswith("- protocol '")
               for x in lines), lines
    assert "- drug 'glycopyrronium' changed: max current 20 mA → 15 mA" in lines
    assert "- reference 'saalmann-faq' changed: grade manufacturer → other" in lines


def test_bad_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["diff", str(RULES), str(tmp_path / "nope")]) == 2
    assert "no such rules folder" in capsys.readouterr().err


def test_row_changes_say_dose_and_findings():
    old = {"decision": "eligible", "findings": "", "missing": "", "protocol": "p",
           "referral": "", "current": "10 mA", "duration": "20 min", "dose": "200 mA * min",
           "current_density": ""}
    new = {**old, "decision": "eligible_with_precautions", "findings": "r1", "current": "8 mA",
           "dose": "160 mA * min"}
    assert [w for _, w in row_changes(old, new)] == [
        "decision was eligible, now eligible_with_precautions", "current was 10 mA, now 8 mA",
        "dose was 200 mA * min, now 160 mA * min", "+finding r1"]


def test_replay_of_a_folder_shows_which_records_would_change(stricter, tmp_path, capsys):
    old = load_ruleset(RULES)
    folder = tmp_path / "records"
    for name, answers in (("a", patient()), ("b", patient(body_worn_device_regions=[
            "hand_wrist"]))):
        write_record(build_record(assess(answers, old), answers=answers), folder / f"{name}.json")
    (folder / "junk.json").write_text("{}", encoding="utf-8")
    record = json.loads((folder / "b.json").read_text(encoding="utf-8"))
    assert record_row(record) == outcome_row(record["answers"], old)
    impact, unreadable = replay_all([folder], load_ruleset(stricter))
    assert list(impact.changed) == [str(folder / "b.json")]
    assert unreadable == [f"{folder / 'junk.json'}: not an ionto-cds decision record"]
    impact, unreadable = replay_all([folder / "a.json", folder / "b.json"], old)
    assert not impact.moved and impact.compared == 2
    assert main(["replay", str(folder / "a.json"), str(folder / "b.json")]) == 0
    assert "0 of 2 records change outcome" in capsys.readouterr().out
    assert main(["replay", str(folder)]) == 1
    assert "not replayed: " in capsys.readouterr().out
