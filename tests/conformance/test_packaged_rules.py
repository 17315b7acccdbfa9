"""Every vignette and a seeded fictional cohort of 10,000 rows through both evaluators."""

from __future__ import annotations

import pandas as pd
import pytest
from compare import mismatches

from ionto_cds import evaluate_frame
from ionto_cds.analysis.cases import read_cases
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.evaluation import frame
from ionto_cds.evaluation.outcomes import Decision


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """12,500 seeded fictional patients in four mixes of unknowns and yes answers, and one
    stratum of fully answered palmar hyperhidrosis (the referrals that need one drug-specific
    finding with every other answer clear)."""
    rs = default_ruleset()
    mixes = [(0.3, 0.2, {}), (0.1, 0.05, {}), (0.03, 0.015, {}), (0.0, 0.01, {}),
             (0.0, 0.03, {"indication": "hyperhidrosis", "site": "palms"})]
    return pd.concat([fictional_cohort(rs.program, 2500, seed=100 + k, unknown=u, yes=y,
                                       rare={"requested_drug"}, fixed=fixed)
                      for k, (u, y, fixed) in enumerate(mixes)], ignore_index=True)


def test_every_vignette_gives_the_same_row_in_both_evaluators() -> None:
    rs = default_ruleset()
    cases, errors = read_cases(rs.source.directory / "cases")
    assert not errors and cases
    rows = []
    for case in cases:
        values = rs.validate(case.answers).values
        rows.append({k: (";".join(sorted(v)) if isinstance(v, frozenset) else v)
                     for k, v in values.items()})
    frame = pd.DataFrame(rows)
    for fact in rs.catalog:  # the canonical dtypes the frame evaluator reads
        if fact.name in frame.columns:
            kind = {"bool": "boolean", "int": "Int64", "quantity": "float64"}.get(
                fact.type.value, "str")
            frame[fact.name] = frame[fact.name].astype(kind)
    assert mismatches(frame, rs, limit=len(cases)) == []


def test_a_fictional_cohort_gives_the_same_rows(cohort: pd.DataFrame) -> None:
    assert len(cohort) >= 10_000
    assert mismatches(cohort, default_ruleset()) == []


def test_chunks_change_nothing(cohort: pd.DataFrame) -> None:
    """Chunks (with texts and plans shared between them) give the same rows as one pass."""
    rs = default_ruleset()
    head = cohort.head(3000).set_axis(cohort.index[:3000] + 7)
    whole = evaluate_frame(head, rs)
    chunked = evaluate_frame(head, rs, chunk_rows=777)
    assert chunked.index.equals(head.index)
    assert chunked.to_numpy().tolist() == whole.to_numpy().tolist()


def test_focused_lanes_change_nothing(cohort: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    """The facts to ask worked out on the lanes that can have one alone, or on every lane of
    each chunk, give the same rows."""
    rs = default_ruleset()
    results = []
    for share in (0.0, 1.0):  # never focused, always focused
        monkeypatch.setattr(frame, "FOCUS_SHARE", share)
        results.append(evaluate_frame(cohort, rs, chunk_rows=1000).to_numpy().tolist())
    assert results[0] == results[1]
    assert sum(1 for row in results[0] if row[2]) > 500  # rows with facts to ask


def test_the_cohort_reaches_every_outcome(cohort: pd.DataFrame) -> None:
    rs = default_ruleset()
    result = evaluate_frame(cohort, rs)
    assert set(result["decision"]) == {d.value for d in Decision}
    planned = set(result["protocol"]) - {""}
    referred = set(result["referral"]) - {""}
    assert planned == {p.id for p in rs.protocols if not p.is_referral}
    assert referred == {p.id for p in rs.protocols if p.is_referral}
    assert not planned & referred
    derived = {f.name for f in rs.catalog if f.is_derived}
    asked = {fact for text in set(result["missing"]) for fact in text.split(";") if fact}
    assert asked and not asked & derived  # a derived fact is never asked: its inputs are
    assert (result["missing"] != "").sum() > 500  # the missing-fact ranking is exercised
    assert (result["current"] != "").sum() > 100
