"""The limits a session must keep, gathered once and checked once.

:func:`limits_for` gathers every limit on a session of a protocol (the protocol's, its drug's,
the global current density for its active electrode, and the caps of the patient's rules);
:func:`check_limits` checks given numbers against them and says, for each, whether it was
kept, broken, or could not be checked (current density without an electrode area). Plans, the
course log, ``ionto-cds dose`` and the dose-calculator widget all use these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ionto_cds.language.model import VARIANT_EFFECT
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.treatment.dosing import current_density, dose_for
from ionto_cds.units import format_quantity, pretty_quantity

Q = Any  # a pint Quantity

TOLERANCE = 1e-9
"""Relative slack so that a value set exactly at its limit never fails on rounding."""


class LimitKind(StrEnum):
    """What a limit caps."""

    MAX_CURRENT = "max_current"
    MAX_DOSE = "max_dose"
    MAX_CURRENT_DENSITY = "max_current_density"

    @property
    def label(self) -> str:
        """'maximum current', 'maximum dose', 'maximum current density'."""
        return {"max_current": "maximum current", "max_dose": "maximum dose",
                "max_current_density": "maximum current density"}[self.value]

    @property
    def quantity(self) -> str:
        """What is compared with it: 'current', 'dose', 'current density'."""
        return self.label.removeprefix("maximum ")


@dataclass(frozen=True)
class Limit:
    """A ceiling on one quantity and where it comes from (a protocol, a drug, a rule)."""

    kind: LimitKind
    value: Q
    source: str
    patient: bool = False  # a cap a rule puts on this patient (named first on a tie)
    said: str = field(default="", compare=False)
    """Where it comes from in clinical words (the protocol's title), for people."""

    @property
    def source_words(self) -> str:
        """Where the limit comes from as people read it: 'Tap-water iontophoresis, palms and
        soles', 'Glycopyrronium bromide', 'rule child-current-cap'."""
        return self.said or self.source

    @property
    def name(self) -> str:
        """The kind as written in rule files and JSON ('max_current')."""
        return self.kind.value

    def describe(self) -> str:
        """E.g. 'maximum current 20 mA (Tap-water iontophoresis, palms and soles)'."""
        return f"{self.kind.label} {pretty_quantity(self.value)} ({self.source_words})"

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly (value pint-parsable)."""
        return {"name": self.name, "value": format_quantity(self.value), "source": self.source}


@dataclass(frozen=True)
class LimitCheck:
    """One limit against the numbers given: kept, broken, or not checked (and why)."""

    limit: Limit
    actual: Q | None
    unchecked: str = ""

    @property
    def checked(self) -> bool:
        """False when the quantity could not be worked out from what was given."""
        return self.actual is not None

    @property
    def broken(self) -> bool:
        """True when the quantity is above the limit."""
        return self.actual is not None and self.actual > self.limit.value * (1 + TOLERANCE)

    def __str__(self) -> str:
        if self.actual is None:
            return f"{self.limit.describe()}: not checked, {self.unchecked}"
        verb = "exceeds" if self.broken else "is within"
        return f"{pretty_quantity(self.actual)} {verb} the {self.limit.describe()}"


def limits_for(protocol: Protocol | None, drug: Drug | None, global_limits: Limits,
               rule_caps: Sequence[tuple[str, Q, str]] = (), polarity: str | None = None
               ) -> list[Limit]:
    """Every limit on a session: the protocol's (and its current range), the drug's, the
    global current density for the active electrode, and the patient's rule caps."""
    limits: list[Limit] = []
    if protocol is not None:
        source, title = f"protocol {protocol.id}", protocol.title
        for kind, value, where, said in (
                (LimitKind.MAX_CURRENT, protocol.max_current, source, title),
                (LimitKind.MAX_CURRENT, protocol.current_max, f"{source} range",
                 f"top of the current range, {title}"),
                (LimitKind.MAX_DOSE, protocol.max_dose, source, title),
                (LimitKind.MAX_CURRENT_DENSITY, protocol.max_current_density, source, title)):
            if value is not None:
                limits.append(Limit(kind, value, where, said=said))
    if drug is not None:
        if drug.max_current is not None:
            limits.append(Limit(LimitKind.MAX_CURRENT, drug.max_current, f"drug {drug.key}",
                                said=drug.label))
        if drug.dose_max is not None:
            limits.append(Limit(LimitKind.MAX_DOSE, drug.dose_max, f"drug {drug.key}",
                                said=drug.label))
    active = polarity or (protocol.polarity if protocol is not None else None) or (
        drug.polarity if drug is not None else None) or "alternating"
    if active in global_limits.max_current_density:
        limits.append(Limit(LimitKind.MAX_CURRENT_DENSITY,
                            global_limits.max_current_density[active],
                            f"{active} current-density limit",
                            said=f"current-density limit for the {active} electrode"
                            if active != "alternating" else
                            "current-density limit, alternating polarity"))
    for name, value, rule_id in rule_caps:
        if name != VARIANT_EFFECT:
            limits.append(Limit(LimitKind(name), value, f"rule {rule_id}", patient=True))
    return limits


def apply_variant(protocol: Protocol, rule_caps: Sequence[tuple[str, Any, str]]
                  ) -> tuple[Protocol, str]:
    """The protocol with the starting parameters of the first variant a rule names, if the
    protocol has it (e.g. children: a lower start and range), and a note saying so ('' when
    none applies). Plans and session checks both go through here."""
    for name, value, rule_id in rule_caps:
        found = protocol.variant(str(value)) if name == VARIANT_EFFECT else None
        if found is None:
            continue
        span = (f", range {pretty_quantity(found.current_min)} to "
                f"{pretty_quantity(found.current_max)}"
                if found.current_min is not None and found.current_max is not None else "")
        note = (f"{found.name.replace('_', ' ')} parameters (rule {rule_id}): start at "
                f"{pretty_quantity(found.current)}{span}. {found.note}")
        return replace(protocol, current=found.current, current_min=found.current_min,
                       current_max=found.current_max), note
    return protocol, ""


def tightest(limits: Sequence[Limit], kind: LimitKind) -> Limit | None:
    """The lowest limit of one kind, or None. On a tie a cap a rule puts on this patient is
    named (it says why), else the first in `limits_for` order."""
    found = [lim for lim in limits if lim.kind is kind]
    return min(found, key=lambda lim: (lim.value, not lim.patient)) if found else None


def check_limits(limits: Sequence[Limit], current: Q, duration: Q, area: Q | None
                 ) -> tuple[LimitCheck, ...]:
    """Every limit against a current, a duration and (when known) an electrode area."""
    actual: dict[LimitKind, Q] = {LimitKind.MAX_CURRENT: current,
                                  LimitKind.MAX_DOSE: dose_for(current, duration)}
    if area is not None:
        actual[LimitKind.MAX_CURRENT_DENSITY] = current_density(current, area)
    return tuple(
        LimitCheck(lim, actual.get(lim.kind),
                   "" if lim.kind in actual else "electrode area not given")
        for lim in limits
    )
