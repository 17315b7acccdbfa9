"""Mutation testing of rule sets (ionto-cds test --mutants), on tiny self-contained rule folders.

The folders here are written whole (facts, references, rules, drugs, protocols and a course
vocabulary), so nothing depends on the packaged rules but the one smoke test at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ionto_cds.analysis import mutants
from ionto_cds.analysis.cases import read_cases, run_case
from ionto_cds.analysis.mutants import MutationReport, mutation_test
from ionto_cds.analysis.mutants_edit import apply
from ionto_cds.analysis.mutants_operators import generate
from ionto_cds.analysis.mutants_run import Status
from ionto_cds.cli import EXIT_FAILED, EXIT_INVALID, EXIT_OK, main
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.engine.ruleset import RuleSet, load_ruleset
from ionto_cds.language.loader import load_documents, read_course, read_documents, read_rules

FACTS = """\
version: "1"
groups:
  - {id: patient, label: Patient}
facts:
  age: {type: quantity, unit: year, min: 0 year, max: 120 year, label: Age, help: Age.,
        group: patient}
  sex: {type: enum, values: [female, male], label: Sex, help: Sex., group: patient}
  pregnant: {type: bool, label: Pregnant, help: Pregnant., group: patient,
             asked_when: {fact: sex, ne: male}}
  indication: {type: enum, values: [hyperhidrosis, tendinopathy], label: Indication,
               help: What., group: patient, required: true}
  site: {type: enum, values: [palms, soles, shoulder], label: Site, help: Where.,
         group: patient, required: true}
  pacemaker: {type: bool, label: Pacemaker, help: Pacemaker., group: patient}
  hdss: {type: int, min: 1, max: 4, label: HDSS, help: Severity., group: patient}
  drug_allergies: {type: list, values_from: drugs, label: Allergies, help: Allergies.,
                   group: patient}
  limb:
    type: enum
    values: [arm, leg]
    label: Limb
    help: Worked out from the site.
    group: patient
    derived:
      - {when: {fact: site, eq: palms}, value: arm}
      - {when: {fact: site, in: [soles]}, value: leg}
  electrode_area: {type: quantity, unit: cm^2, min: 0.5 cm^2, max: 1000 cm^2,
                   label: Electrode area, help: Area., group: patient}
"""
REFERENCES = """\
version: "1"
references:
  src: {citation: A source., grade: other}
"""
RULES = """\
version: "1"
rules:
  - id: pacemaker
    title: Pacemaker
    severity: absolute
    applies_to: [tap_water, drug_assisted]
    when: {fact: pacemaker, is: true}
    rationale: Because.
    action: Do not treat.
    references: [src]
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
  - id: pregnancy
    title: Pregnancy
    severity: relative
    applies_to: [tap_water, drug_assisted]
    when:
      all:
        - {fact: sex, ne: male}
        - {fact: pregnant, is: true}
    rationale: Because.
    action: Weigh it.
    references: [src]
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
  - id: child
    title: Child
    severity: precaution
    applies_to: [tap_water, drug_assisted]
    when: {fact: age, lt: 12 year}
    rationale: Because.
    action: Start low.
    references: [src]
    effect: {set: {max_current: 10 mA}, parameters: children}
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
  - id: other-site-or-severe
    title: Other site or severe
    severity: precaution
    applies_to: [tap_water]
    when:
      any:
        - {not: {fact: site, in: [palms, soles]}}
        - {fact: hdss, ge: 4}
    rationale: Because.
    action: Check.
    references: [src]
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
  - id: leg
    title: Leg
    severity: precaution
    applies_to: [tap_water, drug_assisted]
    when: {fact: limb, eq: leg}
    rationale: Because.
    action: Check the legs.
    references: [src]
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
"""
DRUGS = """\
version: "1"
drugs:
  dexa:
    label: Dexa
    ion: anion
    polarity: cathode
    valence: 2
    molar_mass: 516.4 g/mol
    solution: {name: Dexa solution, concentration: 4 mg/mL}
    indications: [tendinopathy]
    dose: {min: 40 mA*min, max: 80 mA*min}
    max_current: 4 mA
    references: [src]
  lido:
    label: Lido
    ion: cation
    polarity: anode
    valence: 1
    solution: {name: Lido solution}
    indications: [tendinopathy]
    dose: {max: 40 mA*min}
    references: [src]
rules:
  - id: drug-allergy
    title: Drug allergy
    severity: absolute
    applies_to: [dexa, lido]
    when: {fact: drug_allergies, contains_any: [dexa, lido]}
    rationale: Because.
    action: Do not use the drug.
    references: [src]
    metadata: {version: 1, author: tests, last_reviewed: 2026-01-01}
