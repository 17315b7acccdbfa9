"""The fictional cohort a surviving mutant is compared on, and what is compared.

The cohort is fixed and seeded: neighbours of the vignettes (each vignette's answers with a few
re-drawn from the cohort), so that the clinically interesting corners are visited, and three
strata of :func:`~ionto_cds.cohort.synthetic.fictional_cohort` (many answers and
contraindications; few; none, so that plans are made). A mutant whose outcome is the same as
the original's on every patient is "equivalent on N fictional patients", which is evidence,
not a proof.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pandas as pd

from ionto_cds.analysis.cases import Case
from ionto_cds.analysis.expectations import actual
from ionto_cds.engine.assess import assess
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError, PatientDataError
from ionto_cds.evaluation.answers import FactSet
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.program import Program
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import FactType
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import Quantity, pretty_quantity

STRATA = ((13, 0.0, 0.0), (12, 0.02, 0.02), (11, 0.1, 0.1))
"""(seed, share unanswered, share of yes) of each stratum of the fictional cohort."""
NEIGHBOUR_SHARE = 0.25
"""The share of the cohort that is vignette neighbours."""
REDRAWN = 3
"""How many answers of a vignette a neighbour re-draws."""
_SEED = 17

class CohortMaker(Protocol):
    """:func:`ionto_cds.cohort.synthetic.fictional_cohort` (passed in: analysis and cohort are
    sibling layers)."""

    def __call__(self, program: Program, n: int, seed: int = ..., unknown: float = ...,
                 yes: float = ...) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Cohort:
    """Fictional patients' canonical answers, as read by the original rules, and the original
    rules' outcome for each."""

    patients: tuple[Mapping[str, Any], ...]
    answers: tuple[FactSet, ...]
    expected: tuple[Projection, ...]


def build_cohort(make: CohortMaker, ruleset: RuleSet, cases: Sequence[Case], n: int
                 ) -> Cohort:
    """The fixed cohort of ``n`` patients (vignette neighbours first, then the strata), with
    the original rules' outcomes."""
    catalog = ruleset.catalog
    neighbours = round(n * NEIGHBOUR_SHARE) if cases else 0
    frames, left = [], n - neighbours
    for k, (seed, unknown, yes) in enumerate(STRATA):
        size = left // (len(STRATA) - k)
        left -= size
        frames.append(make(ruleset.program, size, seed=seed, unknown=unknown, yes=yes))
    drawn = _records(pd.concat(frames, ignore_index=True), catalog)
    patients = _neighbours(ruleset, cases, drawn, n - len(drawn)) + drawn
    answers = tuple(ruleset.validate(p) for p in patients)
    return Cohort(tuple(patients), answers, tuple(project(a, ruleset) for a in answers))


def first_difference(cohort: Cohort, ruleset: RuleSet, same_questions: bool) -> str | None:
    """How the first patient whose outcome under ``ruleset`` differs differs, or None when
    none does. With ``same_questions`` (facts.yaml unchanged) the original's reading of the
    answers is reused; otherwise each patient's answers are read again, by the mutant."""
    given: Sequence[Mapping[str, Any] | FactSet] = (
        cohort.answers if same_questions else cohort.patients)
    plans: dict[int, tuple[Plan, PlanNumbers]] = {}
    for i, (answers, want) in enumerate(zip(given, cohort.expected, strict=True)):
        got = project(answers, ruleset, plans)
        if got != want and (replace(got, plan=want.plan) != want
                            or not _same_numbers(want.numbers, got.numbers)):
            return f"fictional patient {i + 1}: {_difference(want, got)}"
    return None


@dataclass(frozen=True)
class Projection:
    """One patient's outcome as compared: what a vignette can pin, findings with status, and
    every plan number (quantities compared in base units; ``shown`` says them, uncompared)."""

    decision: str
    findings: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    protocol: str | None = None
    referral: str | None = None
    plan: tuple[tuple[str, Any], ...] = ()
    numbers: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


PlanNumbers = tuple[tuple[tuple[str, Any], ...], Mapping[str, Any]]


def project(values: Mapping[str, Any] | FactSet, ruleset: RuleSet,
            plans: dict[int, tuple[Plan, PlanNumbers]] | None = None) -> Projection:
    """One patient's outcome under a rule set (``plans`` keeps the numbers of the plans seen,
    by identity: the rule set's plan cache hands out one plan for many patients)."""
    try:
        a = assess(values, ruleset)
    except PatientDataError as exc:
        return Projection("answers refused (" + ", ".join(sorted({p.fact for p in exc.problems}))
                          + ")")
    except IontoError as exc:
        return Projection(f"error ({type(exc).__name__})")
    plan = a.protocol
    compared, numbers = _plan_numbers(plan, plans if plans is not None else {})
    return Projection(
        a.decision.value, tuple(sorted(f"{f.rule.id} ({f.status.name.lower()})"
                                       for f in a.findings)),
        tuple(sorted(a.missing)), plan.protocol.id if plan else None,
        a.referral.id if a.referral else None, compared, numbers)


