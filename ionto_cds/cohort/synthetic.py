"""A seeded fictional cohort, valid by construction (for tests, benchmarks and teaching)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.evaluation.frame import encode_facts
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.program import Program
from ionto_cds.language.model import FactType


def _with_blanks(values: npt.NDArray[Any], blank: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    out = values.astype(object)
    out[blank] = None
    return out


def _categories(codes: npt.NDArray[Any], texts: list[str]) -> pd.Categorical:
    """Texts as a pandas categorical (-1: unknown), as cohort files are read."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype="str"))


def fictional_cohort(program: Program, n: int, seed: int = 0, unknown: float = 0.1,
                     yes: float = 0.1, rare: Collection[str] = (),
                     fixed: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A seeded fictional cohort in canonical form, valid by construction.

    ``unknown`` is the share of empty cells, ``yes`` the share of true booleans (and of each
    listed value, halved). Facts named in ``rare`` (questions left empty unless something is
    present, e.g. a drug asked for by name) are answered only in a ``yes`` share of rows.
    ``fixed`` gives some facts one answer in every row (a stratum, e.g. one site).
    """
    catalog = program.catalog
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for fact in catalog.asked:
        blank = rng.random(n) < unknown
        if fact.name in rare:
            blank |= rng.random(n) >= yes
        kind = fact.type
        if kind is FactType.BOOL:
            columns[fact.name] = pd.array(_with_blanks(rng.random(n) < yes, blank),
                                          dtype="boolean")
        elif kind is FactType.ENUM:
            codes = rng.integers(0, len(fact.values), n)
            columns[fact.name] = _categories(np.where(blank, -1, codes), list(fact.values))
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
            texts = [SEPARATOR.join(v for j, v in enumerate(fact.values) if m >> j & 1)
                     for m in range(1 << count)]
            columns[fact.name] = _categories(np.where(blank, -1, bits), texts)
    frame = pd.DataFrame(columns)
    for name, value in (fixed or {}).items():
        frame[name] = pd.Series([value] * n, dtype=frame[name].dtype)
    # Valid by construction: no "yes" to a question that does not apply.
    for _ in range(3):
        encoded = encode_facts(frame, program)
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
