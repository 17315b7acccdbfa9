"""What a rule *is*: immutable definitions, kept apart from the code that evaluates them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum, StrEnum
from typing import Any

from ionto_cds.errors import Location


class Truth(IntEnum):
    """Kleene's three truth values, ordered so that `all` is min, `any` is max, `not` is 2 - x."""

    FALSE = 0
    UNKNOWN = 1
    TRUE = 2

    @property
    def label(self) -> str:
        """'true', 'false' or 'unknown', as written in reports and JSON."""
        return self.name.lower()


class Severity(StrEnum):
    """How strongly a rule speaks against treatment."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    PRECAUTION = "precaution"

    @property
    def rank(self) -> int:
        """0 for absolute, 1 for relative, 2 for precaution (most serious first)."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Modality(StrEnum):
    """How the current is used: water alone, or to carry a drug."""

    TAP_WATER = "tap_water"
    DRUG_ASSISTED = "drug_assisted"


ALL_MODALITIES = frozenset(m.value for m in Modality)


class FactType(StrEnum):
    """The kinds of answer a fact takes."""

    BOOL = "bool"
    ENUM = "enum"
    INT = "int"
    QUANTITY = "quantity"
    LIST = "list"


@dataclass(frozen=True)
class Leaf:
    """A test of one fact, e.g. ``{fact: age, lt: 6 year}``.

    ``value`` is normalised at load time (quantities as magnitudes in the fact's default unit,
    sets as frozensets); ``shown`` is the expected value as the author wrote it.
    """

    fact: str
    op: str
    value: Any
    shown: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AllOf:
    """True when every part is true (Kleene conjunction)."""

    parts: tuple[Condition, ...]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AnyOf:
    """True when some part is true (Kleene disjunction)."""

    parts: tuple[Condition, ...]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Not:
    """The negation of a condition; unknown stays unknown."""

    part: Condition
    location: Location | None = field(default=None, compare=False)


Condition = Leaf | AllOf | AnyOf | Not


def facts_read(condition: Condition) -> tuple[str, ...]:
    """Every fact a condition reads, in the order written, without repeats."""
    return tuple(dict.fromkeys(leaf.fact for leaf in leaves(condition)))


def leaves(condition: Condition) -> tuple[Leaf, ...]:
    """Every leaf of a condition, in the order written."""
    if isinstance(condition, Leaf):
        return (condition,)
    if isinstance(condition, Not):
        return leaves(condition.part)
    return tuple(leaf for part in condition.parts for leaf in leaves(part))


class ReviewStatus(StrEnum):
    """Where an entry stands in clinical review: a draft is never released, a retired entry
    never acts (it stays in its file so its id is never reused)."""

    DRAFT = "draft"
    REVIEWED = "reviewed"
    RETIRED = "retired"


@dataclass(frozen=True)
class Review:
    """The clinical review of a rule, protocol or drug (``review:`` in its YAML entry)."""

    status: ReviewStatus
    reviewed_by: str = ""
    reviewed_on: date | None = None
    next_review: date | None = None
    written: bool = True
    """False when the entry has no ``review:`` block (it then counts as a draft)."""

    def overdue(self, today: date) -> bool:
        """True when the next review date has passed (retired entries are never due)."""
        return (self.status is not ReviewStatus.RETIRED and self.next_review is not None
                and self.next_review < today)


UNREVIEWED = Review(ReviewStatus.DRAFT, written=False)
"""The review of an entry that has no ``review:`` block: a draft."""


@dataclass(frozen=True)
class RuleMetadata:
    """Who wrote a rule, its revision and when it was last reviewed."""

    version: str
    author: str
    last_reviewed: str


VARIANT_EFFECT = "parameters"
"""The effect key that switches a plan to a protocol's named starting parameters (a variant
such as ``children``); the other effect keys are limits."""


@dataclass(frozen=True)
class Rule:
    """A contraindication, precaution or drug-specific rule."""

    id: str
    title: str
    severity: Severity
    applies_to: frozenset[str]
    when: Condition
    rationale: str
    action: str
    references: tuple[str, ...]
    metadata: RuleMetadata
    effect: Mapping[str, Any]
    location: Location
    review: Review = UNREVIEWED

    @property
    def is_general(self) -> bool:
        """True when the rule is about iontophoresis as such and so decides the decision."""
        return self.applies_to >= ALL_MODALITIES


class EvidenceGrade(StrEnum):
    """What kind of source a reference is, by study type (a bench study is not a trial)."""

    GUIDELINE = "guideline"
    SYSTEMATIC_REVIEW = "systematic_review"
    RCT = "rct"
    TRIAL = "trial"  # a non-randomised or open-label clinical study of a treatment
    COHORT = "cohort"
    CASE_SERIES = "case_series"
    CASE_REPORT = "case_report"
    BENCH = "bench"  # laboratory, in-vitro, animal or healthy-volunteer experiment
    REVIEW = "review"
    LABEL = "label"
    DATABASE = "database"  # drug-interaction or lactation databases (LactMed)
    POLICY = "policy"  # commissioning or hospital policy
    STANDARD = "standard"
    MANUFACTURER = "manufacturer"
    LEAFLET = "leaflet"
    OTHER = "other"


@dataclass(frozen=True)
class Reference:
    """A citation that rules, drugs and protocols point to by key."""

    key: str
    citation: str
    url: str | None
    grade: EvidenceGrade
    note: str | None
    location: Location


class _Sentinel:
    """A named marker value with a readable repr."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


UNKNOWN: Any = _Sentinel("UNKNOWN")
"""An unanswered fact. Never mistaken for false: leaves on it evaluate to Truth.UNKNOWN."""

NOT_APPLICABLE: Any = _Sentinel("NOT_APPLICABLE")
"""A fact whose question does not apply (pregnancy for a male patient): leaves on it are false."""
