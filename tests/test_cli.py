"""The `ionto-cds` command: exit 0 on any decision, exit 2 with a short message otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLES, REPO, RULES, copy_rules, line_of, patient, replace_in

from ionto_cds.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("answers", "decision"), [
    (patient(), "eligible"),
    (patient(fixed_dental_braces=True), "eligible_with_precautions"),
    (patient(pacemaker=True), "not_eligible"),
    (patient(pacemaker=None), "needs_information"),
])
def test_assess_exits_0_on_any_decision(capsys, tmp_path, answers, decision):
    path = _write(tmp_path, "p.json", json.dumps(answers))
    code, out, err = run(capsys, "assess", str(path), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["decision"] == decision


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_assess_other_formats(capsys, fmt):
    code, out, err = run(capsys, "assess", str(EXAMPLES / "palmar-adult.yaml"), "--format", fmt)
    assert code == 0 and err == ""
    assert "Tap-water iontophoresis, palms and soles" in out


BAD_FILES = [
    ("unknown-fact.yaml", "pacemakr: true\n",
     "1 answer in {p} cannot be used:\n  pacemakr: unknown fact (did you mean 'pacemaker'?)"),
    ("wrong-type.yaml", "hdss: 2.5\n",
     "1 answer in {p} cannot be used:\n  hdss: expected a whole number, got 2.5"),
    ("bool-type.yaml", "pacemaker: 3\n",
     "1 answer in {p} cannot be used:\n  pacemaker: expected yes/no (true/false) or leave it "
     "empty for unknown, got 3"),
    ("out-of-range.yaml", "hdss: 9\n",
     "1 answer in {p} cannot be used:\n  hdss: 9 is out of range (1 to 4)"),
    ("enum.yaml", "sex: mal\n",
     "1 answer in {p} cannot be used:\n  sex: 'mal' is not one of: female, male, other (did "
     "you mean 'male'?)"),
    ("unparsable.yaml", "weight: twelve kilos\n",
     "1 answer in {p} cannot be used:\n  weight: expected a mass (kg), got 'twelve kilos' (no "
     "number: write e.g. '12 kg')"),
    ("dimension.yaml", "weight: 6 mA\n",
     "1 answer in {p} cannot be used:\n  weight: expected a mass (kg), got '6 mA' (a current)"),
    ("empty.yaml", "", "{p}: the file is empty: write one 'fact: answer' per line"),
    ("blank.yaml", "\n   \n", "{p}: the file is empty: write one 'fact: answer' per line"),
    ("list.yaml", "- a\n- b\n", "{p}: expected a mapping of 'fact: answer' lines, got a list"),
    ("scalar.yaml", "hello\n", "{p}: expected a mapping of 'fact: answer' lines, got 'hello'"),
    ("malformed.yaml", "age: 30\nsite: [palms\n",
     "{p}: line 2: malformed YAML: while parsing a flow sequence that starts here is never closed"),
    ("malformed.json", '{"age": 3', "{p}: malformed JSON at line 1: Expecting ',' delimiter"),
    ("list.json", "[1, 2]", "{p}: expected a mapping of 'fact: answer' lines, got a list"),
    ("tag.yaml", 'age: !!python/object/apply:os.system ["echo pwned"]\n',
     "{p}: line 1: YAML tag '!!python/object/apply:os.system' is not allowed: rules and "
     "answers are plain data; remove the tag"),
    ("tag-top.yaml", '!!python/object/new:dict {}\n',
     "{p}: line 1: YAML tag '!!python/object/new:dict' is not allowed: rules and answers are plain "
     "data; remove the tag"),
    ("male-pregnant.yaml", "sex: male\npregnant: true\n",
     "1 answer in {p} cannot be used:\n  pregnant: is answered yes, but the question does not "
     "apply (asked only when sex ≠ male and age ≥ 12 year and age < 61 year): correct the "
     "other answer or remove this one"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_assess_refuses_bad_input_with_exit_2_and_no_traceback(capsys, tmp_path, name, text,
                                                               message):
    path = _write(tmp_path, name, text)
    code, out, err = run(capsys, "assess", str(path))
    assert code == 2
    assert out == ""
    assert err == f"ionto-cds assess: {message.format(p=path)}\n"
    assert "Traceback" not in err
    assert "\n\n" not in err.strip()  # one paragraph


def test_assess_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "assess", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err == f"ionto-cds assess: {tmp_path / 'nope.yaml'}: no such file\n"


def test_every_bad_answer_is_listed_at_once(capsys, tmp_path):
    path = _write(tmp_path, "p.yaml", "pacemakr: true\nhdss: 9\nsex: mal\n")
    code, _, err = run(capsys, "assess", str(path))
    assert code == 2
    assert err.splitlines()[0] == f"ionto-cds assess: 3 answers in {path} cannot be used:"
    assert len(err.splitlines()) == 4


def test_malformed_patient_yaml_names_the_line(capsys, tmp_path):
    path = _write(tmp_path, "p.yaml", "age: 30\nsex: female\nsite: [palms\n")
    _, _, err = run(capsys, "assess", str(path))
    assert "line 3" in err or f"{path}:3" in err


def test_no_traceback_from_a_real_process(tmp_path):
    path = _write(tmp_path, "p.yaml", "age: !!python/object/apply:os.system ['echo pwned']\n")
    done = subprocess.run([sys.executable, "-m", "ionto_cds.cli", "assess", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "pwned" not in done.stdout


def test_lint_packaged_rules(capsys):
    code, out, err = run(capsys, "lint", str(RULES))
    assert (code, err) == (0, "")
    assert out.strip().endswith("no errors, 0 warnings.")


def test_lint_broken_folder_lists_every_mistake(capsys, tmp_path):
    rules = copy_rules(tmp_path)
    ci = rules / "contraindications.yaml"
    replace_in(ci, "{fact: pacemaker, is: true}", "{fact: pacemakr, is: true}")
    replace_in(ci, "{fact: age, lt: 6 year}", "{fact: age, lt: 6 kg}")
    replace_in(ci, "severity: relative", "severity: relativ")
    code, _out, err = run(capsys, "lint", str(rules))
    assert code == 2
    lines = err.splitlines()
    assert lines[-1] == "3 errors: fix them and run lint again."
    assert [ln.split(": ")[0] for ln in lines[:-1]] == [
        f"{ci}:{line_of(ci, 'pacemakr')}", f"{ci}:{line_of(ci, 'severity: relativ')}",
        f"{ci}:{line_of(ci, 'lt: 6 kg')}"]
    assert "Traceback" not in err


def test_lint_warning_is_not_an_error(capsys, tmp_path):
    from helpers import rule_yaml, tiny_rules

    folder = tiny_rules(tmp_path, rule_yaml(
        "never", "{all: [{fact: age, lt: 6 year}, {fact: age, gt: 10 year}]}"))
    code, out, _ = run(capsys, "lint", str(folder))
    assert code == 0
    assert "warning: rule 'never' can never fire" in out
    assert out.strip().endswith("no errors, 1 warning.")


def test_assess_with_broken_rules_exits_2(capsys, tmp_path):
    rules = copy_rules(tmp_path)
    replace_in(rules / "contraindications.yaml", "severity: relative", "severity: relativ")
    code, out, err = run(capsys, "assess", str(EXAMPLES / "palmar-adult.yaml"), "--rules",
                         str(rules))
    assert code == 2 and out == ""
    assert err.startswith("ionto-cds assess: the rules have 1 error:\n  ")


@pytest.mark.skipif(not any((RULES / "cases").glob("*.yaml")),
                    reason="rules/cases holds no vignettes yet")
def test_vignettes_pass_on_the_packaged_rules(capsys):
    code, out, err = run(capsys, "test", str(RULES))
    assert code == 0, out + err
    assert " 0 failed" in out


def test_test_command_reports_a_failing_vignette(capsys, tmp_path):
    rules = copy_rules(tmp_path)
    (rules / "cases").mkdir()
    (rules / "cases" / "c.yaml").write_text(
        "cases:\n  - id: wrong\n    title: t\n    teaching_point: t\n"
        "    answers: {indication: hyperhidrosis, site: palms, pacemaker: true}\n"
        "    expect: {decision: eligible}\n", encoding="utf-8")
    code, out, _ = run(capsys, "test", str(rules))
    assert code == 1
    assert "FAIL  wrong  not_eligible" in out
    assert "decision not_eligible, expected eligible" in out


def test_dose_within_limits_exits_0(capsys):
    code, out, _ = run(capsys, "dose", "--current", "3mA", "--dose", "40mA*min", "--area",
                       "6cm^2", "--drug", "dexamethasone")
    assert code == 0
    assert "duration         13 min 20 s" in out
    assert out.strip().endswith("OK: within every limit of dexamethasone-musculoskeletal")


def test_dose_of_a_drug_without_an_area_is_never_ok(capsys):
    code, out, _ = run(capsys, "dose", "--current", "3mA", "--dose", "40mA*min", "--drug",
                       "dexamethasone")
    assert code == 1
    assert "OK" not in out
    assert ("maximum current density 0.5 mA/cm² (current-density limit for the cathode "
            "electrode): not checked, "
            "electrode area not given") in out
    assert out.strip().splitlines()[-1].startswith("NOT CONFIRMED")


def test_dose_is_held_to_the_protocols_limits(capsys):
    # The case: the tap-water protocol allows at most 20 mA.
    code, out, _ = run(capsys, "dose", "--current", "30mA", "--duration", "20min", "--area",
                       "100cm^2", "--protocol", "tap-water-palmoplantar")
    assert code == 2
    assert ("REFUSED: 30 mA exceeds the maximum current 20 mA (Tap-water iontophoresis, palms "
            "and soles)") \
        in out
    code, out, _ = run(capsys, "dose", "--current", "30mA", "--duration", "20min", "--area",
                       "100cm^2")
    assert code == 1
    assert "protocol limits (maximum current and dose): not checked, no protocol given" in out


def test_dose_refuses_an_unsafe_combination_naming_the_limit(capsys):
    code, out, err = run(capsys, "dose", "--current", "5mA", "--duration", "30min", "--drug",
                         "dexamethasone")
    assert code == 2
    text = out + err
    assert "REFUSED: 5 mA exceeds the maximum current 4 mA (Dexamethasone sodium phosphate)" in text
    assert ("REFUSED: 150 mA·min exceeds the maximum dose 80 mA·min (Dexamethasone sodium "
            "phosphate)") in text


def test_dose_density_refusal(capsys):
    code, out, err = run(capsys, "dose", "--current", "20mA", "--duration", "30min", "--area",
                         "10cm^2", "--protocol", "tap-water-palmoplantar")
    assert code == 2
    assert ("REFUSED: 2 mA/cm² exceeds the maximum current density 0.5 mA/cm² "
            "(current-density limit, alternating polarity)") in out + err


def test_dose_unit_error(capsys):
    code, out, err = run(capsys, "dose", "--current", "5kg", "--duration", "30min")
    assert (code, out) == (2, "")
    assert err == "ionto-cds dose: expected a current (mA), got '5kg' (a mass)\n"


SESSION = """course_id: c1
date: 2025-03-03
protocol: tap-water-palmoplantar
site: palms
current: 15 mA
duration: 20 min
adverse_effects: [vesicles]
"""


def test_course_log_stores_a_session(capsys, tmp_path):
    db = tmp_path / "log.sqlite3"
    code, out, err = run(capsys, "course", "log", str(_write(tmp_path, "s.yaml", SESSION)),
                         "--db", str(db))
    assert (code, err) == (0, "")
    assert out == ("logged session 1 of course 'c1': 2025-03-03, tap-water-palmoplantar, "
                   f"15 mA x 20 min = 300 mA·min (in {db})\n")


def test_course_log_twice_stores_the_session_once(capsys, tmp_path):
    db, session = tmp_path / "log.sqlite3", _write(tmp_path, "s.yaml", SESSION)
    assert run(capsys, "course", "log", str(session), "--db", str(db),
               "--session-id", "visit-1")[0] == 0
    code, out, err = run(capsys, "course", "log", str(session), "--db", str(db),
                         "--session-id", "visit-1")
    assert (code, err) == (0, "")
    assert out.startswith("already logged, nothing stored: session 1 of course 'c1'")


def test_course_log_refuses_bad_input_with_the_session_error(capsys, tmp_path):
    db = tmp_path / "log.sqlite3"
    bad = SESSION.replace("site: palms", "site: palm").replace("15 mA", "25 mA")
    code, out, err = run(capsys, "course", "log", str(_write(tmp_path, "s.yaml", bad)),
                         "--db", str(db))
    assert (code, out) == (2, "")
    assert err == (
        "ionto-cds course: the session for course 'c1' cannot be logged (2 problems):\n"
        "  site: 'palm' is not a site (did you mean 'palms'?); one of: palms, soles, axillae, "
        "face, neck, chest, back, shoulder, elbow, wrist_hand, hip, knee, ankle_foot\n"
        "  current: 25 mA exceeds the maximum current 20 mA (Tap-water iontophoresis, palms "
        "and soles): "
        "the session is refused\n")
    assert "Traceback" not in err


def test_course_log_missing_file_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "course", "log", str(tmp_path / "none.yaml"),
                         "--db", str(tmp_path / "log.sqlite3"))
    assert (code, out) == (2, "")
    assert err == f"ionto-cds course: {tmp_path / 'none.yaml'}: no such file\n"


def test_course_guidance_prints_markdown(capsys, tmp_path):
    db = str(tmp_path / "log.sqlite3")
    session = _write(tmp_path, "s.yaml", SESSION)
    assert run(capsys, "course", "log", str(session), "--db", db)[0] == 0
    code, out, err = run(capsys, "course", "guidance", "c1", "--db", db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == [
        "**Course c1: Tap-water iontophoresis, palms and soles**", "",
        "- Lower the current at the next session.",
        "- Small blisters (vesicles): Check the skin and lower the current; stop if blistering "
        "recurs. (protocol tap-water-palmoplantar)"]
    assert lines[-1] == "- Cumulative dose 300 mA * min over 1 session of tap-water-palmoplantar"


def test_course_guidance_for_an_unknown_course_exits_2(capsys, tmp_path):
    db = tmp_path / "log.sqlite3"
    code, out, err = run(capsys, "course", "guidance", "c9", "--db", str(db))
    assert (code, out) == (2, "")
    assert err == f"ionto-cds course: no sessions are logged for course 'c9' in {db}\n"


def test_course_commands_run_as_a_console_script(tmp_path):
    db = str(tmp_path / "log.sqlite3")
    session = _write(tmp_path, "s.yaml", SESSION.replace("site: palms", "site: palm"))
    done = subprocess.run([sys.executable, "-m", "ionto_cds.cli", "course", "log", str(session),
                           "--db", db], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ionto-cds course: the session for course 'c1' cannot be "
                                  "logged (1 problem):\n  site: 'palm' is not a site")


def test_course_log_with_the_patient_applies_the_paediatric_cap(capsys, tmp_path):
    db = str(tmp_path / "log.sqlite3")
    session = _write(tmp_path, "s.yaml", SESSION.replace("15 mA", "12 mA"))
    child = _write(tmp_path, "child.json", json.dumps(patient(age=9)))
    code, out, err = run(capsys, "course", "log", str(session), "--db", db,
                         "--patient", str(child))
    assert (code, out) == (2, "")
    assert err == (
        "ionto-cds course: the session for course 'c1' cannot be logged (1 problem):\n"
        "  current: 12 mA exceeds the maximum current 10 mA (rule paediatric-current-cap): "
        "the session is refused\n")
    adult = _write(tmp_path, "adult.json", json.dumps(patient()))
    assert run(capsys, "course", "log", str(session), "--db", db, "--patient", str(adult))[0] == 0
