"""Cohort validation: every cell parsed lazily, every problem collected, bad rows quarantined.

Quantity columns take bare numbers in the fact's default unit (or the header's) or text with
units ("62 kg"); booleans are true/false (yes/no), lists are ``;``-separated keys ("none" for
none); an empty cell is unknown. Cells are parsed by the same :meth:`FactDef.normalise` as
single answers, so one patient gives the same result either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa

from ionto_cds.cohort.schema import ID_COLUMN, cohort_schema, read_headers
from ionto_cds.errors import AnswerError
from ionto_cds.evaluation.frame import distinct_values, encode_facts
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.program import Program
from ionto_cds.language.facts import FactCatalog, FactDef
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, FactType
from ionto_cds.units import Quantity

PROBLEM_COLUMNS = ("row", "column", "value", "why")


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
    """A parsed column: a code per row (-1: unknown) into its distinct canonical values."""

    codes: npt.NDArray[np.signedinteger[Any]]  # the narrowest integers that hold them
    distinct: Any  # a pandas array of the fact's canonical dtype
    bad: npt.NDArray[np.bool_]
    why: dict[int, str] = field(default_factory=dict)
    canonical: pd.Series | None = None
    """The canonical column when the input already is one."""

    def column(self, fact: FactDef) -> pd.Series:
        """The canonical column: yes/no, numbers as their nullable dtypes; enum and list texts
        as a categorical (each distinct text stored once)."""
        if self.canonical is not None:
            return self.canonical
        if fact.type in (FactType.ENUM, FactType.LIST):
            numbers, texts = pd.factorize(self.distinct, use_na_sentinel=True)  # one per text
            table = np.append(np.asarray(numbers, dtype=np.intp), -1)  # the NA code -1: last
            kind = pd.CategoricalDtype(pd.Index(texts, dtype="str"))
            return pd.Series(pd.Categorical.from_codes(table[self.codes], dtype=kind,
                                                       validate=False))
        return pd.Series(self.distinct.take(self.codes, allow_fill=True))

    def rows(self, k: int) -> npt.NDArray[np.intp]:
        """The rows that hold distinct value ``k``."""
        return np.flatnonzero(self.codes == k)


def _narrow(codes: npt.NDArray[Any], count: int) -> npt.NDArray[np.signedinteger[Any]]:
    """Codes -1..count-1 in the narrowest integer type (a chunk keeps one array per column)."""
    kind = np.int8 if count < 1 << 7 else np.int16 if count < 1 << 15 else np.int32
    return np.asarray(codes, dtype=kind)


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


_YES_NO = pd.array([False, True], dtype="boolean")
"""The distinct values of a yes/no column as stored: code 0 no, 1 yes."""


def _parse_column(fact: FactDef, unit: str | None, column: pd.Series) -> _Parsed:
    """Parse a whole column once per distinct cell (typed numbers converted column-wise)."""
    parser = _parser(fact)
    dtype = column.dtype
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
        codes, uniques = pd.factorize(np.where(bad, np.nan, numbers), use_na_sentinel=True)
        return _Parsed(_narrow(codes, len(uniques)),
                       pd.array(np.asarray(uniques, dtype="float64"), dtype="float64"), bad, why)
    if fact.type is FactType.BOOL and isinstance(column.array, pd.arrays.BooleanArray):
        # yes/no as stored: a code per row (False 0, True 1, NA -1), no cell to parse
        array = column.array
        codes = array._data.astype(np.int8)
        codes[array._mask] = -1
        return _Parsed(codes, _YES_NO, np.zeros(len(codes), bool),
                       canonical=column.reset_index(drop=True))
    codes, uniques = distinct_values(column)
    parsed: list[Any] = []
    failed = np.zeros(len(uniques) + 1, dtype=bool)
    reasons: dict[int, str] = {}
    for k, raw in enumerate(uniques):
        try:
            parsed.append(_canonical(fact, _parse_cell(parser, unit, raw)))
        except AnswerError as exc:
            parsed.append(None)
            failed[k] = True
            reasons[k] = str(exc)
    bad = failed[codes]
    codes = _narrow(codes, len(uniques))
    why = {int(i): reasons[int(codes[i])] for i in np.flatnonzero(bad)}
    return _Parsed(codes, pd.array(parsed, dtype=_DTYPES[fact.type]), bad, why)


def _why(parser: FactDef, unit: str | None, raw: object) -> str:
    try:
        _parse_cell(parser, unit, raw)
    except AnswerError as exc:
        return str(exc)
    return "not a finite number"


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


def validate_cohort(raw: pd.DataFrame, program: Program, source: str = "cohort",
                    first_row: int = 1, verdicts: SchemaVerdicts | None = None
                    ) -> CohortValidation:
    """Parse and validate every cell lazily; collect all problems, keep the good rows.

    ``row`` numbers count data rows from ``first_row`` (1 = the first row under the header).
    ``verdicts`` carries the schema's verdicts from the earlier chunks of the same file.
    Raises InputFileError when a column cannot be used at all (unknown fact, bad header unit).
    """
    catalog = program.catalog
    specs = read_headers(raw.columns, catalog, source)
    n = len(raw)
    problems: list[tuple[int, str, object, str]] = []
    bad = np.zeros(n, dtype=bool)
    columns: dict[str, pd.Series] = {}
    parsed: dict[str, _Parsed] = {}
    for spec in specs:
        column = raw[spec.header]
        if spec.fact == ID_COLUMN:
            columns[ID_COLUMN] = column.reset_index(drop=True)
            continue
        parsed[spec.fact] = found = _parse_column(catalog[spec.fact], spec.unit, column)
        columns[spec.fact] = found.column(catalog[spec.fact])
        bad |= found.bad
        for i, why in found.why.items():
            problems.append((i, spec.header, column.iloc[i], why))
    canonical = pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)  # columns as made
    header_of = {spec.fact: spec.header for spec in specs}
    if verdicts is None or verdicts.catalog is not catalog:
        verdicts = SchemaVerdicts(catalog)
    for fact, k, check in verdicts.failures(parsed):
        header = header_of.get(fact, fact)
        for i in parsed[fact].rows(k):
            bad[i] = True
            problems.append((int(i), header, raw[header].iloc[int(i)], check))
    problems += _contradictions(canonical, program, header_of, raw, bad)
    good_rows = ~bad
    table = pd.DataFrame(
        [(i + first_row, c, v, w) for i, c, v, w in sorted(problems, key=lambda p: p[0])],
        columns=list(PROBLEM_COLUMNS),
    )
    if not good_rows.all():
        canonical = canonical.loc[good_rows]
    return CohortValidation(raw, canonical, good_rows, table, first_row)


class SchemaVerdicts:
    """The cohort schema's verdicts on the distinct canonical values seen so far, kept across
    the chunks of one screening run.

    The schema's checks are cell by cell, so a value's verdict holds wherever it appears:
    each chunk runs the schema only on the values no earlier chunk had. At most
    :attr:`LIMIT` values are kept per fact (a column of ever-new numbers is checked chunk by
    chunk, as without a memo).
    """

    LIMIT = 65_536

    def __init__(self, catalog: FactCatalog) -> None:
        self.catalog = catalog
        self.schema = cohort_schema(catalog)
        self.order = {name: i for i, name in enumerate(self.schema.columns)}
        self.seen: dict[str, dict[Any, tuple[str, ...]]] = {}

    def failures(self, parsed: Mapping[str, _Parsed]) -> list[tuple[str, int, str]]:
        """Each failed check on the chunk's distinct values: (fact, distinct value, check)."""
        new: dict[str, list[int]] = {}
        keys: dict[str, list[Any]] = {}
        for fact, p in parsed.items():
            seen = self.seen.setdefault(fact, {})
            if len(seen) + len(p.distinct) > self.LIMIT:
                seen.clear()
            keys[fact] = [_key(value) for value in p.distinct.tolist()]  # one list, no lookups
            fresh = [k for k, key in enumerate(keys[fact]) if key not in seen]
            if fresh:
                new[fact] = fresh
        if new:
            self._check(parsed, new, keys)
        out: list[tuple[str, int, str]] = []
        for fact in sorted(parsed, key=lambda f: self.order.get(f, len(self.order))):
            seen = self.seen[fact]
            for k, key in enumerate(keys[fact]):
                out += [(fact, k, check) for check in seen.get(key, ())]
        return out

    def _check(self, parsed: Mapping[str, _Parsed], new: Mapping[str, list[int]],
               keys: Mapping[str, list[Any]]) -> None:
        frame = pd.DataFrame({fact: pd.Series(parsed[fact].distinct[ks])
                              for fact, ks in new.items()})
        failed: dict[tuple[str, int], list[str]] = {}
        try:
            self.schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            for _, case in exc.failure_cases.iterrows():
                if case["index"] is not None and not pd.isna(case["index"]):
                    failed.setdefault((str(case["column"]), int(case["index"])), []).append(
                        str(case["check"]))
        for fact, ks in new.items():
            seen, fact_keys = self.seen[fact], keys[fact]
            for i, k in enumerate(ks):
                seen[fact_keys[k]] = tuple(failed.get((fact, i), ()))


