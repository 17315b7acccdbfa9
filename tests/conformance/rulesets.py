"""Hypothesis strategies for random rule sets over a small catalog of every fact type.

Leaves are drawn from the operator table (each operator over the fact types it fits), nested
in random all/any/not trees; rules get random severities, scopes (every modality, one
modality, one drug) and caps; protocols get random conditions, priorities, drugs and limits,
and a referral. Patients answer any subset of the catalog.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import Location
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.language.facts import DerivedCase, FactCatalog, FactDef, FactGroup
from ionto_cds.language.loader import RuleSource
from ionto_cds.language.model import (
    ALL_MODALITIES,
    VARIANT_EFFECT,
    AllOf,
    AnyOf,
    Condition,
    FactType,
    Leaf,
    Not,
    Rule,
    RuleMetadata,
    Severity,
)
from ionto_cds.language.operators import OPERATORS, ValueShape, fitting
from ionto_cds.language.treatment import (
    Drug,
    Ion,
    Limits,
    Polarity,
    Protocol,
    ProtocolKind,
    Variant,
)
from ionto_cds.units import Quantity

HERE = Location("conformance")
DRUGS = ("d1", "d2")
ENUM = ("a", "b", "c")


def _fact(name: str, kind: FactType, **extra: Any) -> FactDef:
    return FactDef(name=name, type=kind, label=name, help="", group="g", **extra)


BASE_FACTS = (
    _fact("b1", FactType.BOOL), _fact("b2", FactType.BOOL), _fact("b3", FactType.BOOL),
    _fact("e1", FactType.ENUM, values=ENUM, required=True),
    _fact("e2", FactType.ENUM, values=ENUM),
    _fact("n1", FactType.INT, minimum=0, maximum=10),
    _fact("q1", FactType.QUANTITY, unit="year", minimum=0, maximum=100),
    _fact("electrode_area", FactType.QUANTITY, unit="cm^2", minimum=0.5, maximum=1000),
    _fact("l1", FactType.LIST, values=DRUGS),
)
"""p1 and p2 (in :func:`catalog`) are derived from these."""
"""b3 is asked only when e1 is not 'a', so some answers do not apply."""

NUMBERS = {"n1": (0, 10), "q1": (0.0, 100.0), "electrode_area": (0.5, 1000.0)}


def catalog() -> FactCatalog:
    facts = {f.name: f for f in BASE_FACTS}
    facts["b3"] = _fact("b3", FactType.BOOL, asked_when=Leaf("e1", "ne", "a", "a"))
    # asked only when n1 >= 3, but an answer given anyway counts
    facts["b4"] = _fact("b4", FactType.BOOL, ask_only_when=Leaf("n1", "ge", 3, "3"))
    # Derived facts: a list (a path) from an enum and a bool, with an unknown-able first case,
    # and an enum without 'otherwise' (unknown when no case is true).
    facts["p1"] = _fact("p1", FactType.LIST, values=DRUGS, derived=(
        DerivedCase(AllOf((Leaf("e2", "eq", "a", "a"), Leaf("b1", "is", True, "true"))),
                    frozenset({"d1", "d2"})),
        DerivedCase(Leaf("e2", "in", frozenset({"a", "b"}), "[a, b]"), frozenset({"d1"})),
    ), otherwise=frozenset())
    facts["p2"] = _fact("p2", FactType.ENUM, values=ENUM, derived=(
        DerivedCase(Leaf("b3", "is", True, "true"), "c"),
        DerivedCase(Leaf("n1", "ge", 5, "5"), "b"),
    ))
    return FactCatalog(facts, (FactGroup("g", "G"),))


CATALOG = catalog()


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    fact = draw(st.sampled_from([f for f in CATALOG if f.name != "electrode_area"]))
    op = draw(st.sampled_from(fitting(fact.type)))
    shape = OPERATORS[op].shape
    if shape is ValueShape.FLAG:
        value: Any = draw(st.booleans())
        return Leaf(fact.name, op, value, str(value).lower())
    if fact.type is FactType.ENUM or fact.type is FactType.LIST:
        if shape is ValueShape.SET:
            chosen = draw(st.sets(st.sampled_from(fact.values), min_size=1))
            return Leaf(fact.name, op, frozenset(chosen), str(sorted(chosen)))
        value = draw(st.sampled_from(fact.values))
        return Leaf(fact.name, op, value, value)
    low, high = NUMBERS[fact.name]
    if fact.type is FactType.INT:
        if shape is ValueShape.SET:
            chosen = draw(st.sets(st.integers(int(low), int(high)), min_size=1, max_size=3))
            return Leaf(fact.name, op, frozenset(chosen), str(sorted(chosen)))
        value = draw(st.integers(int(low), int(high)))
        return Leaf(fact.name, op, value, str(value))
    value = float(draw(st.integers(int(low), int(high))))
    return Leaf(fact.name, op, value, f"{value:g} {fact.unit}")


def conditions(depth: int = 3) -> st.SearchStrategy[Condition]:
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda ps: AllOf(tuple(ps))),
            st.lists(inner, min_size=1, max_size=3).map(lambda ps: AnyOf(tuple(ps))),
            inner.map(Not),
        ),
        max_leaves=depth * 2,
    )


SCOPES = (ALL_MODALITIES, frozenset({"tap_water"}), frozenset({"drug_assisted"}),
          frozenset({"d1"}), frozenset({"d2"}))


@st.composite
def rules(draw: st.DrawFn, n: int) -> tuple[Rule, ...]:
    out = []
    for i in range(n):
        effect: dict[str, Any] = {}
        if draw(st.integers(0, 4)) == 0:
            effect = {"max_current": Quantity(float(draw(st.integers(2, 15))), "mA")}
        if draw(st.integers(0, 5)) == 0:
            effect[VARIANT_EFFECT] = "young"
        if draw(st.integers(0, 6)) == 0:
            effect["max_dose"] = Quantity(float(draw(st.integers(20, 300))), "mA*min")
        out.append(Rule(
            id=f"r{i}", title=f"rule {i}", severity=draw(st.sampled_from(list(Severity))),
            applies_to=draw(st.sampled_from(SCOPES)), when=draw(conditions()),
            rationale="why", action="what", references=("ref",),
            metadata=RuleMetadata("1", "test", "2026-01-01"), effect=effect, location=HERE))
    return tuple(out)


def drugs() -> dict[str, Drug]:
    def drug(key: str, polarity: str, ion: str) -> Drug:
        return Drug(key=key, label=key, ion=Ion(ion), polarity=Polarity(polarity), valence=1,
                    molar_mass=Quantity(300.0, "g/mol"), solution="s", concentration="",
                    indications=(), dose_min=Quantity(20.0, "mA*min"),
                    dose_max=Quantity(80.0, "mA*min"), max_current=Quantity(4.0, "mA"),
                    side_effects=(), references=("ref",))

    return {"d1": drug("d1", "anode", "cation"), "d2": drug("d2", "cathode", "anion")}


@st.composite
def protocols(draw: st.DrawFn) -> tuple[Protocol, ...]:
    kinds = draw(st.lists(st.sampled_from(["tap_water", "d1", "d2", "referral"]), min_size=1,
                          max_size=5))
    priorities = draw(st.lists(st.integers(0, 1000), min_size=len(kinds), max_size=len(kinds),
                               unique=True))
    out = []
    for i, (kind, priority) in enumerate(zip(kinds, priorities, strict=True)):
        common = dict(id=f"p{i}", title=f"protocol {i}", priority=priority,
                      when=draw(conditions(2)), summary="s", references=("ref",))
        if kind == "referral":
            out.append(Protocol(modality=ProtocolKind.REFERRAL, drug=None, **common))
            continue
        drug = None if kind == "tap_water" else kind
        by_dose = draw(st.booleans())
        current = float(draw(st.integers(1, 15)))
        low = float(draw(st.integers(1, 3)))
        variants = (Variant("young", Quantity(low, "mA"), Quantity(low, "mA"),
                            Quantity(8.0, "mA"), "start low"),) if draw(st.booleans()) else ()
        requires = tuple(draw(st.sets(st.sampled_from(["electrode_area", "n1", "e2"]),
                                      max_size=2)))
        out.append(Protocol(
            variants=variants, requires=tuple(sorted(requires)),
            modality=ProtocolKind.TAP_WATER if drug is None else ProtocolKind.DRUG_ASSISTED,
            drug=drug,
            current=Quantity(current, "mA"),
            current_min=Quantity(float(draw(st.integers(0, int(current)))), "mA"),
            current_max=Quantity(20.0, "mA"),
            duration=None if by_dose else Quantity(float(draw(st.integers(5, 30))), "min"),
            target_dose=Quantity(40.0, "mA*min") if by_dose else None,
            polarity=(Polarity.ALTERNATING if drug is None else drugs()[drug].polarity),
            solution="water", max_dose=Quantity(float(draw(st.integers(100, 600))), "mA*min"),
            **common))
    order = {p.id: k for k, p in enumerate(out)}
    return tuple(sorted(out, key=lambda p: (-p.priority, order[p.id])))


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    limits = Limits({"anode": Quantity(1.0, "mA/cm^2"), "cathode": Quantity(0.5, "mA/cm^2"),
                     "alternating": Quantity(0.5, "mA/cm^2")}, "limits", ("ref",))
    source = RuleSource(
        directory=__import__("pathlib").Path("conformance"), version="random", sha256="0" * 64,
        catalog=CATALOG, rules=draw(rules(draw(st.integers(1, 12)))), references={},
        drugs=drugs(), protocols=draw(protocols()), limits=limits)
    return RuleSet(source)


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for fact in CATALOG.asked:
        if draw(st.integers(0, 3)) == 0:
            continue  # unanswered
        if fact.type is FactType.BOOL:
            values[fact.name] = draw(st.booleans())
        elif fact.type is FactType.ENUM:
            values[fact.name] = draw(st.sampled_from(fact.values))
        elif fact.type is FactType.LIST:
            values[fact.name] = frozenset(draw(st.sets(st.sampled_from(fact.values))))
        elif fact.type is FactType.INT:
            low, high = NUMBERS[fact.name]
            values[fact.name] = draw(st.integers(int(low), int(high)))
        else:
            low, high = NUMBERS[fact.name]
            values[fact.name] = float(draw(st.integers(int(low), int(high))))
    if values.get("e1") == "a" and values.get("b3") is True:
        values["b3"] = False  # a yes to a question that does not apply is refused at input
    return values


def canonical_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Canonical values of several patients as the frame evaluator reads them."""
    columns: dict[str, Any] = {}
    for fact in CATALOG.asked:
        cells = [row.get(fact.name) for row in rows]
        if fact.type is FactType.BOOL:
            columns[fact.name] = pd.array(cells, dtype="boolean")
        elif fact.type is FactType.INT:
            columns[fact.name] = pd.array(cells, dtype="Int64")
        elif fact.type is FactType.QUANTITY:
            columns[fact.name] = np.asarray([np.nan if c is None else c for c in cells],
                                            dtype=float)
        elif fact.type is FactType.LIST:
            columns[fact.name] = pd.array([None if c is None else SEPARATOR.join(sorted(c))
                                           for c in cells], dtype="str")
        else:
            columns[fact.name] = pd.array(cells, dtype="str")
    return pd.DataFrame(columns)
