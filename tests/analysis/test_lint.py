"""Static lint warnings on rules that load: never-firing rules, repeats, protocol ties."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import LIMITS_YAML, RULES, protocol_yaml, rule_yaml, tiny_rules

from ionto_cds.analysis.lint import lint_warnings
from ionto_cds.language.loader import read_rules

UNCITED = "is cited by no rule, drug or protocol"


def _warnings(folder: Path, uncited: bool = False) -> list[str]:
    """Lint warnings (the uncited-reference ones only when asked for)."""
    report = read_rules(folder)
    assert report.errors == [], [str(e) for e in report.errors]
    assert report.source is not None
    return [str(w) for w in lint_warnings(report.source) if uncited or UNCITED not in str(w)]


def _line(folder: Path, file: str, needle: str) -> int:
    for n, line in enumerate((folder / file).read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_packaged_rules_have_no_warnings():
    assert _warnings(Path(__file__).resolve().parents[2] / "rules", uncited=True) == []


def test_reference_cited_by_nothing(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml("pacemaker-x", "{fact: pacemaker, is: true}"))
    shutil.copy(RULES / "references.yaml", folder / "references.yaml")  # every reference
    found = [w for w in _warnings(folder, uncited=True) if UNCITED in w]
    line = _line(folder, "references.yaml", "  newcastle-nhs:")
    assert f"{folder / 'references.yaml'}:{line}: reference 'newcastle-nhs' {UNCITED}: cite it " \
        "where it is used, or remove it" in found
    assert not any("'saalmann-faq'" in w for w in found)  # cited by the rule


def test_rule_that_can_never_fire(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml(
        "impossible-age", "{all: [{fact: age, lt: 6 year}, {fact: age, gt: 10 year}]}"))
    line = _line(folder, "contraindications.yaml", "- id: impossible-age")
    assert _warnings(folder) == [
        f"{folder / 'contraindications.yaml'}:{line}: rule 'impossible-age' can never fire: its "
        "condition is false for every possible answer (contradictory parts, or a question that "
        "does not apply)"]


def test_rule_on_a_question_that_never_applies_can_never_fire(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml(
        "pregnant-man", "{all: [{fact: sex, eq: male}, {fact: pregnant, is: true}]}"))
    assert len(_warnings(folder)) == 1
    assert "rule 'pregnant-man' can never fire" in _warnings(folder)[0]


def test_rule_that_can_fire_gives_no_warning(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml(
        "young-palms", "{all: [{fact: age, lt: 14 year}, {fact: site, in: [palms, soles]}]}"))
    assert _warnings(folder) == []


def test_always_true_condition(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml(
        "everyone", "{any: [{fact: pacemaker, is: true}, {fact: pacemaker, is: false}]}"))
    assert [w.split(": ", 1)[1] for w in _warnings(folder)] == [
        "rule 'everyone' fires for every answered patient: its condition is always true"]


def test_duplicate_condition_parts(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml(
        "twice", "\n      all:\n        - {fact: epilepsy, is: true}\n"
        "        - {fact: age, lt: 18 year}\n        - {fact: epilepsy, is: true}"))
    line = _line(folder, "contraindications.yaml", "- {fact: epilepsy, is: true}") + 2
    assert _warnings(folder) == [
        f"{folder / 'contraindications.yaml'}:{line}: rule 'twice' repeats a part of its "
        "condition; remove the copy"]


def test_two_rules_with_the_same_condition_and_scope(tmp_path):
    folder = tiny_rules(tmp_path, rule_yaml("first", "{fact: epilepsy, is: true}")
                        + rule_yaml("second", "{fact: epilepsy, is: true}"))
    line = _line(folder, "contraindications.yaml", "- id: second")
    assert _warnings(folder) == [
        f"{folder / 'contraindications.yaml'}:{line}: rule 'second' has the same condition and "
        "scope as rule 'first': merge them or make them differ"]


def test_overlapping_protocols_with_equal_priority(tmp_path):
    protocols = LIMITS_YAML + protocol_yaml(
        "palms-a", "{fact: site, in: [palms, soles]}", priority=100) + protocol_yaml(
        "palms-b", "{fact: site, eq: palms}", priority=100)
    folder = tiny_rules(tmp_path, rule_yaml("pm", "{fact: pacemaker, is: true}"), protocols)
    path = folder / "protocols.yaml"
    warnings = _warnings(folder)
    assert (f"{path}:{_line(folder, 'protocols.yaml', '- id: palms-a')}: protocols 'palms-a' and "
            "'palms-b' overlap with the same priority 100: the file order decides; give them "
            "different priorities") in warnings


def test_disjoint_protocols_with_equal_priority_are_fine(tmp_path):
    protocols = LIMITS_YAML + protocol_yaml(
        "palms", "{fact: site, eq: palms}", priority=100) + protocol_yaml(
        "soles", "{fact: site, eq: soles}", priority=100)
    folder = tiny_rules(tmp_path, rule_yaml("pm", "{fact: pacemaker, is: true}"), protocols)
    assert _warnings(folder) == []


def test_unreachable_protocol(tmp_path):
    protocols = LIMITS_YAML + protocol_yaml(
        "hands-and-feet", "{fact: site, in: [palms, soles]}", priority=100) + protocol_yaml(
        "hands-only", "{fact: site, eq: palms}", priority=50)
    folder = tiny_rules(tmp_path, rule_yaml("pm", "{fact: pacemaker, is: true}"), protocols)
    line = _line(folder, "protocols.yaml", "- id: hands-only")
    assert _warnings(folder) == [
        f"{folder / 'protocols.yaml'}:{line}: protocol 'hands-only' is unreachable: a "
        "higher-priority protocol always comes first, or its condition can never be true"]
