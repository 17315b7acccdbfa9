"""The fact catalog (the questionnaire of rules/facts.yaml) and validated patient answers."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from ionto_cds.errors import AnswerProblem, Location, PatientDataError, UnitError
from ionto_cds.language.conditions import Compiled, compile_condition
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Condition, Truth
from ionto_cds.units import format_quantity, parse_quantity, unit


class FactType(StrEnum):
    """The kinds of answer a fact takes."""

    BOOL = "bool"
    ENUM = "enum"
    INT = "int"
    QUANTITY = "quantity"
    LIST = "list"


_TRUE_WORDS = {"true", "yes", "y"}
_FALSE_WORDS = {"false", "no", "n"}
_UNKNOWN_WORDS = {"", "unknown", "null", "none", "na", "n/a", "?"}


@dataclass(frozen=True)
class FactGroup:
    """A section of the form."""

    id: str
    label: str


@dataclass(frozen=True)
class FactDef:
    """One question: its type, unit, range, allowed values, label, help and when it applies.

    ``minimum`` and ``maximum`` are magnitudes in ``unit`` for quantities.
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
    location: Location | None = field(default=None, compare=False)

    def normalise(self, raw: object) -> Any:
        """Turn one raw answer into its canonical value, or ``UNKNOWN`` when unanswered.

        Raises ``ValueError`` with a message that says what is expected.
        """
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            return UNKNOWN
        if isinstance(raw, str) and raw.strip().lower() in _UNKNOWN_WORDS and (
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
        raise ValueError(f"expected yes/no (true/false) or leave it empty for unknown, got {raw!r}")

    def _enum(self, raw: object) -> str:
        if isinstance(raw, str) and raw in self.values:
            return raw
        allowed = ", ".join(self.values)
        hint = suggest(str(raw), self.values)
        raise ValueError(f"{raw!r} is not one of: {allowed}{hint}")

    def _int(self, raw: object) -> int:
        value: int
        if isinstance(raw, bool):
            raise ValueError(f"expected a whole number, got {raw!r}")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        elif isinstance(raw, str) and raw.strip().lstrip("+-").isdigit():
            value = int(raw.strip())
        else:
            raise ValueError(f"expected a whole number, got {raw!r}")
        self._check_range(value, str(value))
        return value

    def _quantity(self, raw: object) -> float:
        assert self.unit is not None
        if isinstance(raw, str) and _is_number(raw):
            raw = float(raw)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            # A bare number is already in the default unit: no parsing needed.
            self._check_range(float(raw), f"{raw:g} {self.unit}")
            return float(raw)
        if isinstance(raw, str):
            magnitude, shown = _parsed_magnitude(raw, self.unit)
        else:
            magnitude, shown = _magnitude(raw, self.unit)
        self._check_range(magnitude, shown)
        return magnitude

    def _list(self, raw: object) -> frozenset[str]:
        if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
            example = self.values[0] if self.values else "value"
            raise ValueError(f"expected a list such as [{example}], or [] for none; got {raw!r}")
        items: set[str] = set()
        for item in raw:
            if not isinstance(item, str) or item not in self.values:
                allowed = ", ".join(self.values)
                hint = suggest(str(item), self.values)
                raise ValueError(f"{item!r} is not one of: {allowed}{hint}")
            items.add(item)
        return frozenset(items)

    def _check_range(self, value: float, shown: str) -> None:
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{shown} is out of range ({self.range_text()})")

    def range_text(self) -> str:
        """The allowed range as written for a clinician, e.g. '0 year to 120 year'."""
        unit = f" {self.unit}" if self.unit else ""

        def fmt(x: float) -> str:
            return f"{x:g}{unit}"

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
        raise ValueError(exc.message) from None
    return float(quantity.to(unit(unit_name)).magnitude), format_quantity(quantity)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def suggest(word: str, candidates: Iterator[str] | tuple[str, ...] | list[str]) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class FactCatalog:
    """Every fact of rules/facts.yaml, in form order, with their groups."""

    def __init__(self, facts: Mapping[str, FactDef], groups: tuple[FactGroup, ...]) -> None:
        self.facts: Mapping[str, FactDef] = dict(facts)
        self.groups = groups
        self._asked_when: dict[str, Compiled] = {
            name: compile_condition(f.asked_when)
            for name, f in self.facts.items()
            if f.asked_when is not None
        }
        self.order = {name: i for i, name in enumerate(self.facts)}

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

    def validate(self, answers: Mapping[str, object], source: str | None = None) -> FactSet:
        """Check raw answers against the catalog and return them as a :class:`FactSet`.

        Every problem is collected before raising :class:`PatientDataError`: unknown facts (with
        a suggestion), wrong types, values out of range, unknown enum values, bad quantities.
        """
        if not isinstance(answers, Mapping):
            raise PatientDataError(
                [AnswerProblem("(answers)", answers, "expected a mapping of fact: answer")], source
            )
        problems: list[AnswerProblem] = []
        values: dict[str, Any] = {}
        for name, raw in answers.items():
            if not isinstance(name, str) or name not in self.facts:
                hint = suggest(str(name), list(self.facts))
                problems.append(AnswerProblem(str(name), raw, f"unknown fact{hint}"))
                continue
            try:
                value = self.facts[name].normalise(raw)
            except ValueError as exc:
                problems.append(AnswerProblem(name, raw, str(exc)))
                continue
            if value is not UNKNOWN:
                values[name] = value
        if problems:
            raise PatientDataError(problems, source)
        factset = self.factset(values)
        contradictions = [
            AnswerProblem(
                name,
                values[name],
                f"is answered yes, but the question does not apply ({self.why_not_asked(name)}): "
                "correct the other answer or remove this one",
            )
            for name in factset.not_applicable
            if values.get(name) is True
        ]
        if contradictions:
            raise PatientDataError(contradictions, source)
        return factset

    def factset(self, values: Mapping[str, Any]) -> FactSet:
        """Wrap already-canonical values, working out which questions do not apply."""
        env = dict(values)
        not_applicable: list[str] = []
        # asked_when conditions may chain (tap_water_response needs tap_water_sessions);
        # catalog order puts the conditioning fact first, so one pass in order suffices.
        for name, applies in self._asked_when.items():
            if applies(env) == Truth.FALSE:
                not_applicable.append(name)
                env[name] = NOT_APPLICABLE
        return FactSet(values=dict(values), env=env, not_applicable=tuple(not_applicable))

    def why_not_asked(self, name: str) -> str:
        """Why a question does not apply, e.g. 'asked only when sex ≠ male'."""
        from ionto_cds.language.model import describe

        condition = self.facts[name].asked_when
        return f"asked only when {describe(condition)}" if condition is not None else "always asked"


@dataclass(frozen=True)
class FactSet:
    """Validated answers: canonical values for answered facts; the rest are UNKNOWN.

    ``env`` is what conditions read: the answers plus NOT_APPLICABLE for questions that do not
    apply.
    """

    values: Mapping[str, Any]
    env: Mapping[str, Any]
    not_applicable: tuple[str, ...] = ()

    def get(self, name: str) -> Any:
        """The canonical answer, ``UNKNOWN`` or ``NOT_APPLICABLE``."""
        return self.env.get(name, UNKNOWN)
