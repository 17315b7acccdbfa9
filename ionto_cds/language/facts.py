"""The fact catalog: the questionnaire of rules/facts.yaml, and how one raw answer is read."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ionto_cds.errors import (
    AnswerError,
    AnswerProblem,
    Location,
    PatientDataError,
    UnitError,
    quote,
)
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Condition, FactType
from ionto_cds.language.operators import describe
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import parse_quantity, plain_number, pretty_quantity, pretty_unit, unit

_TRUE_WORDS = {"true", "yes", "y"}
_FALSE_WORDS = {"false", "no", "n"}
UNKNOWN_WORDS = frozenset({"", "unknown", "null", "none", "na", "n/a", "?"})
"""Texts that mean "not answered" (for a list fact, "none" means the empty list)."""


MAX_UNKNOWN_SHOWN = 20
"""Unknown answer names listed in a refusal (all are counted)."""


@dataclass(frozen=True)
class FactGroup:
    """A section of the form."""

    id: str
    label: str


@dataclass(frozen=True)
class DerivedCase:
    """One case of a derived fact: when ``when`` is true (and no earlier case is true or
    unknown) the fact takes ``value`` (canonical: a frozenset for a list, a word for an enum)."""

    when: Condition
    value: Any


@dataclass(frozen=True)
class FactDef:
    """One question: its type, unit, range, allowed values, label, help and when it applies.

    ``minimum`` and ``maximum`` are magnitudes in ``unit`` for quantities. A *derived* fact is
    not asked: it is worked out from other answers by its ``derived`` cases (the first that is
    true gives the value; one that is unknown before it leaves the fact unknown; when none is
    true, ``otherwise``, or unknown when that is None).
    """

    name: str
    type: FactType
    label: str
    help: str
    group: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    required: bool = False
    asked_when: Condition | None = None
    """When false the question cannot apply (pregnancy for a male patient): it is not asked,
    never blocks, and a yes to it is a contradiction the input is refused for."""
    ask_only_when: Condition | None = None
    """When false the question is not asked and never blocks, but an answer given anyway
    counts (pregnancy outside the ages it is usually asked at)."""
    derived: tuple[DerivedCase, ...] = ()
    otherwise: Any = None
    location: Location | None = field(default=None, compare=False)

    @property
    def is_derived(self) -> bool:
        """True for a fact worked out from other answers, never asked."""
        return bool(self.derived)

    def normalise(self, raw: object) -> Any:
        """Turn one raw answer into its canonical value, or ``UNKNOWN`` when unanswered.

        Raises :class:`~ionto_cds.errors.AnswerError` with a message that says what is expected.
        """
        if raw is True or raw is False:  # the commonest answer, read without more ado
            if self.type is FactType.BOOL:
                return raw
        elif raw is None or (isinstance(raw, float) and math.isnan(raw)):
            return UNKNOWN
        if isinstance(raw, str) and raw.strip().lower() in UNKNOWN_WORDS and (
            self.type is not FactType.ENUM or raw.strip().lower() not in self.values
        ):
            if self.type is FactType.LIST and raw.strip().lower() == "none":
                return frozenset()
            return UNKNOWN
        kind = self.type
        if kind is FactType.BOOL:
            return self._bool(raw)
        if kind is FactType.ENUM:
            return self._enum(raw)
        if kind is FactType.INT:
            return self._int(raw)
        if kind is FactType.QUANTITY:
            return self._quantity(raw)
        return self._list(raw)

    def _bool(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            word = raw.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise AnswerError(raw, f"expected yes/no (true/false) or leave it empty for unknown, "
                          f"got {quote(raw)}")

    def _enum(self, raw: object) -> str:
        if isinstance(raw, str) and raw in self.values:
            return raw
        allowed = ", ".join(self.values)
        raise AnswerError(raw, f"{quote(raw)} is not one of: {allowed}"
                          f"{did_you_mean(raw, self.values)}")

    def _int(self, raw: object) -> int:
        value: int
        if isinstance(raw, bool):
            raise AnswerError(raw, f"expected a whole number, got {quote(raw)}")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        elif isinstance(raw, str) and 0 < len(raw.strip()) <= 18 \
                and raw.strip().lstrip("+-").isdecimal():  # what int() reads ('¹' is not)
            value = int(raw.strip())
        else:
            raise AnswerError(raw, f"expected a whole number, got {quote(raw)}")
        self._check_range(value, str(value))
        return value

    def _quantity(self, raw: object) -> float:
        unit_name = self.unit or ""
        if isinstance(raw, str) and (number := plain_number(raw)) is not None:
            raw = number  # a bare number in a file or cell means the default unit
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw) \
                and abs(raw) < 1e9:
            # A bare number is already in the default unit: no parsing needed.
            self._check_range(float(raw), f"{raw:g} {pretty_unit(unit(unit_name))}")
            return float(raw)
        if isinstance(raw, str):
            magnitude, shown = _parsed_magnitude(raw, unit_name)
        else:
            magnitude, shown = _magnitude(raw, unit_name)
        self._check_range(magnitude, shown)
        return magnitude

    def _list(self, raw: object) -> frozenset[str]:
        if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
            example = self.values[0] if self.values else "value"
            raise AnswerError(raw, f"expected a list such as [{example}], or [] for none; "
                              f"got {quote(raw)}")
        items: set[str] = set()
        for item in raw:
            if not isinstance(item, str) or item not in self.values:
                allowed = ", ".join(self.values)
                raise AnswerError(raw, f"{quote(item)} is not one of: {allowed}"
                                  f"{did_you_mean(item, self.values)}")
            items.add(item)
        return frozenset(items)

    def _check_range(self, value: float, shown: str) -> None:
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise AnswerError(value, f"{shown} is out of range ({self.range_text()})")

    def range_text(self) -> str:
        """The allowed range as written for a clinician, e.g. '0 year to 120 year'."""
        unit_name = f" {pretty_unit(unit(self.unit))}" if self.unit else ""

        def fmt(x: float) -> str:
            return f"{x:g}{unit_name}"

        if self.minimum is not None and self.maximum is not None:
            return f"{fmt(self.minimum)} to {fmt(self.maximum)}"
        if self.minimum is not None:
            return f"at least {fmt(self.minimum)}"
        if self.maximum is not None:
            return f"at most {fmt(self.maximum)}"
        return "any"

    def show(self, value: Any) -> Any:
        """A canonical value as JSON-friendly display: '34 year', True, 'palms', ['lidocaine']."""
        if value is UNKNOWN:
            return None
        if value is NOT_APPLICABLE:
            return "not applicable"
        if self.type is FactType.QUANTITY:
            return f"{float(f'{value:.6g}'):g} {self.unit}"
        if self.type is FactType.LIST:
            return sorted(value)
        return value


@lru_cache(maxsize=4096)
def _parsed_magnitude(text: str, unit_name: str) -> tuple[float, str]:
    """Magnitude in ``unit_name`` of a clinician's text, parsed once per distinct text."""
    return _magnitude(text, unit_name)


