"""Compare the frame evaluator with the one-patient evaluator, field by field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ionto_cds import assess, evaluate_frame
from ionto_cds.engine.assess import assessment_row
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation.frame import row_values
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS


def mismatches(frame: pd.DataFrame, rs: RuleSet, chunk_rows: int | None = None,
               limit: int = 5) -> list[dict[str, Any]]:
    """The first rows where the frame evaluator and assess() differ, each field named."""
    result = evaluate_frame(frame, rs) if chunk_rows is None else evaluate_frame(
        frame, rs, chunk_rows=chunk_rows)
    assert list(result.columns) == list(RESULT_COLUMNS)
    got = list(result.itertuples(index=False, name=None))
    found: list[dict[str, Any]] = []
    for i in range(len(frame)):
        expected = assessment_row(assess(rs.answers(row_values(frame, rs.catalog, i)), rs))
        if tuple(got[i]) != expected:
            found.append({"row": i, **{name: (want, have) for name, want, have
                                       in zip(RESULT_COLUMNS, expected, got[i], strict=True)
                                       if want != have}})
            if len(found) >= limit:
                break
    return found


def outcomes(result: pd.DataFrame) -> Sequence[str]:
    """The decisions a result frame reached, sorted."""
    return sorted(set(result["decision"]))
