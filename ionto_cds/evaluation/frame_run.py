"""The policy run over a frame of patients, chunk by chunk, into result columns.

Rows are encoded and evaluated :data:`CHUNK_ROWS` at a time; each result column is kept as
one small integer per row into its distinct texts (a pandas categorical at the end), so peak
memory stays one chunk's working set plus four bytes per row and result column, whatever the
frame's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

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


def _categorical(codes: npt.NDArray[np.int32], texts: list[Any]) -> pd.Categorical:
    """A result column from its codes into the texts of every chunk in turn (Arrow arrays):
    each distinct text once, in the order first met, numbered by Arrow's hash table (C loops
    on the bytes, no Python string hashed)."""
    if not texts:
        return pd.Categorical.from_codes(codes, categories=pd.Index([""], dtype="str"))
    encoded = pc.dictionary_encode(pa.concat_arrays(texts))
    numbers = encoded.indices.to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(numbers[codes], categories=pd.Index(
        pd.array(encoded.dictionary), dtype="str"))


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
    texts: list[list[Any]] = [[] for _ in RESULT_COLUMNS]  # each chunk's texts, in Arrow
    made = [0] * len(RESULT_COLUMNS)  # texts so far, per column
    shared = Shared(known)
    step = max(int(chunk_rows), 1)
    # Each column is read once (pandas has a large cost per call), and encoded a chunk at a
    # time from compact arrays.
    sources = [ColumnSource(f, frame[f.name] if f.name in frame.columns else None)
               for f in program.catalog]
    for start in range(0, n, step):
        stop = min(start + step, n)
        facts = {source.fact.name: source.rows(start, stop) for source in sources}
        for j, (rows, chunk_texts) in enumerate(_chunk(program, planner, shared, facts,
                                                         stop - start)):
            codes[j][start:stop] = rows + made[j]
            made[j] += len(chunk_texts)
            texts[j].append(chunk_texts if isinstance(chunk_texts, pa.Array)
                            else pa.array(chunk_texts, pa.string()))
    return pd.DataFrame({name: _categorical(codes[j], texts[j])
                         for j, name in enumerate(RESULT_COLUMNS)}, index=frame.index)
