"""Vectorised evaluation agrees exactly with one-by-one assess()."""

from __future__ import annotations

import pandas as pd
import pytest

from ionto_cds import assess, evaluate_frame
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.engine.assess import assessment_row
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.evaluation.frame import FrameTruths, encode_facts, row_values
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS


@pytest.fixture(scope="module")
def differential() -> tuple[pd.DataFrame, pd.DataFrame]:
    """10,000 seeded fictional patients in four mixes of unknowns and yes answers."""
    rs = default_ruleset()
    mixes = [(0.3, 0.2), (0.1, 0.05), (0.03, 0.015), (0.0, 0.01)]
    frame = pd.concat([fictional_cohort(rs.program, 2500, seed=100 + k, unknown=u, yes=y)
                       for k, (u, y) in enumerate(mixes)], ignore_index=True)
    return frame, evaluate_frame(frame, rs)


def test_vectorised_equals_assess_row_by_row(differential: tuple[pd.DataFrame, pd.DataFrame]
                                             ) -> None:
    frame, result = differential
    rs = default_ruleset()
    assert len(frame) >= 10_000
    assert list(result.columns) == list(RESULT_COLUMNS)
    got = list(result.itertuples(index=False, name=None))
    mismatches = []
    for i in range(len(frame)):
        answers = row_values(frame, rs.catalog, i)
        expected = assessment_row(assess(rs.answers(answers), rs))
        if tuple(got[i]) != expected:
            mismatches.append((i, expected, got[i]))
    assert mismatches[:3] == []


def test_differential_covers_every_outcome(differential: tuple[pd.DataFrame, pd.DataFrame]
                                           ) -> None:
    _, result = differential
    rs = default_ruleset()
    assert set(result["decision"]) == {"not_eligible", "needs_information",
                                       "eligible_with_precautions", "eligible"}
    chosen = set(result["protocol"]) - {""}
    assert len(chosen) >= len(rs.protocols) - 1
    assert (result["missing"] != "").sum() > 1000
    assert (result["current"] != "").sum() > 100


def test_unanswered_column_is_unknown_everywhere() -> None:
    rs = default_ruleset()
    frame = pd.DataFrame({"age": [34.0], "indication": ["hyperhidrosis"], "site": ["palms"]})
    row = evaluate_frame(frame, rs).iloc[0]
    a = assess({"age": 34, "indication": "hyperhidrosis", "site": "palms"}, rs)
    assert tuple(row) == assessment_row(a)
    assert row["decision"] == "needs_information"


def test_not_applicable_questions_follow_the_catalog() -> None:
    rs = default_ruleset()
    frame = pd.DataFrame({"sex": ["male", "female", None]})
    facts = encode_facts(frame, rs.program)
    assert facts["pregnant"].not_applicable.tolist() == [True, False, False]


def test_empty_frame() -> None:
    result = evaluate_frame(pd.DataFrame({"age": pd.Series([], dtype="float64")}),
                            default_ruleset())
    assert len(result) == 0 and list(result.columns) == list(RESULT_COLUMNS)


def test_chunked_evaluation_equals_one_pass(differential: tuple[pd.DataFrame, pd.DataFrame]
                                            ) -> None:
    """Chunks (with texts and plans shared between them) give the same frame as one pass."""
    frame, result = differential
    shifted = frame.set_axis(frame.index + 7)
    chunked = evaluate_frame(shifted, default_ruleset(), chunk_rows=777)
    assert list(chunked.columns) == list(RESULT_COLUMNS)
    assert chunked.index.equals(shifted.index)
    assert {str(d) for d in chunked.dtypes} == {"object"}
    assert chunked.to_numpy().tolist() == result.to_numpy().tolist()


def test_no_chunk_outlives_the_call(differential: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Nothing (such as a cached PlanInfeasible's traceback) keeps a chunk's arrays alive."""
    import gc

    from ionto_cds import load_ruleset

    frame, _ = differential
    evaluate_frame(frame, load_ruleset(), chunk_rows=2000)
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, FrameTruths)]
