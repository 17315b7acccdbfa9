"""Cohort screening: validate, assess the good rows in one pass, count, write the results.

Files are screened in chunks (pandas) or as Parquet partitions on a Dask cluster
(:mod:`.distributed`); bad cells go to an error table and their rows to a quarantine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow import ArrowException  # type: ignore[import-untyped]

from ionto_cds.cohort.validate import validate_cohort
from ionto_cds.engine.assess import evaluate_frame
from ionto_cds.engine.ruleset import RuleSet, default_ruleset, load_ruleset
from ionto_cds.errors import InputFileError, quote
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS
from ionto_cds.evaluation.frame_text import SEPARATOR


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

    def add(self, other: ScreenSummary) -> None:
        """Add another chunk's counts."""
        self.rows += other.rows
        self.screened += other.screened
        self.quarantined += other.quarantined
        self.decisions.update(other.decisions)
        self.findings.update(other.findings)
        self.protocols.update(other.protocols)
        self.referrals.update(other.referrals)

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


def summarise(results: pd.DataFrame, rows: int, quarantined: int) -> ScreenSummary:
    """Counts of decisions, findings and protocols in screened results."""
    summary = ScreenSummary(rows=rows, screened=len(results), quarantined=quarantined)
    summary.decisions.update(results["decision"].value_counts().to_dict())
    summary.protocols.update(results["protocol"].value_counts().to_dict())
    if "referral" in results:
        referred = results["referral"]
        summary.referrals.update(referred[referred != ""].value_counts().to_dict())
    for text, count in results["findings"].value_counts().items():
        for rule in str(text).split(SEPARATOR):
            if rule:
                summary.findings[rule] += int(count)
    return summary


@dataclass
class ScreenedChunk:
    """One screened piece of a cohort: output rows, problems, quarantine and counts."""

    output: pd.DataFrame
    problems: pd.DataFrame
    quarantine: pd.DataFrame
    summary: ScreenSummary


def screen_frame(raw: pd.DataFrame, ruleset: RuleSet, source: str = "cohort",
                 first_row: int = 1) -> ScreenedChunk:
    """Validate a raw cohort frame and screen its good rows (input columns + results)."""
    checked = validate_cohort(raw, ruleset.program, source, first_row)
    results = evaluate_frame(checked.canonical, ruleset)
    output = raw.loc[checked.good].reset_index(drop=True)
    for name in RESULT_COLUMNS:
        output[name] = results[name].to_numpy()
    summary = summarise(output, len(raw), int((~checked.good).sum()))
    return ScreenedChunk(output, checked.problems, checked.quarantine, summary)


def read_cohort(path: Path) -> pd.DataFrame:
    """Read a cohort CSV (every cell as text; empty = unknown) or Parquet file."""
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            _check_csv_shape(path)
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                               skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise InputFileError(str(path), "the file is empty: write a header row of fact "
                                 "names") from None
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputFileError(str(path), f"not a readable CSV file ({exc})") from None
    if suffix in (".parquet", ".pq") or path.is_dir():
        try:
            return _parquet_frame(path)
        except (OSError, ValueError, TypeError, ArrowException) as exc:
            if isinstance(exc, InputFileError):
                raise
            raise InputFileError(str(path), f"not a readable Parquet file ({exc})") from None
    raise InputFileError(str(path), "expected a .csv or .parquet cohort file")


