"""Cohort screening: a pandera schema generated from the fact catalog, lazy cell-by-cell
validation with an error table and a quarantine, and batch assessment of the good rows.

A cohort is a table with one column per fact (named as in rules/facts.yaml; an optional
``patient_id`` column is carried through). Quantity columns take bare numbers in the fact's
default unit or text with units ("62 kg"); a header may name the unit of its bare numbers, as
in ``age[year]`` or ``weight[lb]``. Booleans are true/false (yes/no), lists are ``;``-separated
keys ("none" for none); an empty cell is unknown. Cells are parsed by the same
:meth:`FactDef.normalise` as single answers, so one patient gives the same result either way.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa

from ionto_cds.errors import InputFileError
from ionto_cds.facts import FactCatalog, FactDef, FactType, suggest
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN
from ionto_cds.language.vectorised import RESULT_COLUMNS, SEPARATOR, encode_facts, evaluate_frame
from ionto_cds.units import Quantity, parse_quantity

ID_COLUMN = "patient_id"
"""The one column that is not a fact: carried through untouched."""

PROBLEM_COLUMNS = ("row", "column", "value", "why")

_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[\s*(.+?)\s*\]\s*$")


# --- the schema ---------------------------------------------------------------------------

def _list_check(fact: FactDef) -> pa.Check:
    allowed = set(fact.values)

    def valid(series: pd.Series) -> pd.Series:
        return series.map(
            lambda text: all(item in allowed for item in str(text).split(SEPARATOR) if item)
        ).astype(bool)

    return pa.Check(valid, error=f"not a ';'-separated list of: {', '.join(fact.values)}")


def column_schema(fact: FactDef) -> pa.Column:
    """The pandera column of one fact in a canonical frame (default units, NA = unknown)."""
    checks: list[pa.Check] = []
    if fact.type in (FactType.INT, FactType.QUANTITY) and (
        fact.minimum is not None or fact.maximum is not None
    ):
        low = fact.minimum if fact.minimum is not None else -np.inf
        high = fact.maximum if fact.maximum is not None else np.inf
        checks.append(pa.Check.in_range(low, high, error=f"out of range ({fact.range_text()})"))
    if fact.type is FactType.ENUM:
        checks.append(pa.Check.isin(list(fact.values),
                                    error=f"not one of: {', '.join(fact.values)}"))
    if fact.type is FactType.LIST:
        checks.append(_list_check(fact))
    dtype: Any = {
        FactType.BOOL: "boolean",
        FactType.INT: "Int64",
        FactType.QUANTITY: "float64",
        FactType.ENUM: str,
        FactType.LIST: str,
    }[fact.type]
    unit = f" [{fact.unit}]" if fact.unit else ""
    return pa.Column(dtype, checks=checks, nullable=True, required=False,
                     title=f"{fact.label}{unit}", description=fact.help)


def cohort_schema(catalog: FactCatalog) -> pa.DataFrameSchema:
    """The schema of a canonical cohort frame, one nullable column per fact of the catalog."""
    columns = {fact.name: column_schema(fact) for fact in catalog}
    columns[ID_COLUMN] = pa.Column(nullable=True, required=False)
    return pa.DataFrameSchema(columns, strict=True, name="cohort")


# --- headers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnSpec:
    """A cohort column: which fact it answers and the unit of its bare numbers."""

    header: str
    fact: str
    unit: str | None


def read_headers(headers: Iterable[object], catalog: FactCatalog, source: str = "cohort"
                 ) -> list[ColumnSpec]:
    """Map headers to facts; raise InputFileError naming every unusable column."""
    problems: list[str] = []
    specs: list[ColumnSpec] = []
    seen: dict[str, str] = {}
    names = [*catalog.facts, ID_COLUMN]
    for header in headers:
        text = str(header)
        match = _HEADER.match(text)
        name, unit = (match.group(1), match.group(2)) if match else (text.strip(), None)
        if name not in catalog and name != ID_COLUMN:
            problems.append(f"unknown column '{text}'{suggest(name, names)}")
            continue
        if unit is not None:
            fact = catalog.facts.get(name)
            if fact is None or fact.type is not FactType.QUANTITY:
                problems.append(f"column '{text}': only quantity facts take a unit in the header")
                continue
            try:
                parse_quantity(f"1 {unit}", fact.unit or "")
            except ValueError as exc:
                problems.append(f"column '{text}': {exc}")
                continue
        if name in seen:
            problems.append(f"columns '{seen[name]}' and '{text}' both answer '{name}'")
            continue
        seen[name] = text
        specs.append(ColumnSpec(text, name, unit))
    if problems:
        raise InputFileError(source, "; ".join(problems))
    return specs


# --- parsing cells --------------------------------------------------------------------------

def _parser(fact: FactDef) -> FactDef:
    """The fact without its range: pandera checks ranges on the canonical frame."""
    return dataclasses.replace(fact, minimum=None, maximum=None)


def _parse_cell(fact: FactDef, unit: str | None, raw: object) -> Any:
    """One raw cell to its canonical value (UNKNOWN when empty), as FactDef.normalise does."""
    if fact.type is FactType.LIST and isinstance(raw, str):
        word = raw.strip().lower()
        if word in ("", "unknown", "null", "none", "na", "n/a", "?"):
            return fact.normalise(raw)
        return fact.normalise([item.strip() for item in raw.split(SEPARATOR) if item.strip()])
    if unit is not None and not isinstance(raw, bool):
        number: float | None = None
        if isinstance(raw, int | float | np.integer | np.floating):
            number = float(raw)
        elif isinstance(raw, str):
            try:
                number = float(raw)
            except ValueError:
                number = None
        if number is not None and np.isfinite(number):
            return fact.normalise(Quantity(number, unit))
    if isinstance(raw, np.generic):
        raw = raw.item()
    return fact.normalise(raw)


@dataclass
class _Parsed:
    values: pd.Series
    bad: npt.NDArray[np.bool_]
    why: dict[int, str] = field(default_factory=dict)


def _canonical(fact: FactDef, value: Any) -> Any:
    if value is UNKNOWN or value is NOT_APPLICABLE:
        return None
    if fact.type is FactType.LIST:
        return SEPARATOR.join(sorted(value))
    return value


_DTYPES: dict[FactType, Any] = {
    FactType.BOOL: "boolean", FactType.INT: "Int64", FactType.QUANTITY: "float64",
    FactType.ENUM: "str", FactType.LIST: "str",
}


def _parse_column(fact: FactDef, unit: str | None, column: pd.Series) -> _Parsed:
    """Parse a whole column: fast paths for typed numbers and booleans, else per distinct cell."""
    parser = _parser(fact)
    n = len(column)
    dtype = column.dtype
    if fact.type is FactType.BOOL and (pd.api.types.is_bool_dtype(dtype)):
        return _Parsed(column.astype("boolean").reset_index(drop=True), np.zeros(n, bool))
    if fact.type is FactType.QUANTITY and pd.api.types.is_numeric_dtype(dtype) and not (
        pd.api.types.is_bool_dtype(dtype)
    ):
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        source = unit or fact.unit or ""
        if source != fact.unit:
            numbers = np.asarray(Quantity(numbers, source).to(fact.unit or "").magnitude,
                                 dtype="float64")
        bad = np.isinf(numbers)
        why = {int(i): _why(parser, unit, column.iloc[int(i)]) for i in np.flatnonzero(bad)}
        numbers = np.where(bad, np.nan, numbers)
        return _Parsed(pd.Series(numbers, dtype="float64"), bad, why)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    parsed: list[Any] = []
    failed = np.zeros(len(uniques) + 1, dtype=bool)
    reasons: dict[int, str] = {}
    for k, raw in enumerate(uniques):
        try:
            parsed.append(_canonical(fact, _parse_cell(parser, unit, raw)))
        except ValueError as exc:
            parsed.append(None)
            failed[k] = True
            reasons[k] = str(exc)
    parsed.append(None)  # the NA sentinel (-1) of factorize: unknown
    table = pd.array(parsed, dtype=_DTYPES[fact.type]) if fact.type is not FactType.ENUM \
        else pd.array(parsed, dtype="str")
    values = pd.Series(table.take(codes, allow_fill=False) if len(codes) else table[:0])
    bad = failed[codes]
    why = {int(i): reasons[int(codes[i])] for i in np.flatnonzero(bad)}
    return _Parsed(values.reset_index(drop=True), bad, why)


def _why(parser: FactDef, unit: str | None, raw: object) -> str:
    try:
        _parse_cell(parser, unit, raw)
    except ValueError as exc:
        return str(exc)
    return "not a finite number"


# --- validation -----------------------------------------------------------------------------

@dataclass
class CohortValidation:
    """The outcome of validating a raw cohort: canonical good rows and every bad cell."""

    raw: pd.DataFrame
    canonical: pd.DataFrame
    good: npt.NDArray[np.bool_]
    problems: pd.DataFrame
    first_row: int = 1

    @property
    def quarantine(self) -> pd.DataFrame:
        """The bad rows as given, with their row number and every reason, never dropped."""
        bad = self.raw.loc[~self.good].copy()
        rows = np.flatnonzero(~self.good) + self.first_row
        reasons = self.problems.groupby("row", sort=False)["why"].agg(
            lambda s: " | ".join(s)) if len(self.problems) else pd.Series(dtype=str)
        columns = self.problems.groupby("row", sort=False)["column"].agg(
            lambda s: ", ".join(s)) if len(self.problems) else pd.Series(dtype=str)
        bad.insert(0, "row", rows)
        bad["bad_columns"] = [columns.get(r, "") for r in rows]
        bad["problems"] = [reasons.get(r, "") for r in rows]
        return bad.reset_index(drop=True)

    def error_table(self, limit: int | None = 50) -> str:
        """Every bad cell as a readable table: row, column, value, why."""
        return problems_table(self.problems, limit)


def problems_table(problems: pd.DataFrame, limit: int | None = 50) -> str:
    """A plain-text table of cell problems (the first ``limit`` of them)."""
    if problems.empty:
        return "no bad cells"
    shown = problems if limit is None else problems.head(limit)
    text: str = shown.astype({"value": str}).to_string(index=False)
    if limit is not None and len(problems) > limit:
        text += f"\n... and {len(problems) - limit} more (see the error CSV)"
    return text


def validate_cohort(raw: pd.DataFrame, catalog: FactCatalog, source: str = "cohort",
                    first_row: int = 1) -> CohortValidation:
    """Parse and validate every cell lazily; collect all problems, keep the good rows.

    ``row`` numbers count data rows from ``first_row`` (1 = the first row under the header).
    Raises InputFileError when a column cannot be used at all (unknown fact, bad header unit).
    """
    specs = read_headers(raw.columns, catalog, source)
    n = len(raw)
    problems: list[tuple[int, str, object, str]] = []
    bad = np.zeros(n, dtype=bool)
    columns: dict[str, pd.Series] = {}
    for spec in specs:
        column = raw[spec.header]
        if spec.fact == ID_COLUMN:
            columns[ID_COLUMN] = column.reset_index(drop=True)
            continue
        parsed = _parse_column(catalog[spec.fact], spec.unit, column)
        columns[spec.fact] = parsed.values
        bad |= parsed.bad
        for i, why in parsed.why.items():
            problems.append((i, spec.header, column.iloc[i], why))
    canonical = pd.DataFrame(columns, index=pd.RangeIndex(n))
    header_of = {spec.fact: spec.header for spec in specs}
    try:
        cohort_schema(catalog).validate(canonical, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for _, case in cases.iterrows():
            index = case["index"]
            if index is None or pd.isna(index):
                continue
            i = int(index)
            fact = str(case["column"])
            bad[i] = True
            problems.append((i, header_of.get(fact, fact), raw[header_of.get(fact, fact)].iloc[i],
                             str(case["check"])))
    problems += _contradictions(canonical, catalog, header_of, raw, bad)
    good_rows = ~bad
    table = pd.DataFrame(
        [(i + first_row, c, v, w) for i, c, v, w in sorted(problems, key=lambda p: p[0])],
        columns=list(PROBLEM_COLUMNS),
    )
    canonical = canonical.loc[good_rows]
    return CohortValidation(raw, canonical, good_rows, table, first_row)


def _contradictions(canonical: pd.DataFrame, catalog: FactCatalog, header_of: Mapping[str, str],
                    raw: pd.DataFrame, bad: npt.NDArray[np.bool_]
                    ) -> list[tuple[int, str, object, str]]:
    """Yes to a question that does not apply (pregnant, for a male patient), as validate()."""
    if not any(f.asked_when is not None for f in catalog):
        return []
    clean = canonical.copy()
    clean.loc[bad] = None
    facts = encode_facts(clean, catalog)
    found: list[tuple[int, str, object, str]] = []
    for name, fact in facts.items():
        if catalog[name].type is not FactType.BOOL or name not in clean.columns:
            continue
        yes = fact.not_applicable & fact.answered & fact.values & ~bad
        for i in np.flatnonzero(yes):
            bad[i] = True
            found.append((int(i), header_of[name], raw[header_of[name]].iloc[int(i)],
                          f"is answered yes, but the question does not apply "
                          f"({catalog.why_not_asked(name)}): correct the other answer or "
                          "remove this one"))
    return found


# --- screening ------------------------------------------------------------------------------

@dataclass
class ScreenSummary:
    """Counts over a screened cohort (adds up across chunks and partitions)."""

    rows: int = 0
    screened: int = 0
    quarantined: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    protocols: Counter[str] = field(default_factory=Counter)

    def add(self, other: ScreenSummary) -> None:
        """Add another chunk's counts."""
        self.rows += other.rows
        self.screened += other.screened
        self.quarantined += other.quarantined
        self.decisions.update(other.decisions)
        self.findings.update(other.findings)
        self.protocols.update(other.protocols)

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
        return "\n".join(lines)


