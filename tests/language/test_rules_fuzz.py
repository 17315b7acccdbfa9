"""Rule files fuzzed line by line: lint reports every mistake and never crashes or hangs, and a
rule set that loads assesses a patient or refuses with the package's own error (issue 11)."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from helpers import RULES, patient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_cds import assess
from ionto_cds.analysis.lint import lint_warnings
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError
from ionto_cds.language.loader import read_rules

FILES = ("facts.yaml", "contraindications.yaml", "drugs.yaml", "protocols.yaml",
         "references.yaml")
TEXTS = {f: (RULES / f).read_text(encoding="utf-8").splitlines() for f in FILES}
VALUES = ("~", "{}", "[]", "0", "-1", "''", "null", "true", "x", "{a: 1}", "[1, 2]", "-20 min",
          "0 mA", "1e400", "9**9**9 mA", "&a x", "*a", "!!str 1", "'\\0'", "010", "1:30",
          "{fact: age, lt: -1 year}", "[pacemaker]", "\"" + "9" * 400 + "\"")


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, list[str]]:
    file = draw(st.sampled_from(FILES))
    lines = list(TEXTS[file])
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(("value", "drop", "repeat", "squeeze")))
        if how == "value" and ":" in lines[k]:
            lines[k] = lines[k].split(":", 1)[0] + ": " + draw(st.sampled_from(VALUES))
        elif how == "drop":
            lines.pop(k)
        elif how == "repeat":
            lines.insert(k, lines[draw(st.integers(0, len(lines) - 1))])
        else:
            lines[k] = lines[k].replace(" ", "", 1)
    return file, lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(edits())
def test_lint_survives_any_edited_rule_file(tmp_path: Path, edit: tuple[str, list[str]]) -> None:
    file, lines = edit
    folder = tmp_path / "rules"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(RULES, folder)
    (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    report = read_rules(folder)
    assert all(str(e).startswith(str(folder)) for e in report.errors)
    if report.source is not None:
        lint_warnings(report.source)
        with contextlib.suppress(IontoError):
            assess(patient(), RuleSet(report.source))
    assert time.perf_counter() - start < 20
