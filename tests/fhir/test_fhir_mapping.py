"""rules/fhir/mapping.yaml: read strictly, checked against the catalog, covered by lint."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from helpers import REPO, RULES

from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.errors import RuleSetError
from ionto_cds.language.fhir_mapping import Verdict
from ionto_cds.language.read_fhir_mapping import load_fhir_mapping, read_fhir_mapping

CATALOG = default_ruleset().catalog
MAPPING_PATH = RULES / "fhir" / "mapping.yaml"


def test_packaged_mapping_reads_without_errors_and_every_code_has_a_display():
    mapping, errors = read_fhir_mapping(MAPPING_PATH, CATALOG)
    assert errors == []
    assert mapping is not None
    assert all(e.display and e.code for e in mapping.codes)
    assert set(mapping.systems.values()) >= {"http://snomed.info/sct", "http://loinc.org"}


def test_status_verdicts():
    mapping = load_fhir_mapping(MAPPING_PATH, CATALOG)
    assert mapping.verdict("Condition", {"clinicalStatus": "active",
                                         "verificationStatus": "confirmed"}) is Verdict.COUNTS
    assert mapping.verdict("Condition", {"clinicalStatus": "resolved",
                                         "verificationStatus": "confirmed"}) is Verdict.ASK
    assert mapping.verdict("Condition", {"clinicalStatus": "resolved",
                                         "verificationStatus": "refuted"}) is Verdict.IGNORED
    assert mapping.verdict("Device", {"status": None}) is Verdict.COUNTS
    assert mapping.verdict("Device", {"status": "entered-in-error"}) is Verdict.IGNORED


def _broken(tmp_path, old: str, new: str):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    path = folder / "fhir" / "mapping.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder, path


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  pacemaker:\n", "  pacemakr:\n", "unknown fact 'pacemakr' (did you mean 'pacemaker'?)"),
    ("  epilepsy:\n", "  age:\n", "fact 'age' is a quantity: only bool facts can be read here"),
    ('system: sct, code: "84757009"', 'system: snomed, code: "84757009"',
     "unknown system 'snomed'"),
    ('code: "84757009", display', 'code: "84757009", match: prefix, display',
     "'match: prefix' is for ICD-10 categories only"),
    ("site: soles}", "site: sole}", "'site' cannot be 'sole' (did you mean 'soles'?)"),
    ("      ask: [inactive]\n", "      ask: [inactive]\n      missed: ask\n",
     "unknown key 'missed' in Device.status (did you mean 'missing'?)"),
])
def test_mistakes_are_reported_with_file_and_line(tmp_path, old, new, message):
    _, path = _broken(tmp_path, old, new)
    mapping, errors = read_fhir_mapping(path, CATALOG)
    assert mapping is None
    (error,) = [e for e in errors if message in e.message]
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if new.strip().split("\n")[-1].strip()[:12] in text)
    assert error.location.file == str(path)
    assert abs((error.location.line or 0) - line) <= 1
    with pytest.raises(RuleSetError):
        load_fhir_mapping(path, CATALOG)


def test_duplicate_key_is_refused_by_the_strict_yaml_layer(tmp_path):
    _, path = _broken(tmp_path, "  myasthenia_gravis:\n", "  pacemaker:\n")
    mapping, errors = read_fhir_mapping(path, CATALOG)
    assert mapping is None
    assert "duplicate key 'pacemaker'" in str(errors[0])


def test_lint_covers_the_mapping(tmp_path):
    folder, path = _broken(tmp_path, "  pacemaker:\n", "  pacemakr:\n")
    done = subprocess.run([sys.executable, "-m", "ionto_cds.cli", "lint", str(folder)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert f"{path}:" in done.stderr and "unknown fact 'pacemakr'" in done.stderr


def test_docs_mapping_table_is_generated_from_the_yaml():
    from ionto_cds.fhir.doc import END, START, mapping_markdown, rewrite

    doc = REPO / "docs" / "fhir.md"
    mapping = load_fhir_mapping(MAPPING_PATH, CATALOG)
    assert rewrite(doc, mapping) == doc.read_text(encoding="utf-8"), (
        "docs/fhir.md is out of date: run python -m ionto_cds.fhir.doc docs/fhir.md")
    table = mapping_markdown(mapping)
    assert all(f"`{e.code}`" in table for e in mapping.codes)
    assert START in doc.read_text() and END in doc.read_text()


def test_lint_wants_the_mapping_version_to_be_the_rules_version(tmp_path):
    folder, path = _broken(tmp_path, 'version: "2026.1"', 'version: "2025.9"')
    done = subprocess.run([sys.executable, "-m", "ionto_cds.cli", "lint", str(folder)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert f"{path}: version '2025.9' differs from the rules' ('2026.1')" in done.stderr
