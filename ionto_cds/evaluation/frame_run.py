"""The policy run over a frame of patients, chunk by chunk, into result columns.

Rows are evaluated :data:`CHUNK_ROWS` at a time into one preallocated object block whose cells
are shared string objects, so peak memory stays a small multiple of one chunk's working set
plus the output's pointers, whatever the frame's length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ionto_cds.evaluation.frame import FrameLanes, FrameTruths, encode_column, encode_facts
from ionto_cds.evaluation.frame_collect import (
    RESULT_COLUMNS,
    FrameCollector,
    KnownPlans,
    Planner,
    Shared,
)
from ionto_cds.evaluation.policy import evaluate
from ionto_cds.evaluation.program import Program
from ionto_cds.language.model import FactType

Bools = npt.NDArray[np.bool_]

CHUNK_ROWS = 131_072
"""Rows evaluated at once: every truth and rank array exists for one chunk at a time, which
bounds peak memory (and keeps the int8 arrays in cache) whatever the frame's length."""


def _chunk(frame: pd.DataFrame, program: Program, planner: Planner, shared: Shared,
           given: Mapping[str, tuple[Bools, Any]]) -> list[npt.NDArray[np.object_]]:
    facts = encode_facts(frame, program, given)
    truths = FrameTruths(program, facts, len(frame))
    collector = FrameCollector(truths, facts, shared, planner)
    evaluate(FrameLanes(truths), program, collector)
    return collector.columns()


def evaluate_frame(frame: pd.DataFrame, program: Program, planner: Planner,
                   chunk_rows: int = CHUNK_ROWS,
                   known: KnownPlans | None = None
                   ) -> pd.DataFrame:
    """Assess every row of a canonical frame; the result has :data:`RESULT_COLUMNS`.

    The frame has one column per answered fact, named by the fact (absent columns are
    unanswered): booleans (nullable), enum values as text, ints and quantities as numbers in the
    fact's default unit, lists as ``;``-separated keys ("" for none); NA means unknown. Rows must
    be valid (as the one-patient validation would accept them). ``known`` keeps the dose texts
    of plans across calls (the engine passes one per rule set).
    """
    n = len(frame)
    out = np.empty((len(RESULT_COLUMNS), n), dtype=object)
    shared = Shared(known)
    step = max(int(chunk_rows), 1)
    # Text columns are factorised once over the whole frame (small integer arrays), not per
    # chunk: pandas' string factorisation has a large cost per call.
    whole = {f.name: encode_column(f, frame[f.name], n) for f in program.catalog
             if f.type in (FactType.ENUM, FactType.LIST) and f.name in frame.columns} if (
                 n > step) else {}
    for start in range(0, n, step):
        part = frame.iloc[start:start + step]
        given = {name: (fact.answered[start:start + step], fact.values[start:start + step])
                 for name, fact in whole.items()}
        for j, column in enumerate(_chunk(part, program, planner, shared, given)):
            out[j, start:start + len(part)] = column
    # The block is (columns, rows), as pandas stores it: the frame wraps it without a copy.
    return pd.DataFrame(out.T, index=frame.index, columns=list(RESULT_COLUMNS), dtype=object,
                        copy=False)