def _key(value: Any) -> Any:
    """A distinct value as a dictionary key (every missing value is one key)."""
    return None if value is None or value is pd.NA or (
        isinstance(value, float) and value != value) else value


def _contradictions(canonical: pd.DataFrame, program: Program, header_of: Mapping[str, str],
                    raw: pd.DataFrame, bad: npt.NDArray[np.bool_]
                    ) -> list[tuple[int, str, object, str]]:
    """Yes to a question that does not apply (pregnant, for a male patient), as validate().

    Only the good rows with a yes to such a question are looked at (the questions that apply
    are worked out row by row, so those rows alone give the same verdicts)."""
    catalog = program.catalog
    gated = [f.name for f in catalog if f.asked_when is not None and f.type is FactType.BOOL
             and f.name in canonical.columns]
    if not gated:
        return []
    yes = np.zeros(len(canonical), dtype=bool)
    for name in gated:
        yes |= canonical[name].to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(yes & ~bad)
    if not len(rows):
        return []
    facts = encode_facts(canonical.iloc[rows].reset_index(drop=True), program)
    found: list[tuple[int, str, object, str]] = []
    for name in gated:
        fact = facts[name]
        for j in np.flatnonzero(fact.not_applicable & fact.answered & fact.values):
            i = int(rows[j])
            bad[i] = True
            found.append((i, header_of[name], raw[header_of[name]].iloc[i],
                          f"is answered yes, but the question does not apply "
                          f"({catalog.why_not_asked(name)}): correct the other answer or "
                          "remove this one"))
    found.sort(key=lambda p: p[0])
    return found
