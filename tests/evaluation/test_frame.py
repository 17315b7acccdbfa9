"""The frame evaluator on its own: unanswered columns, applicability, empty frames, memory.

Its agreement with assess() is the conformance suite's (tests/conformance/)."""

from __future__ import annotations

import pandas as pd

from ionto_cds import assess, evaluate_frame
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.engine.assess import assessment_row
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.evaluation.frame import FrameTruths, encode_facts
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS


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


def test_no_chunk_outlives_the_call() -> None:
    """Nothing (such as a cached PlanInfeasible's traceback) keeps a chunk's arrays alive."""
    import gc

    from ionto_cds import load_ruleset

    frame = fictional_cohort(default_ruleset().program, 6000, seed=5, unknown=0.1, yes=0.05)
    evaluate_frame(frame, load_ruleset(), chunk_rows=2000)
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, FrameTruths)]
