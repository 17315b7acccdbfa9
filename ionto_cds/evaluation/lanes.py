"""What an evaluator gives the decision policy: lane algebra, program access, output sinks.

The policy (:mod:`ionto_cds.evaluation.policy`) is written once over *lanes*: one lane per
patient. The one-patient evaluator has one lane (truths are ints, masks are bools); the frame
evaluator has a lane per row (truths and masks are numpy arrays). Each implements these two
protocols; the policy never looks inside a truth or a mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ionto_cds.evaluation.outcomes import FindingRole, StepOutcome
from ionto_cds.language.model import Rule

T = TypeVar("T")  # truth lanes: 0 false, 1 unknown, 2 true per lane
M = TypeVar("M")  # mask lanes: a yes/no per lane
C = TypeVar("C")  # count lanes: a small whole number per lane
D = TypeVar("D")  # code lanes: a decision index per lane
D_co = TypeVar("D_co", covariant=True)
M_contra = TypeVar("M_contra", contravariant=True)
C_contra = TypeVar("C_contra", contravariant=True)
D_contra = TypeVar("D_contra", contravariant=True)
Y = TypeVar("Y", bound="Tally[Any, Any]")  # an evaluator's tally
Y_co = TypeVar("Y_co", bound="Tally[Any, Any]", covariant=True)


class Lanes(Protocol[T, M, C, D_co]):
    """The data-parallel primitives and program access of one evaluator."""

    none: M
    everyone: M

    def truth(self, node: int) -> T:
        """The truth of a program node on every lane."""

    def truths(self, nodes: Sequence[int]) -> list[T]:
        """The truths of several program nodes."""

    def is_(self, truth: T, value: int) -> M:
        """Lanes where ``truth`` is ``value``."""

    def is_not(self, truth: T, value: int) -> M:
        """Lanes where ``truth`` is not ``value``."""

    def any_is(self, truths: Sequence[T], value: int) -> M:
        """Lanes where some of ``truths`` is ``value``."""

    def any_of(self, masks: Sequence[M]) -> M:
        """Lanes in any of ``masks`` (at least one)."""

    def either(self, a: M, b: M) -> M:
        """Lanes in ``a`` or ``b``."""

    def both(self, a: M, b: M) -> M:
        """Lanes in ``a`` and ``b``."""

    def without(self, a: M, b: M) -> M:
        """Lanes in ``a`` but not ``b``."""

    def any(self, rows: M) -> bool:
        """Whether any lane is set."""

    def unanswered(self, fact: str) -> M:
        """Lanes where a fact is neither answered nor inapplicable."""

    def undecided(self, node: int, rows: M) -> Mapping[str, M]:
        """Per fact, the lanes of ``rows`` where an answer to it could still settle ``node``."""

    def focus(self, rows: M) -> Focus[Any]:
        """Lanes of only ``rows``, for work whose results matter on those lanes alone."""

    def count(self, rows: M) -> C:
        """1 on the lanes of ``rows``, else 0."""

    def plus(self, a: C, b: C) -> C:
        """Lane-wise sum."""

    def select(self, conditions: Sequence[M]) -> D_co:
        """Per lane, the index of the first condition that holds (the last must always hold)."""


class Focus(Protocol[Y_co]):
    """Some lanes of an evaluator (:meth:`Lanes.focus`): their lanes, how a mask or truth of
    every lane is narrowed to them, and how they count into a tally of every lane."""

    @property
    def lanes(self) -> Any:
        """The focused lanes (a :class:`Lanes` of the same evaluator)."""

    def narrow(self, lanes: Any) -> Any:
        """A mask or truth of every lane, on the focused lanes."""

    def tally(self, tally: Any) -> Y_co:
        """A tally of the focused lanes that counts into ``tally``."""


class Tally(Protocol[M_contra, C_contra]):
    """Counts of the facts to ask per lane, ranked by :func:`policy.fact_score`."""

    def add(self, fact: str, rows: M_contra, times: C_contra, severity: int) -> None:
        """A rule of ``severity`` (its rank) asks ``times`` for ``fact`` on ``rows``."""

    def first(self, fact: str, rows: M_contra) -> None:
        """``fact`` is asked before every other on ``rows`` (a required answer)."""


class Collector(Protocol[M_contra, D_contra, Y]):
    """Where an evaluator keeps what the policy decides, in its own form."""

    def tally(self) -> Y:
        """A fresh tally of facts to ask."""

    def findings(self, rules: Sequence[Rule], truths: Sequence[Any], protocol: int | None,
                 role: FindingRole, rows: M_contra, statuses: tuple[int, ...]) -> None:
        """Each rule is a finding on the lanes of ``rows`` where its truth is in ``statuses``."""

    def step(self, protocol: int, outcome: StepOutcome, rows: M_contra,
             rules: Sequence[tuple[Rule, M_contra]] = ()) -> None:
        """A protocol was looked at on ``rows`` with this outcome (and these rules)."""

    def questions(self, protocol: int, facts: Mapping[str, M_contra]) -> None:
        """Facts whose answer could move the choice to this (undecided) protocol."""

    def plan(self, protocol: int, rows: M_contra, caps: Sequence[tuple[Rule, M_contra]],
             precautions: Sequence[tuple[Rule, M_contra]]) -> tuple[Any, Any]:
        """Plan a protocol on ``rows`` under the caps that apply: the lanes that got a plan,
        and the lanes whose answered electrode is too small for the protocol's minimum current
        (the rest of ``rows`` are excluded by the limits)."""

    def missing(self, tally: Y) -> None:
        """The facts to ask, as tallied."""

    def decision(self, screen: D_contra, final: D_contra, screen_held: Sequence[M_contra],
                 final_held: Sequence[M_contra]) -> None:
        """The decision before and after the protocol walk, and which reasons of the decision
        table held (in :data:`policy.REASONS` order)."""
