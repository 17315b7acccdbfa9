"""The patient leaflet: its words file is checked like a rule file, and it follows the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ionto_cds import assess, load_ruleset
from ionto_cds.analysis.cases import read_cases
from ionto_cds.errors import RuleSetError, UsageError
from ionto_cds.language.leaflet import read_leaflet
from ionto_cds.language.packaged import packaged_rules_dir
from ionto_cds.render.leaflet import leaflet_markdown

ROOT = Path(__file__).resolve().parents[2]
PALMAR = yaml.safe_load((ROOT / "examples" / "palmar-adult.yaml").read_text())
SHIPPED = (packaged_rules_dir() / "leaflet" / "leaflet.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rs() -> Any:
    return load_ruleset()


def test_the_shipped_leaflet_reads_and_cites_known_sources(rs: Any) -> None:
    words = read_leaflet(rs.references)
    assert words.title and words.intro.references
    assert set(words.responses) == {"expected", "reduce_frequency", "lower_current", "pause",
                                    "stop"}


@pytest.mark.parametrize("edit, message", [
    (("references: [bad-leaflet, newcastle-nhs]", "references: [no-such-source]"),
     "unknown reference 'no-such-source'"),
    (("  stop: >-", "  halt: >-"), "unknown response 'halt'"),
    (("  tap_water:", "  tapwater:"), "unknown group 'tapwater'"),
    (("closing: >-", "closing_words: >-"), "unknown key 'closing_words'"),
    (("references: [doncaster-leaflet]", "references: []"), "name at least one source"),
])
def test_a_mistake_in_the_leaflet_is_an_error_with_file_and_line(
        rs: Any, tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    path = tmp_path / "leaflet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        read_leaflet(rs.references, path)
    said = str(caught.value)
    assert message in said
    line = next(i for i, row in enumerate(text.splitlines(), 1) if new.strip() in row)
    assert f"leaflet.yaml:{line}" in said or "leaflet.yaml:" in said


def test_glycopyrronium_leaflet_says_stop_for_the_anticholinergic_effects(rs: Any) -> None:
    cases, _errors = read_cases(packaged_rules_dir() / "cases")
    case = next(c for c in cases if c.id == "glycopyrronium-moderate-renal-impairment")
    a = assess(case.answers, rs)
    assert a.protocol is not None and a.protocol.protocol.id == "glycopyrronium-palmoplantar"
    text = " ".join(leaflet_markdown(a).split())
    words = read_leaflet(rs.references)
    report = text.split("## Tell us about these")[1].split("##")[0]
    assert "**Blurred vision" in report
    assert words.responses["stop"] in report
    assert "At least 7 days between sessions." in text  # the protocol's minimum interval
    for paragraph in words.during["drug_assisted"]:
        assert paragraph.text in text
    for paragraph in words.during["tap_water"]:
        assert paragraph.text not in text  # no water trays for a drug on a pad


def test_no_leaflet_for_a_patient_who_is_not_to_be_treated(rs: Any) -> None:
    with pytest.raises(UsageError, match="no treatment plan"):
        leaflet_markdown(assess({**PALMAR, "pacemaker": True}, rs))
