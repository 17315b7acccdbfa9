"""Three-valued (Kleene) evaluation of conditions, exhaustively."""

from __future__ import annotations

import itertools

import pytest

from ionto_cds.evaluation.program import single_condition
from ionto_cds.evaluation.scalar import ScalarProgram, compile_condition, evaluate
from ionto_cds.language.model import (
    NOT_APPLICABLE,
    UNKNOWN,
    AllOf,
    AnyOf,
    Condition,
    Leaf,
    Not,
    Truth,
    facts_read,
    leaves,
)
from ionto_cds.language.operators import describe

F, U, T = Truth.FALSE, Truth.UNKNOWN, Truth.TRUE
TRUTHS = (F, U, T)

# The truth tables written out by hand (Kleene's strong logic), not derived from the code.
ALL_TABLE = {
    (F, F): F, (F, U): F, (F, T): F,
    (U, F): F, (U, U): U, (U, T): U,
    (T, F): F, (T, U): U, (T, T): T,
}
ANY_TABLE = {
    (F, F): F, (F, U): U, (F, T): T,
    (U, F): U, (U, U): U, (U, T): T,
    (T, F): T, (T, U): T, (T, T): T,
}
NOT_TABLE = {F: T, U: U, T: F}


def undecided_facts(condition: Condition, env: dict[str, object]) -> tuple[str, ...]:
    program, root = single_condition(condition)
    return tuple(ScalarProgram(program).undecided(root, env))


def trace(condition: Condition, env: dict[str, object], show) -> dict[str, object]:
    program, root = single_condition(condition)
    return ScalarProgram(program).trace(root, env, show)


def _leaf_for(name: str) -> Leaf:
    return Leaf(name, "is", True, "true")


def _env_for(values: dict[str, Truth]) -> dict[str, object]:
    """An environment making the leaf ``{fact: name, is: true}`` take each wanted truth value."""
    env: dict[str, object] = {}
    for name, truth in values.items():
        if truth is T:
            env[name] = True
        elif truth is F:
            env[name] = False
        # unknown: leave the fact out
    return env


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTHS, TRUTHS)))
def test_all_truth_table(a, b):
    cond = AllOf((_leaf_for("x"), _leaf_for("y")))
    assert evaluate(cond, _env_for({"x": a, "y": b})) is ALL_TABLE[(a, b)]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTHS, TRUTHS)))
def test_any_truth_table(a, b):
    cond = AnyOf((_leaf_for("x"), _leaf_for("y")))
    assert evaluate(cond, _env_for({"x": a, "y": b})) is ANY_TABLE[(a, b)]


@pytest.mark.parametrize("a", TRUTHS)
def test_not_truth_table(a):
    assert evaluate(Not(_leaf_for("x")), _env_for({"x": a})) is NOT_TABLE[a]


@pytest.mark.parametrize("values", list(itertools.product(TRUTHS, repeat=3)))
def test_three_way_all_and_any_fold_the_binary_tables(values):
    names = ("x", "y", "z")
    env = _env_for(dict(zip(names, values, strict=True)))
    parts = tuple(_leaf_for(n) for n in names)
    want_all = ALL_TABLE[(ALL_TABLE[(values[0], values[1])], values[2])]
    want_any = ANY_TABLE[(ANY_TABLE[(values[0], values[1])], values[2])]
    assert evaluate(AllOf(parts), env) is want_all
    assert evaluate(AnyOf(parts), env) is want_any
    # De Morgan holds in Kleene logic.
    assert evaluate(Not(AllOf(parts)), env) is evaluate(AnyOf(tuple(Not(p) for p in parts)), env)


@pytest.mark.parametrize(
    ("leaf", "value", "expected"),
    [
        (Leaf("pacemaker", "is", True, "true"), True, T),
        (Leaf("pacemaker", "is", True, "true"), False, F),
        (Leaf("pacemaker", "is", False, "false"), False, T),
        (Leaf("pacemaker", "is", False, "false"), True, F),
        (Leaf("sex", "eq", "female", "female"), "female", T),
        (Leaf("sex", "eq", "female", "female"), "male", F),
        (Leaf("sex", "ne", "male", "male"), "female", T),
        (Leaf("sex", "ne", "male", "male"), "male", F),
        (Leaf("age", "lt", 6.0, "6 year"), 5.99, T),
        (Leaf("age", "lt", 6.0, "6 year"), 6.0, F),
        (Leaf("age", "le", 6.0, "6 year"), 6.0, T),
        (Leaf("age", "gt", 6.0, "6 year"), 6.0, F),
        (Leaf("age", "ge", 6.0, "6 year"), 6.0, T),
        (Leaf("age", "ge", 6.0, "6 year"), 5.0, F),
        (Leaf("site", "in", frozenset({"palms", "soles"}), "[palms, soles]"), "soles", T),
        (Leaf("site", "in", frozenset({"palms", "soles"}), "[palms, soles]"), "face", F),
        (Leaf("drug_allergies", "contains", "lidocaine", "lidocaine"), frozenset({"lidocaine"}),
         T),
        (Leaf("drug_allergies", "contains", "lidocaine", "lidocaine"), frozenset(), F),
        (Leaf("electrode_area", "known", True, "true"), 6.0, T),
        (Leaf("electrode_area", "known", False, "false"), 6.0, F),
    ],
)
def test_leaf_on_an_answer(leaf, value, expected):
    assert evaluate(leaf, {leaf.fact: value}) is expected


