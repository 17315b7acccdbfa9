"""The policy run over a frame of patients, chunk by chunk, into result columns.

Rows are encoded and evaluated :data:`CHUNK_ROWS` at a time; each result column is kept as
one small integer per row into its distinct texts (a pandas categorical at the end), so peak
memory stays one chunk's working set plus four bytes per row and result column, whatever the
frame's length.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.evaluation.frame import ColumnSource, FrameLanes, FrameTruths, prepare_facts
from ionto_cds.evaluation.frame_collect import (
    RESULT_COLUMNS,
    Coded,
    FrameCollector,
    KnownPlans,
    Planner,
    Shared,
)
from ionto_cds.evaluation.frame_operators import Column
from ionto_cds.evaluation.policy import evaluate
from ionto_cds.evaluation.program import Program

Bools = npt.NDArray[np.bool_]

CHUNK_ROWS = 65_536
"""Rows evaluated at once: every truth and rank array exists for one chunk at a time, which
bounds peak memory (and keeps the int8 arrays in cache) whatever the frame's length."""


def _chunk(program: Program, planner: Planner, shared: Shared, facts: dict[str, Column], n: int
           ) -> list[Coded]:
    prepare_facts(program, facts, n)
    truths = FrameTruths(program, facts, n)
    collector = FrameCollector(truths, facts, shared, planner)
    evaluate(FrameLanes(truths), program, collector)
    return collector.columns()


def _numbers(known: dict[str, int], texts: list[str]) -> npt.NDArray[np.int32]:
    """The category number of each text, numbering the new ones (lookups in C loops)."""
    found = list(map(known.get, texts))
    for i in [i for i, number in enumerate(found) if number is None]:
        found[i] = known.setdefault(texts[i], len(known))
    return np.asarray(found, dtype=np.int32)


def evaluate_frame(frame: pd.DataFrame, program: Program, planner: Planner,
                   chunk_rows: int = CHUNK_ROWS,
                   known: KnownPlans | None = None
                   ) -> pd.DataFrame:
    """Assess every row of a canonical frame; the result has :data:`RESULT_COLUMNS`, each a
    categorical of texts ("" for none).

    The frame has one column per answered fact, named by the fact (absent columns are
    unanswered): booleans (nullable), enum values as text (or categorical), ints and quantities
    as numbers in the fact's default unit, lists as ``;``-separated keys ("" for none); NA means
    unknown. Rows must be valid (as the one-patient validation would accept them). ``known``
    keeps the dose texts of plans across calls (the engine passes one per rule set).
    """
    n = len(frame)
    codes = [np.zeros(n, dtype=np.int32) for _ in RESULT_COLUMNS]
    numbered: list[dict[str, int]] = [{} for _ in RESULT_COLUMNS]  # text -> category number
    shared = Shared(known)
    step = max(int(chunk_rows), 1)
    # Each column is read once (pandas has a large cost per call), and encoded a chunk at a
    # time from compact arrays.
    sources = [ColumnSource(f, frame[f.name] if f.name in frame.columns else None)
               for f in program.catalog]
    for start in range(0, n, step):
        stop = min(start + step, n)
        facts = {source.fact.name: source.rows(start, stop) for source in sources}
        for j, (rows, texts) in enumerate(_chunk(program, planner, shared, facts, stop - start)):
            codes[j][start:stop] = _numbers(numbered[j], texts)[rows]
    return pd.DataFrame({name: pd.Categorical.from_codes(
        codes[j], categories=pd.Index(list(numbered[j]) or [""], dtype="str"))
        for j, name in enumerate(RESULT_COLUMNS)}, index=frame.index)