def summarise(results: pd.DataFrame, rows: int, quarantined: int) -> ScreenSummary:
    """Counts of decisions, findings and protocols in screened results."""
    summary = ScreenSummary(rows=rows, screened=len(results), quarantined=quarantined)
    summary.decisions.update(results["decision"].value_counts().to_dict())
    summary.protocols.update(results["protocol"].value_counts().to_dict())
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


def screen_frame(raw: pd.DataFrame, ruleset: Any, source: str = "cohort",
                 first_row: int = 1) -> ScreenedChunk:
    """Validate a raw cohort frame and screen its good rows (input columns + results)."""
    checked = validate_cohort(raw, ruleset.catalog, source, first_row)
    results = evaluate_frame(checked.canonical, ruleset)
    output = raw.loc[checked.good].reset_index(drop=True)
    for name in RESULT_COLUMNS:
        output[name] = results[name].to_numpy()
    summary = summarise(output, len(raw), int((~checked.good).sum()))
    return ScreenedChunk(output, checked.problems, checked.quarantine, summary)


# --- files ----------------------------------------------------------------------------------

def read_cohort(path: Path) -> pd.DataFrame:
    """Read a cohort CSV (every cell as text; empty = unknown) or Parquet file."""
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                               skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise InputFileError(str(path), "the file is empty: write a header row of fact "
                                 "names") from None
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputFileError(str(path), f"not a readable CSV file ({exc})") from None
    if suffix in (".parquet", ".pq") or path.is_dir():
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            raise InputFileError(str(path), f"not a readable Parquet file ({exc})") from None
    raise InputFileError(str(path), "expected a .csv or .parquet cohort file")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix."""
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _with_blanks(values: npt.NDArray[Any], blank: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    out = values.astype(object)
    out[blank] = None
    return out


def fictional_cohort(catalog: FactCatalog, n: int, seed: int = 0, unknown: float = 0.1,
                     yes: float = 0.1) -> pd.DataFrame:
    """A seeded fictional cohort in canonical form, valid by construction.

    ``unknown`` is the share of empty cells, ``yes`` the share of true booleans (and of each
    listed allergy, halved).
    """
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for fact in catalog:
        blank = rng.random(n) < unknown
        kind = fact.type
        if kind is FactType.BOOL:
            columns[fact.name] = pd.array(_with_blanks(rng.random(n) < yes, blank),
                                          dtype="boolean")
        elif kind is FactType.ENUM:
            picks = np.asarray(fact.values, dtype=object)[rng.integers(0, len(fact.values), n)]
            columns[fact.name] = pd.array(_with_blanks(picks, blank), dtype="str")
        elif kind is FactType.INT:
            low = int(fact.minimum or 0)
            high = int(min(fact.maximum if fact.maximum is not None else 20, low + 20))
            columns[fact.name] = pd.array(_with_blanks(rng.integers(low, high + 1, n), blank),
                                          dtype="Int64")
        elif kind is FactType.QUANTITY:
            start = float(fact.minimum or 0.0)
            stop = min(fact.maximum if fact.maximum is not None else 100.0, start + 100.0)
            numbers = np.round(rng.uniform(start, stop, n), 1)
            columns[fact.name] = np.where(blank, np.nan, numbers)
        else:
            count = len(fact.values)
            bits = (rng.random((n, count)) < yes / 2) @ (1 << np.arange(count))
            table = np.asarray([SEPARATOR.join(v for j, v in enumerate(fact.values) if m >> j & 1)
                                for m in range(1 << count)], dtype=object)
            columns[fact.name] = pd.array(_with_blanks(table[bits], blank), dtype="str")
    frame = pd.DataFrame(columns)
    # Valid by construction: no "yes" to a question that does not apply.
    for _ in range(3):
        encoded = encode_facts(frame, catalog)
        changed = False
        for name, coded in encoded.items():
            if catalog[name].type is FactType.BOOL:
                clash = coded.not_applicable & coded.answered & coded.values
                if clash.any():
                    frame.loc[clash, name] = False
                    changed = True
        if not changed:
            break
    return frame


# --- screening files: pandas in chunks, or Dask over Parquet partitions ------------------------

def _suffix_ok(path: Path, what: str) -> None:
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputFileError(str(path), f"{what} must be a .csv or .parquet file")


def _ruleset_for(rules: str | None) -> Any:
    from ionto_cds.engine import default_ruleset

    return _cached_ruleset(rules) if rules else default_ruleset()


_RULESETS: dict[str, Any] = {}


def _cached_ruleset(rules: str) -> Any:
    from ionto_cds.engine import load_ruleset

    if rules not in _RULESETS:
        _RULESETS[rules] = load_ruleset(rules)
    return _RULESETS[rules]


@dataclass
class ScreenReport:
    """What `ionto-cds screen` did: counts, and the files it wrote."""

    summary: ScreenSummary
    output: Path
    errors: Path | None
    quarantine: Path | None
    problems: int


def _merge_parts(parts: list[Path], target: Path) -> None:
    """Concatenate part files (same columns) into one CSV or Parquet file, in order."""
    import pyarrow as pa_arrow  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    if target.suffix.lower() in (".parquet", ".pq"):
        writer: Any = None
        schema: Any = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(target, schema)
                else:
                    table = table.cast(schema) if table.schema != schema else table
                writer.write_table(table)
            if writer is None:
                pq.write_table(pa_arrow.table({}), target)
        finally:
            if writer is not None:
                writer.close()
        return
    with target.open("w", encoding="utf-8", newline="") as out:
        for k, part in enumerate(parts):
            with part.open(encoding="utf-8") as src:
                header = src.readline()
                if k == 0:
                    out.write(header)
                for line in src:
                    out.write(line)


def _write_part(chunk: ScreenedChunk, folder: Path, index: int, out_suffix: str
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


def _screen_partition(frame: pd.DataFrame, index: int, folder: str, rules: str | None,
                      out_suffix: str, source: str) -> tuple[int, ScreenSummary, bool]:
    """A Dask task: screen one partition and write its part files (row numbers local)."""
    chunk = screen_frame(frame.reset_index(drop=True), _ruleset_for(rules), source)
    _write_part(chunk, Path(folder), index, out_suffix)
    return index, chunk.summary, bool(len(chunk.problems))


def _offset_rows(parts: list[tuple[Path | None, int]], target: Path, header: tuple[str, ...]
                 ) -> None:
    """Concatenate local-row CSV parts into one file with global row numbers."""
    frames = []
    for part, offset in parts:
        if part is None:
            continue
        frame = pd.read_csv(part, dtype=str, keep_default_na=False)
        frame["row"] = frame["row"].astype(int) + offset
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=header)
    table.to_csv(target, index=False)


def screen_file(source: Path, output: Path, rules: str | None = None, engine: str = "pandas",
                scheduler: str | None = None, errors: Path | None = None,
                quarantine: Path | None = None, progress: bool = True,
                chunk_rows: int = 200_000) -> ScreenReport:
    """Screen a cohort file (or a folder of Parquet files) into ``output``.

    Bad cells go to ``errors`` (default: OUTPUT.errors.csv) and their rows to ``quarantine``
    (default: OUTPUT.quarantine.csv); both are written only when there are bad cells.
    """
    import shutil
    import tempfile

    from tqdm import tqdm  # type: ignore[import-untyped]

    _suffix_ok(output, "the output")
    if not source.exists():
        raise InputFileError(str(source), "no such file")
    if not source.is_dir():
        _suffix_ok(source, "the cohort")
    rs = _ruleset_for(rules)
    errors = errors or output.with_name(output.name + ".errors.csv")
    quarantine = quarantine or output.with_name(output.name + ".quarantine.csv")
    folder = Path(tempfile.mkdtemp(prefix=output.name + ".parts-", dir=output.parent))
    pieces: list[tuple[int, Path, Path | None, Path | None, int]] = []
    summary = ScreenSummary()
    try:
        if engine == "dask":
            summary, pieces = _screen_dask(source, folder, rules, output.suffix, scheduler,
                                           progress, rs)
        else:
            raw = read_cohort(source)
            read_headers(raw.columns, rs.catalog, str(source))
            bar = tqdm(total=len(raw), unit="rows", desc="screening", disable=not progress,
                       file=sys.stderr)
            for k, start in enumerate(range(0, max(len(raw), 1), chunk_rows)):
                part = raw.iloc[start:start + chunk_rows].reset_index(drop=True)
                chunk = screen_frame(part, rs, str(source))
                out, err, bad = _write_part(chunk, folder, k, output.suffix)
                pieces.append((k, out, err, bad, start))
                summary.add(chunk.summary)
                bar.update(len(part))
            bar.close()
        pieces.sort(key=lambda p: p[0])
        _merge_parts([p[1] for p in pieces], output)
        had_problems = any(p[2] is not None for p in pieces)
        if had_problems:
            _offset_rows([(p[2], p[4]) for p in pieces], errors, PROBLEM_COLUMNS)
            _offset_rows([(p[3], p[4]) for p in pieces], quarantine, ("row",))
        problems = sum(len(pd.read_csv(p[2])) for p in pieces if p[2] is not None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ScreenReport(summary, output, errors if had_problems else None,
                        quarantine if had_problems else None, problems)


def _screen_dask(source: Path, folder: Path, rules: str | None, out_suffix: str,
                 scheduler: str | None, progress: bool, rs: Any
                 ) -> tuple[ScreenSummary, list[tuple[int, Path, Path | None, Path | None, int]]]:
    """Screen every Parquet partition as a task on a Dask cluster (local unless an address)."""
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    if source.is_file() and source.suffix.lower() not in (".parquet", ".pq"):
        raise InputFileError(str(source), "--engine dask reads Parquet: a .parquet file or a "
                             "folder of them")
    try:
        ddf = dd.read_parquet(str(source))
    except Exception as exc:  # pyarrow and fsspec raise assorted types for unreadable input
        raise InputFileError(str(source), f"not a readable Parquet dataset ({exc})") from None
    read_headers(ddf.columns, rs.catalog, str(source))
    cluster = None
    if scheduler:
        client = Client(scheduler)  # type: ignore[no-untyped-call]
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,  # type: ignore[no-untyped-call]
                               dashboard_address=None)
        client = Client(cluster)  # type: ignore[no-untyped-call]
    summary = ScreenSummary()
    done: dict[int, tuple[ScreenSummary, bool]] = {}
    try:
        parts = ddf.to_delayed()
        futures = [
            client.submit(_screen_partition, client.compute(part), k, str(folder), rules,  # type: ignore[no-untyped-call]
                          out_suffix, str(source), pure=False)
            for k, part in enumerate(parts)
        ]
        bar = tqdm(total=len(futures), unit="partitions", desc="screening",
                   disable=not progress, file=sys.stderr)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            index, part_summary, had = future.result()
            done[index] = (part_summary, had)
            bar.update(1)
        bar.close()
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
    pieces = []
    offset = 0
    for k in sorted(done):
        part_summary, had = done[k]
        summary.add(part_summary)
        out = folder / f"out-{k:06d}{out_suffix}"
        err = folder / f"errors-{k:06d}.csv" if had else None
        bad = folder / f"quarantine-{k:06d}.csv" if had else None
        pieces.append((k, out, err, bad, offset))
        offset += part_summary.rows
    return summary, pieces


def plot_summary(summary: ScreenSummary, path: Path, top: int = 10) -> None:
    """Bar charts of decisions, the most frequent findings and protocols (PNG or SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if path.suffix.lower() not in (".png", ".svg"):
        raise InputFileError(str(path), "the plot must be a .png or .svg file")
    panels = [
        ("Decisions", summary.decisions.most_common()),
        (f"Most frequent findings (top {top})", summary.findings.most_common(top)),
        ("Protocols", [(k or "(none)", v) for k, v in summary.protocols.most_common()]),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(9, 11))
    for ax, (title, items) in zip(axes, panels, strict=True):
        labels = [str(k) for k, _ in items][::-1]
        counts = [v for _, v in items][::-1]
        ax.barh(labels, counts, color="#3b6ea5")
        ax.set_title(title)
        ax.set_xlabel("patients")
    fig.suptitle(f"Cohort screening: {summary.screened} screened, "
                 f"{summary.quarantined} quarantined")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_screen(args: Any) -> int:
    """`ionto-cds screen`: screen, print the summary, write the plot; 0 when screened."""
    from ionto_cds.errors import IontoError

    source = Path(args.cohort)
    try:
        report = screen_file(source, Path(args.output), args.rules, args.engine,
                             args.scheduler,
                             Path(args.errors) if args.errors else None,
                             Path(args.quarantine) if args.quarantine else None)
    except (ValueError, OSError) as exc:
        if isinstance(exc, IontoError):
            raise
        raise InputFileError(str(source), str(exc)) from None
    print(report.summary.render())
    print(f"results: {report.output}")
    if report.quarantine is not None:
        print(f"{report.summary.quarantined} rows quarantined ({report.problems} bad cells): "
              f"see {report.errors} and {report.quarantine}")
    if args.plot:
        plot_summary(report.summary, Path(args.plot))
        print(f"plot: {args.plot}")
    return 0