ALL_LEAF_KINDS = [
    Leaf("pacemaker", "is", True, "true"),
    Leaf("pacemaker", "is", False, "false"),
    Leaf("sex", "eq", "female", "female"),
    Leaf("sex", "ne", "male", "male"),
    Leaf("age", "lt", 6.0, "6 year"),
    Leaf("age", "le", 6.0, "6 year"),
    Leaf("age", "gt", 6.0, "6 year"),
    Leaf("age", "ge", 6.0, "6 year"),
    Leaf("site", "in", frozenset({"palms"}), "[palms]"),
    Leaf("drug_allergies", "contains", "lidocaine", "lidocaine"),
]


@pytest.mark.parametrize("leaf", ALL_LEAF_KINDS, ids=lambda lf: f"{lf.fact}-{lf.op}")
def test_every_leaf_is_unknown_on_an_unanswered_fact(leaf):
    assert evaluate(leaf, {}) is U
    assert evaluate(leaf, {leaf.fact: UNKNOWN}) is U


@pytest.mark.parametrize("leaf", ALL_LEAF_KINDS, ids=lambda lf: f"{lf.fact}-{lf.op}")
def test_every_leaf_is_false_on_a_question_that_does_not_apply(leaf):
    assert evaluate(leaf, {leaf.fact: NOT_APPLICABLE}) is F


@pytest.mark.parametrize(
    ("want", "value", "expected"),
    [
        (True, UNKNOWN, F), (False, UNKNOWN, T),
        (True, NOT_APPLICABLE, F), (False, NOT_APPLICABLE, T),
        (True, False, T), (False, False, F),  # an answered "no" is still answered
    ],
)
def test_known_is_never_unknown(want, value, expected):
    env = {} if value is UNKNOWN else {"pregnant": value}
    assert evaluate(Leaf("pregnant", "known", want, str(want).lower()), env) is expected


def test_not_applicable_never_blocks_even_under_not():
    # {not: {fact: pregnant, is: true}} for a male patient: the inner leaf is F, so the not is T.
    cond = Not(Leaf("pregnant", "is", True, "true"))
    assert evaluate(cond, {"pregnant": NOT_APPLICABLE}) is T


def test_compiled_condition_returns_plain_ints():
    compiled = compile_condition(_leaf_for("x"))
    assert compiled({"x": True}) == 2 and compiled({}) == 1 and compiled({"x": False}) == 0


def test_undecided_facts_lists_only_facts_that_can_still_change_the_result():
    cond = AnyOf((
        AllOf((_leaf_for("a"), _leaf_for("b"))),  # a false: this part is settled
        _leaf_for("c"),
        _leaf_for("d"),
    ))
    assert undecided_facts(cond, {"a": False}) == ("c", "d")
    assert undecided_facts(cond, {"a": True}) == ("b", "c", "d")
    # A true part settles the whole `any`: nothing left to ask.
    assert undecided_facts(cond, {"c": True}) == ()


def test_trace_records_every_node():
    cond = AllOf((Leaf("age", "lt", 14.0, "14 year"), Leaf("site", "in",
                                                          frozenset({"palms"}), "[palms]")))
    got = trace(cond, {"age": 10.0}, lambda f, v: f"{v} shown")
    assert got == {
        "op": "all",
        "result": "unknown",
        "parts": [
            {"fact": "age", "op": "lt", "expected": "14 year", "seen": "10.0 shown",
             "result": "true"},
            {"fact": "site", "op": "in", "expected": "[palms]", "seen": None,
             "result": "unknown"},
        ],
    }
    not_trace = trace(Not(_leaf_for("x")), {"x": NOT_APPLICABLE}, lambda f, v: v)
    assert not_trace["result"] == "true"
    assert not_trace["parts"][0]["seen"] == "not applicable"


def test_model_helpers():
    cond = AllOf((Leaf("age", "lt", 14.0, "14 year"),
                  AnyOf((Leaf("site", "in", frozenset({"palms"}), "[palms]"),
                         Not(Leaf("age", "ge", 3.0, "3 year"))))))
    assert facts_read(cond) == ("age", "site")
    assert [leaf.op for leaf in leaves(cond)] == ["lt", "in", "ge"]
    assert describe(cond) == "age < 14 year and (site in [palms] or not (age ≥ 3 year))"
    assert repr(UNKNOWN) == "UNKNOWN" and repr(NOT_APPLICABLE) == "NOT_APPLICABLE"
    assert UNKNOWN != False  # noqa: E712 - the sentinel is never mistaken for false
