"""The cohort table: a pandera schema generated from the fact catalog, and its column headers.

A cohort is a table with one column per fact (named as in rules/facts.yaml; an optional
``patient_id`` column is carried through). A header may name the unit of its bare numbers, as
in ``age[year]`` or ``weight[lb]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ionto_cds.errors import InputFileError, UnitError, quote
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.language.facts import FactCatalog, FactDef
from ionto_cds.language.model import FactType
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import parse_unit

ID_COLUMN = "patient_id"
"""The one column that is not a fact: carried through untouched."""

_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[\s*(.+?)\s*\]\s*$")


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
    columns = {fact.name: column_schema(fact) for fact in catalog.asked}
    columns[ID_COLUMN] = pa.Column(nullable=True, required=False)
    return pa.DataFrameSchema(columns, strict=True, name="cohort")


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
            problems.append(f"unknown column {quote(text)}{did_you_mean(name, names)}")
            continue
        if unit is not None:
            fact = catalog.facts.get(name)
            if fact is None or fact.type is not FactType.QUANTITY:
                problems.append(f"column '{text}': only quantity facts take a unit in the header")
                continue
            try:
                parse_unit(unit, fact.unit or "")
            except UnitError as exc:
                problems.append(f"column {quote(text)}: {exc}")
                continue
        if name in seen:
            problems.append(f"columns '{seen[name]}' and '{text}' both answer '{name}'")
            continue
        seen[name] = text
        specs.append(ColumnSpec(text, name, unit))
    if problems:
        raise InputFileError(source, "; ".join(problems))
    return specs
