"""Random rule sets (leaves from the operator table, random nesting, severities, scopes,
steering, caps, protocol priorities) and random patients through both evaluators."""

from __future__ import annotations

from typing import Any

import pytest
from compare import mismatches
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rulesets import canonical_frame, patients, rulesets

from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.evaluation import frame
from ionto_cds.language.operators import OPERATORS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(rs=rulesets(), rows=st.lists(patients(), min_size=1, max_size=40))
def test_random_rule_sets_give_the_same_rows_in_both_evaluators(rs: RuleSet,
                                                                rows: list[dict[str, Any]]
                                                                ) -> None:
    assert mismatches(canonical_frame(rows), rs) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rs=rulesets(), rows=st.lists(patients(), min_size=5, max_size=30))
def test_random_rule_sets_in_small_chunks(rs: RuleSet, rows: list[dict[str, Any]]) -> None:
    assert mismatches(canonical_frame(rows), rs, chunk_rows=4) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rs=rulesets(), rows=st.lists(patients(), min_size=5, max_size=30))
def test_random_rule_sets_with_every_chunk_focused(rs: RuleSet, rows: list[dict[str, Any]]
                                                  ) -> None:
    """The facts to ask worked out on the focused lanes alone, whatever their share."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frame, "FOCUS_SHARE", 1.0)
        assert mismatches(canonical_frame(rows), rs, chunk_rows=8) == []


def test_the_strategies_reach_every_operator() -> None:
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None)
    @given(rs=rulesets())
    def collect(rs: RuleSet) -> None:
        seen.update(n.leaf.op for n in rs.program.nodes if n.leaf is not None)

    collect()
    assert seen == set(OPERATORS)