def _magnitude(raw: object, unit_name: str) -> tuple[float, str]:
    try:
        quantity = parse_quantity(raw, unit_name)
    except UnitError as exc:
        raise AnswerError(raw, exc.message) from None
    return float(quantity.to(unit(unit_name)).magnitude), pretty_quantity(quantity)


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_]{1,60}$")


def _name(name: object) -> str:
    """A key as a message shows it: plain names as written, anything else quoted safely."""
    return name if isinstance(name, str) and _PLAIN_NAME.match(name) else quote(name)


class FactCatalog:
    """Every fact of rules/facts.yaml, in form order, with their groups."""

    def __init__(self, facts: Mapping[str, FactDef], groups: tuple[FactGroup, ...]) -> None:
        self.facts: Mapping[str, FactDef] = dict(facts)
        self.groups = groups
        self.order = {name: i for i, name in enumerate(self.facts)}
        self.required = tuple(f.name for f in self.facts.values() if f.required)
        self.asked = tuple(f for f in self.facts.values() if not f.is_derived)
        """The facts a form asks (every fact but the derived ones), in order."""

    def __contains__(self, name: object) -> bool:
        return name in self.facts

    def __getitem__(self, name: str) -> FactDef:
        return self.facts[name]

    def __iter__(self) -> Iterator[FactDef]:
        return iter(self.facts.values())

    def __len__(self) -> int:
        return len(self.facts)

    def in_group(self, group: str) -> tuple[FactDef, ...]:
        """The facts of one form section, in order."""
        return tuple(f for f in self.facts.values() if f.group == group)

    def normalise(self, answers: Mapping[str, object], source: str | None = None
                  ) -> dict[str, Any]:
        """Canonical values of raw answers (unanswered ones left out).

        Every problem is collected before raising :class:`PatientDataError`: unknown facts (with
        a suggestion), wrong types, values out of range, unknown enum values, bad quantities.
        """
        if not isinstance(answers, Mapping):
            raise PatientDataError(
                [AnswerProblem("(answers)", answers, "expected a mapping of fact: answer")], source
            )
        problems: list[AnswerProblem] = []
        values: dict[str, Any] = {}
        unknown = 0
        for name, raw in answers.items():
            if not isinstance(name, str) or name not in self.facts:
                unknown += 1
                if unknown <= MAX_UNKNOWN_SHOWN:  # every one counted, the first few named
                    problems.append(AnswerProblem(_name(name), raw, "unknown fact"
                                                  f"{did_you_mean(name, self.facts)}"))
                continue
            fact = self.facts[name]
            try:
                value = fact.normalise(raw)
            except AnswerError as exc:
                problems.append(AnswerProblem(name, raw, str(exc)))
                continue
            if fact.is_derived and value is not UNKNOWN:
                problems.append(AnswerProblem(name, raw, "is worked out from other answers "
                                              "(facts.yaml), not answered: leave it out"))
                continue
            if value is not UNKNOWN:
                values[name] = value
        if problems:
            raise PatientDataError(problems, source,
                                   total=len(problems) + max(unknown - MAX_UNKNOWN_SHOWN, 0))
        return values

    def why_not_asked(self, name: str) -> str:
        """Why a question does not apply, e.g. 'asked only when sex ≠ male'."""
        fact = self.facts[name]
        parts = [describe(c) for c in (fact.asked_when, fact.ask_only_when) if c is not None]
        return f"asked only when {' and '.join(parts)}" if parts else "always asked"

    def gate_conditions(self, name: str) -> tuple[Condition, ...]:
        """The conditions that decide whether a question is asked (either kind)."""
        fact = self.facts[name]
        return tuple(c for c in (fact.asked_when, fact.ask_only_when) if c is not None)