"""
PROTOCOLS = """\
version: "1"
limits:
  max_current_density: {anode: 1.0 mA/cm^2, cathode: 0.5 mA/cm^2, alternating: 0.5 mA/cm^2}
  rationale: Test limits.
  references: [src]
protocols:
  - id: tap-water
    title: Tap water
    modality: tap_water
    drug: null
    priority: 100
    when:
      all:
        - {fact: indication, eq: hyperhidrosis}
        - {fact: site, in: [palms, soles]}
    summary: Tap water.
    parameters:
      current: 15 mA
      current_range: {min: 10 mA, max: 20 mA}
      duration: 20 min
      polarity: alternating
      solution: Tap water.
      variants:
        children: {current: 8 mA, current_range: {min: 5 mA, max: 10 mA}, note: Start low.}
    limits: {max_current: __MAX_CURRENT__, max_dose: 600 mA*min}
    schedule:
      induction: {sessions_per_week: 3, sessions: 12}
      judge_response: {after_sessions: 12}
      min_interval: 1 day
    references: [src]
  - id: dexa-tendon
    title: Dexa for tendons
    modality: drug_assisted
    drug: dexa
    priority: 50
    when: {fact: indication, eq: tendinopathy}
    requires: [electrode_area]
    summary: Dexa.
    parameters:
      current: 4 mA
      current_range: {min: 1 mA, max: 4 mA}
      target_dose: 40 mA*min
      polarity: cathode
      solution: Dexa.
    limits: {max_dose: 80 mA*min}
    schedule:
      induction: {sessions_per_week: 3, sessions: 6}
    references: [src]
  - id: other-site
    title: Hyperhidrosis elsewhere
    modality: referral
    drug: null
    priority: 10
    when: {fact: indication, eq: hyperhidrosis}
    summary: Consider other treatment.
    references: [src]
"""
COURSE = """\
version: "1"
responses: {stop: Stop., pause: Pause., lower_current: Lower., reduce_frequency: Less often.,
            expected: Expected.}
adverse_effects:
  burn: {label: Burn, response: stop, action: Stop.}
tolerance:
  fine: {label: Fine, response: expected}
scores:
  hdss: {label: HDSS, min: 1, max: 4}
  pain: {label: Pain, min: 0, max: 10}
escalation: {modality: tap_water, min_hdss_improvement: 1}
"""

CLEAR = ("{age: 40 year, sex: female, pregnant: false, indication: hyperhidrosis, site: palms, "
         "pacemaker: false, hdss: 3, drug_allergies: [], electrode_area: 100 cm^2}")
WEAK_CASES = f"""\
cases:
  - id: clear-palms
    title: Clear adult, palms
    teaching_point: The common case.
    answers: {CLEAR}
    expect: {{decision: eligible}}
"""
STRONG_CASES = WEAK_CASES + f"""\
  - id: clear-palms-plan
    title: Clear adult, palms, every plan number
    teaching_point: The plan is pinned.
    answers: {CLEAR}
    expect:
      decision: eligible
      protocol: tap-water
      plan: {{current: 15 mA, duration: 20 min, limits: {{max_dose: 600 mA*min}}}}
  - id: pacemaker
    title: Pacemaker
    teaching_point: Never with a pacemaker.
    answers: {CLEAR.replace('pacemaker: false', 'pacemaker: true')}
    expect: {{decision: not_eligible, findings: [pacemaker]}}