def _plan_numbers(plan: Plan | None, seen: dict[int, tuple[Plan, PlanNumbers]]) -> PlanNumbers:
    if plan is None:
        return (), {}
    if id(plan) not in seen:  # the plan is kept with its numbers, so its id stays its own
        numbers = actual(plan)
        seen[id(plan)] = (plan, (tuple(sorted((k, _number(v)) for k, v in numbers.items())),
                                 numbers))
    return seen[id(plan)][1]


def _difference(want: Projection, got: Projection) -> str:
    if want.decision != got.decision:
        return f"decision {want.decision} became {got.decision}"
    for name, noun, added, removed in (("findings", "finding", "added", "gone"),
                                       ("missing", "question", "asked", "no longer asked")):
        before, after = getattr(want, name), getattr(got, name)
        if before != after:
            return "; ".join([*(f"{noun} {x} {added}" for x in sorted(set(after) - set(before))),
                              *(f"{noun} {x} {removed}"
                                for x in sorted(set(before) - set(after)))])
    for name in ("protocol", "referral"):
        if getattr(want, name) != getattr(got, name):
            return f"{name} {getattr(want, name) or 'none'} became {getattr(got, name) or 'none'}"
    before, after = dict(want.plan), dict(got.plan)
    key = min(k for k in {*before, *after} if before.get(k) != after.get(k))
    return (f"plan {key.replace('.', ' ').replace('_', ' ')} {_shown(want.numbers.get(key))} "
            f"became {_shown(got.numbers.get(key))}")


def _shown(value: Any) -> str:
    if isinstance(value, Quantity):
        return pretty_quantity(value)
    return "none" if value is None else str(value)


def _number(value: Any) -> Any:
    """A plan number as first compared: a quantity's magnitude and units as they are (the same
    value in other units is then compared again, converted: :func:`_same_numbers`)."""
    if isinstance(value, Quantity):
        return float(value.magnitude), value.units
    return value


def _same_numbers(want: Mapping[str, Any], got: Mapping[str, Any]) -> bool:
    """Whether two plans' numbers are the same, quantities compared in one unit."""
    if set(want) != set(got):
        return False
    for key, a in want.items():
        b = got[key]
        if isinstance(a, Quantity) and isinstance(b, Quantity):
            if a.dimensionality != b.dimensionality or not math.isclose(
                    float(a.to_base_units().magnitude), float(b.to_base_units().magnitude),
                    rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif a != b:
            return False
    return True


_CONVERT: Mapping[FactType, Callable[[Any], Any]] = {
    FactType.BOOL: bool, FactType.INT: int, FactType.QUANTITY: float, FactType.ENUM: str,
    FactType.LIST: lambda raw: frozenset(s for s in str(raw).split(SEPARATOR) if s),
}


def _records(frame: pd.DataFrame, catalog: FactCatalog) -> list[dict[str, Any]]:
    """Canonical answers of every row (as :func:`~ionto_cds.evaluation.frame.row_values`
    gives them, one column at a time), derived facts left out: they are worked out."""
    rows: list[dict[str, Any]] = [{} for _ in range(len(frame))]
    for name in frame.columns:
        if name not in catalog or catalog[name].is_derived:
            continue
        convert = _CONVERT[catalog[name].type]
        for row, raw in zip(rows, frame[name].tolist(), strict=True):
            if raw is None or raw is pd.NA or (isinstance(raw, float) and math.isnan(raw)):
                continue
            row[name] = convert(raw)
    return rows


def _neighbours(ruleset: RuleSet, cases: Sequence[Case], drawn: list[dict[str, Any]],
                n: int) -> list[dict[str, Any]]:
    """Vignettes' answers with a few re-drawn from cohort rows: those the rules accept."""
    rng = random.Random(_SEED)
    starts = []
    for case in cases:
        try:
            starts.append(ruleset.catalog.normalise(case.answers))
        except PatientDataError:
            continue
    names = [f.name for f in ruleset.catalog if not f.is_derived]
    out: list[dict[str, Any]] = []
    for attempt in range(4 * n):
        if len(out) >= n or not starts or not drawn:
            break
        values = dict(starts[attempt % len(starts)])
        donor = drawn[rng.randrange(len(drawn))]
        for name in rng.sample(names, min(REDRAWN, len(names))):
            values.pop(name, None)
            if name in donor:
                values[name] = donor[name]
        try:
            ruleset.validate(values)
        except PatientDataError:
            continue
        out.append(values)
    return out
