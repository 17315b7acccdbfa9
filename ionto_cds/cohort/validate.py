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
from ionto_cds.evaluation.frame import encode_facts
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.program import Program
from ionto_cds.language.facts import FactDef
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
        except AnswerError as exc:
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
                    first_row: int = 1) -> CohortValidation:
    """Parse and validate every cell lazily; collect all problems, keep the good rows.

    ``row`` numbers count data rows from ``first_row`` (1 = the first row under the header).
    Raises InputFileError when a column cannot be used at all (unknown fact, bad header unit).
    """
    catalog = program.catalog
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
    problems += _contradictions(canonical, program, header_of, raw, bad)
    good_rows = ~bad
    table = pd.DataFrame(
        [(i + first_row, c, v, w) for i, c, v, w in sorted(problems, key=lambda p: p[0])],
        columns=list(PROBLEM_COLUMNS),
    )
    canonical = canonical.loc[good_rows]
    return CohortValidation(raw, canonical, good_rows, table, first_row)


def _contradictions(canonical: pd.DataFrame, program: Program, header_of: Mapping[str, str],
                    raw: pd.DataFrame, bad: npt.NDArray[np.bool_]
                    ) -> list[tuple[int, str, object, str]]:
    """Yes to a question that does not apply (pregnant, for a male patient), as validate()."""
    catalog = program.catalog
    if not any(f.asked_when is not None for f in catalog):
        return []
    clean = canonical.copy()
    clean.loc[bad] = None
    facts = encode_facts(clean, program)
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