"""
PATIENTS = 200
"""A small cohort keeps these tests quick; equivalence needs only that it is fixed."""


def rules_folder(tmp_path: Path, cases: str = WEAK_CASES, max_current: str = "30 mA") -> Path:
    """The tiny rule folder: every file written here; the tap-water protocol's maximum current
    (30 mA: above its current range's 20 mA, so dominated) can be set."""
    folder = tmp_path / "rules"
    (folder / "cases").mkdir(parents=True)
    (folder / "course").mkdir()
    files = {"facts.yaml": FACTS, "references.yaml": REFERENCES,
             "contraindications.yaml": RULES, "drugs.yaml": DRUGS,
             "protocols.yaml": PROTOCOLS.replace("__MAX_CURRENT__", max_current),
             "course/course.yaml": COURSE, "cases/cases.yaml": cases}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def run(folder: Path, jobs: int = 1) -> MutationReport:
    return mutation_test(folder, fictional_cohort, jobs=jobs, patients=PATIENTS)


def status_of(report: MutationReport, words: str) -> Status:
    found = [r.status for r in report.results if r.mutant.words == words]
    assert len(found) == 1, (words, [r.mutant.words for r in report.results])
    return found[0]


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> MutationReport:
    return run(rules_folder(tmp_path_factory.mktemp("weak")))


def test_the_tiny_folder_loads_and_its_vignettes_pass(tmp_path):
    folder = rules_folder(tmp_path, STRONG_CASES)
    report = read_rules(folder)
    assert report.errors == [], [str(e) for e in report.errors]
    rs = load_ruleset(folder)
    cases, errors = read_cases(folder / "cases")
    assert errors == [] and all(run_case(c, rs).passed for c in cases)


def test_documents_are_read_in_memory_as_from_disk(tmp_path):
    folder = rules_folder(tmp_path)
    documents, unreadable = load_documents(folder)
    course = read_course(folder)
    from_disk = read_rules(folder).source
    elsewhere = tmp_path / "never-written"  # names the files in messages; nothing is read there
    in_memory = read_documents(documents, elsewhere, course, unreadable).source
    assert from_disk is not None and in_memory is not None
    assert in_memory.sha256 == from_disk.sha256
    assert [r.id for r in in_memory.rules] == [r.id for r in from_disk.rules]
    assert not elsewhere.exists()


def test_every_operator_class_produces_mutants(tmp_path):
    documents, _ = load_documents(rules_folder(tmp_path))
    mutants = generate(documents)
    classes = {m.operator for m in mutants}
    assert classes >= {
        "severity", "applies_to", "condition part dropped", "not unwrapped",
        "list value dropped", "threshold", "eq/ne flipped", "boundary", "is flipped",
        "priority", "protocol parameter", "protocol limit", "schedule", "variant",
        "drug number", "global limit", "rule cap", "fact range", "asked_when dropped",
        "asked_when negated", "required flipped", "derived case dropped", "requires dropped",
    }
    words = {m.words for m in mutants}
    for expected in (
        "rule pacemaker: severity absolute changed to relative",
        "rule pacemaker: severity absolute changed to precaution",
        "rule pacemaker: applies to drug_assisted only, no longer to tap_water",
        "rule drug-allergy: applies to lido only, no longer to dexa",
        "rule pregnancy: condition part 'pregnant is yes' dropped from its all-of",
        "rule other-site-or-severe: condition 'not (site in [palms, soles])' unwrapped to "
        "'site in [palms, soles]'",
        "rule drug-allergy: condition 'drug_allergies contains any of [dexa, lido]' without lido",
        "rule child: condition 'age < 12 year': threshold 12 year halved to 6 year",
        "rule child: condition 'age < 12 year': threshold 12 year in month instead of year "
        "(12 month)",
        "rule other-site-or-severe: condition 'hdss ≥ 4': threshold 4 lowered to 3",
        "rule pregnancy: condition 'sex ≠ male' changed to 'sex = male'",
        "rule pacemaker: condition 'pacemaker is yes' flipped to 'pacemaker is no'",
        "protocol tap-water: priority 100 moved below dexa-tendon (50), to 49: tried after it",
        "protocol tap-water: maximum dose 600 mA·min doubled to 1200 mA·min",
        "protocol tap-water: variant children: current 8 mA halved to 4 mA",
        "protocol tap-water: minimum interval 1 day doubled to 2 day",
        "drug dexa: valence 2 raised to 3",
        "drug dexa: molar mass 516.4 g/mol halved to 258.2 g/mol",
        "limits: cathode current-density limit 0.5 mA/cm² doubled to 1 mA/cm²",
        "rule child: cap on max current 10 mA halved to 5 mA",
        "fact hdss: largest answer allowed 4 doubled to 8",
        "fact pregnant: asked_when 'sex ≠ male' dropped: always asked",
        "fact pregnant: asked_when 'sex ≠ male' negated",
        "fact indication: no longer required",
        "fact pacemaker: now required",
        "fact limb: derived case 1 ('site = palms' gives arm) dropped",
        "protocol dexa-tendon: no longer requires electrode_area",
    ):
        assert expected in words, expected
    assert all(m.line is not None and m.where.startswith(m.file + ":") for m in mutants)
    assert len({(m.file, m.path, repr(m.value)) for m in mutants}) == len(mutants)


def test_a_mutant_is_one_edit_and_leaves_the_original_alone(tmp_path):
    folder = rules_folder(tmp_path)
    documents, _ = load_documents(folder)
    before = json.dumps(documents, sort_keys=True, default=str)
    course = read_course(folder)
    mutant = next(m for m in generate(documents)
                  if m.words == "protocol tap-water: maximum dose 600 mA·min doubled to "
                  "1200 mA·min")
    source = read_documents(apply(documents, mutant), folder, course).source
    assert source is not None
    max_dose = RuleSet(source).protocols[0].max_dose
    assert max_dose is not None and max_dose.m_as("mA*min") == 1200
    assert json.dumps(documents, sort_keys=True, default=str) == before
    assert mutant.where == f"protocols.yaml:{_line(folder / 'protocols.yaml', 'max_dose')}"


def test_a_mutant_that_does_not_load_is_invalid_and_left_out_of_the_score(weak):
    assert status_of(weak, "drug lido: valence 1 lowered to 0") is Status.INVALID
    killed = weak.count(Status.KILLED, Status.CRASHED)
    judged = len(weak.results) - weak.count(Status.INVALID, Status.EQUIVALENT)
    assert weak.count(Status.INVALID) >= 1
    assert weak.score == pytest.approx(100 * killed / judged)
    assert f"{weak.count(Status.INVALID)} invalid (do not load)" in weak.render()


SURVIVORS = (
    "rule pacemaker: severity absolute changed to relative",
    "protocol tap-water: maximum dose 600 mA·min doubled to 1200 mA·min",
    "protocol tap-water: duration 20 min doubled to 40 min",
)


def test_weak_vignettes_leave_named_survivors_and_strong_ones_kill_them(weak, tmp_path):
    text = weak.render()
    for words in SURVIVORS:
        assert status_of(weak, words) is Status.SURVIVED
        line = next(x for x in text.splitlines() if words in x)
        assert " — no vignette noticed; fictional patient " in line
        assert line.lstrip().split("  ")[0].split(":")[0] in ("contraindications.yaml",
                                                              "protocols.yaml")
    assert "protocols.yaml:" in text and "mutation score: " in text
    strong = run(rules_folder(tmp_path, STRONG_CASES))
    for words in SURVIVORS:
        assert status_of(strong, words) is Status.KILLED
    assert strong.score > weak.score


def test_a_dominated_limit_doubled_is_equivalent(weak):
    # max_current 30 mA lies above the current range's 20 mA: doubling it changes nothing.
    doubled = "protocol tap-water: maximum current 30 mA doubled to 60 mA"
    assert status_of(weak, doubled) is Status.EQUIVALENT
    assert status_of(weak, "protocol tap-water: maximum current 30 mA halved to 15 mA") \
        is Status.SURVIVED
    text = weak.render()
    assert f"equivalent on {PATIENTS} fictional patients (not a proof):" in text
    assert f"{doubled} — equivalent on {PATIENTS} fictional patients" in text


def test_the_results_are_the_same_with_two_workers(weak, tmp_path):
    def said(report: MutationReport) -> list[tuple[str, Status, str]]:
        return [(r.mutant.where, r.status, r.detail) for r in report.results]

    assert said(run(weak.folder, jobs=2)) == said(weak)


def test_failing_vignettes_stop_before_any_mutant(tmp_path):
    failing = WEAK_CASES.replace("{decision: eligible}", "{decision: not_eligible}")
    report = run(rules_folder(tmp_path, failing))
    assert report.results == () and [f.case.id for f in report.failures] == ["clear-palms"]
    assert report.render().startswith("1 of 1 vignettes fail on the unmutated rules")


def test_cli_prints_the_score_and_fails_below_the_minimum(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mutants, "PATIENTS", PATIENTS)
    folder = rules_folder(tmp_path)
    assert main(["test", str(folder), "--mutants", "--min-score", "100"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "mutation score: " in out and "is below the minimum 100%" in out
    assert main(["test", str(folder), "--mutants", "--min-score", "1", "--jobs", "2"]) == EXIT_OK
    assert "mutation score: " in capsys.readouterr().out


def test_cli_without_mutants_is_the_plain_test_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mutants, "PATIENTS", PATIENTS)
    folder = rules_folder(tmp_path, STRONG_CASES)
    code = main(["test", str(folder)])
    out = capsys.readouterr().out
    assert "PASS  clear-palms" in out and "mutation" not in out
    assert code == EXIT_FAILED  # coverage: the tiny vignettes leave rules unfired
    assert main(["test", str(folder), "--jobs", "2"]) == EXIT_INVALID
    assert "--min-score and --jobs go with --mutants" in capsys.readouterr().err
    failing = WEAK_CASES.replace("{decision: eligible}", "{decision: not_eligible}")
    other = rules_folder(tmp_path / "failing", failing)
    assert main(["test", str(other), "--mutants"]) == EXIT_FAILED
    assert "fail on the unmutated rules" in capsys.readouterr().out


def test_packaged_rules_smoke():
    """The packaged rules (whatever they hold today): mutants are made, run and scored. Only
    the vignettes that pass on the unmutated rules are used, so a vignette being rewritten
    does not stop the smoke test."""
    rs = load_ruleset()
    cases, errors = read_cases(Path(rs.source.directory) / "cases")
    assert errors == []
    passing = [c for c in cases if run_case(c, rs).passed]
    assert passing
    report = mutation_test(None, fictional_cohort, jobs=2, patients=300, cases=passing)
    assert report.failures == () and len(report.results) > 100
    assert report.count(Status.KILLED) > 0
    assert report.count(Status.TIMED_OUT) == 0
    summary = report.render().splitlines()
    assert summary[2].startswith(f"mutation score: {report.score:.1f}%")


def _line(path: Path, needle: str) -> int:
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text)

