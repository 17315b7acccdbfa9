"""Diff and impact of a rule change: what changed in the knowledge, in clinical words, and what
it does to the vignettes' and (optionally) a cohort's decisions, protocols and doses.

Vignettes are assessed by the engine (:func:`~ionto_cds.engine.assess.assess`) and a cohort by
the frame evaluator, once with each rule set; only their outcomes are compared here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ionto_cds.analysis.cases import Case, read_cases
from ionto_cds.analysis.diff_content import Change, content_changes
from ionto_cds.analysis.diff_outcomes import Impact, Row, impact_of_frames, impact_of_rows
from ionto_cds.engine.assess import assess, assessment_row
from ionto_cds.engine.ruleset import RuleSet, load_ruleset
from ionto_cds.errors import IontoError, RuleSetError
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS

Screen = Callable[[RuleSet], pd.DataFrame]
"""Screens one cohort with a rule set: the good rows with a key column and RESULT_COLUMNS."""


def outcome_row(answers: Mapping[str, object], ruleset: RuleSet) -> Row | None:
    """One patient's outcome under a rule set (None when the rules cannot read the answers)."""
    try:
        a = assess(answers, ruleset)
    except IontoError:
        return None
    return dict(zip(RESULT_COLUMNS, assessment_row(a), strict=True))


def vignettes_of(*folders: Path) -> list[Case]:
    """The vignettes of the rules folders' cases/ (a later folder's case replaces an earlier
    one of the same id)."""
    by_id: dict[str, Case] = {}
    for folder in folders:
        cases_dir = folder / "cases"
        if not cases_dir.is_dir():
            continue
        cases, errors = read_cases(cases_dir)
        if errors:
            raise RuleSetError(errors)
        by_id.update({c.id: c for c in cases})
    return list(by_id.values())


def vignette_impact(cases: Sequence[Case], old: RuleSet, new: RuleSet) -> Impact:
    """Every vignette through both rule sets, its outcomes compared."""
    return impact_of_rows("vignettes", {c.id: outcome_row(c.answers, old) for c in cases},
                          {c.id: outcome_row(c.answers, new) for c in cases})


@dataclass(frozen=True)
class RuleSetDiff:
    """A rule change: the knowledge changed, and the outcomes it moves."""

    old: RuleSet
    new: RuleSet
    content: list[Change]
    vignettes: Impact
    cohort: Impact | None = None

    @property
    def outcomes_changed(self) -> bool:
        """True when any vignette's or cohort patient's outcome moves."""
        return self.vignettes.moved or (self.cohort is not None and self.cohort.moved)

    def render(self, examples: int = 20) -> str:
        """The diff as Markdown: changes by section, then the impact."""
        lines = [f"# Rule change: {self.old.version} → {self.new.version}", "",
                 f"- old: {self.old.source.directory} (sha256 {self.old.sha256[:12]})",
                 f"- new: {self.new.source.directory} (sha256 {self.new.sha256[:12]})", ""]
        lines += content_lines(self.content)
        lines += ["", "## Vignettes", "", *self.vignettes.lines(examples, every_patient=True)]
        if self.cohort is not None:
            lines += ["", "## Cohort", "", *self.cohort.lines(examples, every_patient=False)]
        return "\n".join(lines) + "\n"


def content_lines(changes: Sequence[Change]) -> list[str]:
    """The knowledge changes as Markdown, one section each (only sections with changes)."""
    if not changes:
        return ["## What changed", "", "Nothing in the rules, facts, protocols, drugs, limits or "
                "references (comments and layout do not count)."]
    out = ["## What changed"]
    for section in dict.fromkeys(c.section for c in changes):
        out += ["", f"### {section.capitalize()}", ""]
        out += [c.line() for c in changes if c.section == section]
    return out


def diff_rulesets(old_dir: Path, new_dir: Path, screen: Screen | None = None,
                  key: str = "patient") -> RuleSetDiff:
    """Load both folders, list what changed, run the vignettes (of both folders' cases/) and,
    given ``screen``, a cohort through both rule sets (rows matched on ``key``)."""
    old, new = load_ruleset(old_dir), load_ruleset(new_dir)
    content = content_changes(old.source, new.source)
    vignettes = vignette_impact(vignettes_of(old_dir, new_dir), old, new)
    cohort = None
    if screen is not None:
        cohort = impact_of_frames("cohort rows", screen(old), screen(new), key)
    return RuleSetDiff(old, new, content, vignettes, cohort)