def check_parquet_folder(path: Path) -> None:
    """A folder of Parquet parts must hold only Parquet files that share one set of columns
    of one kind each; else the parts would be screened against different questions."""
    if not path.is_dir():
        return
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    strangers = [p.name for p in files if p.suffix.lower() not in (".parquet", ".pq")]
    if strangers:
        raise InputFileError(str(path), "the folder holds files that are not Parquet: "
                             + ", ".join(quote(n) for n in strangers[:3]) + ": move them out")
    if not files:
        raise InputFileError(str(path), "the folder holds no Parquet file")
    first = pq.read_schema(files[0])
    for other in files[1:]:
        schema = pq.read_schema(other)
        missing = [n for n in first.names if n not in schema.names]
        extra = [n for n in schema.names if n not in first.names]
        kinds = [n for n in first.names if n in schema.names
                 and not _same_kind(first.field(n).type, schema.field(n).type)]
        if missing or extra or kinds:
            said = ([f"lacks {', '.join(quote(n) for n in missing[:3])}"] if missing else []) \
                + ([f"adds {', '.join(quote(n) for n in extra[:3])}"] if extra else []) \
                + ([f"holds another kind of value in {', '.join(quote(n) for n in kinds[:3])}"]
                   if kinds else [])
            raise InputFileError(str(path), f"the parts do not share one set of columns: "
                                 f"{other.name} {'; '.join(said)} (compared with "
                                 f"{files[0].name}): write every part with the same columns")


def _same_kind(a: object, b: object) -> bool:
    import pyarrow as pa

    def kind(t: object) -> str:
        if isinstance(t, pa.DictionaryType):
            t = t.value_type
        return ("text" if pa.types.is_string(t) or pa.types.is_large_string(t) else
                "number" if pa.types.is_integer(t) or pa.types.is_floating(t) else
                "null" if pa.types.is_null(t) else str(t))

    ka, kb = kind(a), kind(b)
    return ka == kb or "null" in (ka, kb)


def _parquet_frame(path: Path) -> pd.DataFrame:
    """A Parquet file (or folder of parts) as a frame, its column types checked: one text,
    number or yes/no value per cell. Unsigned 64-bit numbers are read as text (then range-checked
    like any cell); lists, structures and binary columns are refused by name."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.parquet as pq

    check_parquet_folder(path)
    table = pq.read_table(path)
    for i, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_uint64(kind):
            table = table.set_column(i, column.name, pc.cast(table.column(i), pa.string()))
        elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                  or pa.types.is_integer(kind) or pa.types.is_floating(kind)
                  or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            held = ("lists" if pa.types.is_list(kind) or pa.types.is_large_list(kind) else
                    "nested records" if pa.types.is_struct(kind) else
                    "binary data" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                    else "dates or times" if pa.types.is_temporal(kind) else "values of another "
                    "kind")
            raise InputFileError(str(path), f"column {quote(column.name)} holds {held}: write "
                                 "one text, number or yes/no value per cell (a list as text "
                                 "separated by ';')")
    return table.to_pandas()


def _check_csv_shape(path: Path, shown: int = 3) -> None:
    """Refuse a CSV whose rows do not match its header (a trailing separator, a missing or
    extra cell, a blank line between rows), whose header repeats a column, or that cannot be
    read as CSV: read as it is, such a file shifts or drops patients silently."""
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        try:
            width, bad = _misfits(reader, path, shown)
        except csv.Error as exc:
            raise InputFileError(str(path), f"line {reader.line_num}: not readable as CSV "
                                 f"({exc}): a cell over {csv.field_size_limit():,} characters, "
                                 "or a stray quote") from None
    if bad:
        more = f", and {len(bad) - shown} more" if len(bad) > shown else ""
        raise InputFileError(str(path), f"rows do not match the header's {width} columns: "
                             + "; ".join(bad[:shown]) + more
                             + ": give every row one cell per column")


def _misfits(reader: Any, path: Path, shown: int) -> tuple[int, list[str]]:
    """The header's width and the rows that do not fit it; a repeated column is refused."""
    header = next(reader, None)
    if header is None:
        return 0, []
    repeated = sorted({c.strip() for c in header if header.count(c) > 1})
    if repeated:
        raise InputFileError(str(path), "the header names a column twice: "
                             + ", ".join(quote(c) for c in repeated[:shown]))
    bad: list[str] = []
    blank_run: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row) and len(row) <= 1:
            blank_run.append(line)  # blank: an error only when a data row follows
            continue
        bad += [f"line {n} is blank" for n in blank_run]
        blank_run = []
        if len(row) != len(header):
            trailing = len(row) == len(header) + 1 and not row[-1].strip()
            bad.append(f"line {line} has {len(row)} cells"
                       + (" (a separator at the end?)" if trailing else ""))
    return len(header), bad


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
