"""Cohort screening: validate, assess the good rows in one pass, count, write the results.

Files are screened in chunks (pandas) or as Parquet partitions on a Dask cluster
(:mod:`.distributed`); bad cells go to an error table and their rows to a quarantine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.cohort.reader import check_parquet_folder as check_parquet_folder
from ionto_cds.cohort.reader import read_cohort as read_cohort
from ionto_cds.cohort.validate import SchemaVerdicts, validate_cohort
from ionto_cds.engine.assess import evaluate_frame
from ionto_cds.engine.ruleset import RuleSet, default_ruleset, load_ruleset
from ionto_cds.evaluation.frame import distinct_values
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS
from ionto_cds.evaluation.frame_text import SEPARATOR

T = TypeVar("T")


@dataclass
class ScreenSummary:
    """Counts over a screened cohort (adds up across chunks and partitions)."""

    rows: int = 0
    screened: int = 0
    quarantined: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    protocols: Counter[str] = field(default_factory=Counter)
    referrals: Counter[str] = field(default_factory=Counter)
    decision_protocols: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Patients by (decision, planned protocol; "" for none)."""

    def add(self, other: ScreenSummary) -> None:
        """Add another chunk's counts."""
        self.rows += other.rows
        self.screened += other.screened
        self.quarantined += other.quarantined
        self.decisions.update(other.decisions)
        self.findings.update(other.findings)
        self.protocols.update(other.protocols)
        self.referrals.update(other.referrals)
        self.decision_protocols.update(other.decision_protocols)

    def render(self, top: int = 10) -> str:
        """The summary printed by `ionto-cds screen`."""
        lines = [f"{self.rows} rows: {self.screened} screened, {self.quarantined} quarantined"]
        lines.append("decisions:")
        lines += [f"  {name:<28}{count:>10}" for name, count in self.decisions.most_common()]
        lines.append(f"most frequent findings (top {top}):")
        lines += [f"  {name:<40}{count:>10}" for name, count in self.findings.most_common(top)]
        lines.append("protocols:")
        lines += [f"  {name or '(none)':<40}{count:>10}"
                  for name, count in self.protocols.most_common()]
        if self.referrals:
            lines.append("referrals (decision refer):")
            lines += [f"  {name:<40}{count:>10}" for name, count in self.referrals.most_common()]
        return "\n".join(lines)


def _named(column: pd.Series) -> tuple[npt.NDArray[np.intp], list[str]]:
    """A code per row and the text of each code, "" (code 0) for none."""
    codes, texts = distinct_values(column)
    return codes.astype(np.intp) + 1, ["", *map(str, texts)]


def _tally(codes: npt.NDArray[np.intp], names: Sequence[T]) -> Counter[T]:
    """How many rows have each code, by name (codes that share a name added up)."""
    counts = np.bincount(codes, minlength=len(names))
    found: Counter[T] = Counter()
    for k in np.flatnonzero(counts).tolist():
        found[names[k]] += int(counts[k])
    return found


def _counts(column: pd.Series) -> Counter[str]:
    """How many rows hold each text (none counts as ""; unused categories left out)."""
    return _tally(*_named(column))


def _pairs(first: pd.Series, second: pd.Series) -> Counter[tuple[str, str]]:
    """How many rows hold each pair of texts (none counts as "")."""
    (a, a_names), (b, b_names) = _named(first), _named(second)
    return _tally(a * len(b_names) + b, [(x, y) for x in a_names for y in b_names])


def summarise(results: pd.DataFrame, rows: int, quarantined: int) -> ScreenSummary:
    """Counts of decisions, findings and protocols in screened results."""
    summary = ScreenSummary(rows=rows, screened=len(results), quarantined=quarantined)
    summary.decisions.update(_counts(results["decision"]))
    summary.protocols.update(_counts(results["protocol"]))
    summary.decision_protocols.update(_pairs(results["decision"], results["protocol"]))
    if "referral" in results:
        summary.referrals.update({k: n for k, n in _counts(results["referral"]).items() if k})
    summary.findings.update(_listed(results["findings"]))
    return summary


def _listed(column: pd.Series) -> dict[str, int]:
    """How many rows list each id of a ``;``-separated text column (in C loops: pyarrow)."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    codes, texts = distinct_values(column)  # a categorical's own: no Python string made
    rows = np.bincount(codes[codes >= 0], minlength=len(texts))
    lists = pc.split_pattern(pa.array(texts, pa.string(), from_pandas=True), SEPARATOR)
    ids = pc.dictionary_encode(pc.list_flatten(lists))
    totals = np.bincount(ids.indices.to_numpy(), minlength=len(ids.dictionary),
                         weights=rows[pc.list_parent_indices(lists).to_numpy()])
    return {name: int(n) for name, n in zip(ids.dictionary.to_pylist(), totals.tolist(),
                                            strict=True) if name and n}


@dataclass
class ScreenedChunk:
    """One screened piece of a cohort: output rows, problems, quarantine and counts."""

    output: pd.DataFrame
    problems: pd.DataFrame
    quarantine: pd.DataFrame
    summary: ScreenSummary


def screen_frame(raw: pd.DataFrame, ruleset: RuleSet, source: str = "cohort",
                 first_row: int = 1, verdicts: SchemaVerdicts | None = None) -> ScreenedChunk:
    """Validate a raw cohort frame and screen its good rows (input columns + results);
    ``verdicts`` carries the schema's verdicts across the chunks of one file."""
    checked = validate_cohort(raw, ruleset.program, source, first_row, verdicts)
    results = evaluate_frame(checked.canonical, ruleset)
    # every row good: the input's columns as they are (pandas copies them only if written)
    output = (raw.reset_index(drop=True) if checked.good.all() else
              raw.loc[checked.good].reset_index(drop=True))
    for name in RESULT_COLUMNS:
        output[name] = results[name].array  # categorical: each distinct text stored once
    summary = summarise(output, len(raw), int((~checked.good).sum()))
    return ScreenedChunk(output, checked.problems, checked.quarantine, summary)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix."""
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def ruleset_for(rules: str | None) -> RuleSet:
    """The rule set of a rules folder (loaded once per process), or the packaged one."""
    return _cached_ruleset(rules) if rules else default_ruleset()


_RULESETS: dict[str, RuleSet] = {}


def _cached_ruleset(rules: str) -> RuleSet:
    if rules not in _RULESETS:
        _RULESETS[rules] = load_ruleset(rules)
    return _RULESETS[rules]


def write_part(chunk: ScreenedChunk, folder: Path, index: int, out_suffix: str
                ) -> tuple[Path, Path | None, Path | None]:
    out = folder / f"out-{index:06d}{out_suffix}"
    write_table(chunk.output, out)
    errors = quarantine = None
    if len(chunk.problems):
        errors = folder / f"errors-{index:06d}.csv"
        chunk.problems.to_csv(errors, index=False)
        quarantine = folder / f"quarantine-{index:06d}.csv"
        chunk.quarantine.to_csv(quarantine, index=False)
    return out, errors, quarantine
