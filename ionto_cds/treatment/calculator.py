"""The dose calculator: the numbers of one session worked out and held to every limit.

Used by ``ionto-cds dose``, the dose-calculator widget and the course log, with the limits of
:func:`~ionto_cds.treatment.limits.limits_for`; plans are held to the same limits by the same
check. A limit that cannot be checked (current density without an electrode area) is said to
be unchecked, never passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ionto_cds.errors import UsageError
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.suggestions import did_you_mean
from ionto_cds.treatment.dosing import (
    charge_for,
    current_density,
    dose_for,
    duration_for,
    faraday_upper_bound,
)
from ionto_cds.treatment.limits import Limit, LimitCheck, apply_variant, check_limits, limits_for
from ionto_cds.units import parse_quantity, pretty_quantity

Q = Any


class Verdict(StrEnum):
    """The calculator's conclusion."""

    WITHIN = "within"  # every limit of the protocol checked and kept
    INCOMPLETE = "incomplete"  # none broken, but some could not be checked
    REFUSED = "refused"  # a limit is broken


@dataclass(frozen=True)
class DoseCheck:
    """Computed quantities, the limits they were held to, and what came of each."""

    current: Q
    duration: Q
    dose: Q
    charge: Q
    area: Q | None
    area_source: str | None
    density: Q | None
    polarity: str | None
    protocol: Protocol | None
    drug: Drug | None
    checks: tuple[LimitCheck, ...]
    not_checked: tuple[str, ...]
    delivered_upper_bound: Q | None

    @property
    def limits(self) -> tuple[Limit, ...]:
        """Every limit held to."""
        return tuple(c.limit for c in self.checks)

    @property
    def broken(self) -> tuple[LimitCheck, ...]:
        """The limits the numbers break."""
        return tuple(c for c in self.checks if c.broken)

    @property
    def verdict(self) -> Verdict:
        """Refused when a limit is broken; incomplete when one could not be checked."""
        if self.broken:
            return Verdict.REFUSED
        if self.not_checked or any(not c.checked for c in self.checks):
            return Verdict.INCOMPLETE
        return Verdict.WITHIN

    @property
    def safe(self) -> bool:
        """True only when every limit was checked and kept."""
        return self.verdict is Verdict.WITHIN

    def unchecked_lines(self) -> list[str]:
        """Each limit that could not be checked, and why."""
        lines = [f"{c.limit.describe()}: not checked, {c.unchecked}"
                 for c in self.checks if not c.checked]
        return lines + list(self.not_checked)

    def render(self) -> str:
        """A short text report for the terminal."""
        lines = [
            f"protocol         {self.protocol.id if self.protocol else 'none given'}",
            f"current          {pretty_quantity(self.current)}",
            f"duration         {pretty_quantity(self.duration)}",
            f"dose             {pretty_quantity(self.dose)}",
            f"charge           {pretty_quantity(self.charge)}",
        ]
        if self.density is not None and self.area is not None:
            source = " (the protocol's default electrode)" if (
                self.area_source == "protocol default") else ""
            lines.append(f"current density  {pretty_quantity(self.density)} over "
                         f"{pretty_quantity(self.area)}{source}")
        else:
            lines.append("current density  not computed: give --area")
        if self.drug is not None:
            lines.append(f"drug             {self.drug.key} (active electrode: {self.polarity})")
        if self.delivered_upper_bound is not None:
            lines.append(f"drug upper bound {pretty_quantity(self.delivered_upper_bound)} "
                         "(Faraday's law, transport number 1; real delivery is far lower)")
        lines.append("limits checked:")
        lines += [f"  {'BROKEN' if c.broken else 'kept'}: {c}" for c in self.checks if c.checked]
        unchecked = self.unchecked_lines()
        if unchecked:
            lines.append("not checked:")
            lines += [f"  {line}" for line in unchecked]
        verdict = self.verdict
        if verdict is Verdict.REFUSED:
            lines += [f"REFUSED: {c}" for c in self.broken]
        elif verdict is Verdict.INCOMPLETE:
            lines.append(f"NOT CONFIRMED: within the {sum(c.checked for c in self.checks)} "
                         f"limits checked, but {len(unchecked)} could not be checked (above)")
        else:
            lines.append(f"OK: within every limit of {self.protocol.id if self.protocol else ''}"
                         .rstrip())
        return "\n".join(lines)


def find_protocol(protocols: Sequence[Protocol], drugs: Mapping[str, Drug],
                  protocol: str | None, drug: str | None) -> Protocol | None:
    """The protocol a dose is for: named, or the one protocol of a named drug.

    Raises :class:`UsageError` for an unknown name or a drug with several protocols.
    """
    treatments = [p for p in protocols if not p.is_referral]
    if protocol is not None:
        found = next((p for p in treatments if p.id == protocol), None)
        if found is None:
            names = [p.id for p in treatments]
            raise UsageError(f"unknown protocol '{protocol}'{did_you_mean(protocol, names)}; "
                             f"protocols: {', '.join(names)}")
        if drug is not None and found.drug != drug:
            raise UsageError(f"protocol {found.id} gives {found.drug or 'tap water'}, not "
                             f"'{drug}'")
        return found
    if drug is None:
        return None
    if drug not in drugs:
        raise UsageError(f"unknown drug '{drug}'{did_you_mean(drug, drugs)}; drugs: "
                         f"{', '.join(drugs)}")
    mine = [p for p in treatments if p.drug == drug]
    if len(mine) != 1:
        listed = ", ".join(p.id for p in mine) or "none"
        raise UsageError(f"drug {drug} has {len(mine)} protocols ({listed}): name one with "
                         "--protocol")
    return mine[0]


def check_session(*, current: Q, duration: Q, area: Q | None, protocol: Protocol | None,
                  drug: Drug | None, global_limits: Limits,
                  rule_caps: Sequence[tuple[str, Q, str]] = (), polarity: str | None = None
                  ) -> DoseCheck:
    """The one dose check: a session's numbers against every limit of its protocol."""
    if protocol is not None:
        protocol, _ = apply_variant(protocol, rule_caps)
    active = polarity or (protocol.polarity if protocol else None) or (
        drug.polarity if drug else None)
    limits = limits_for(protocol, drug, global_limits, rule_caps, polarity=active)
    not_checked: list[str] = []
    if protocol is None:
        not_checked.append("protocol limits (maximum current and dose): not checked, no "
                           "protocol given (--protocol or --drug)")
    area_source = "given" if area is not None else None
    if area is None and protocol is not None and protocol.electrode_area is not None:
        area, area_source = protocol.electrode_area, "protocol default"
    bound = None
    if drug is not None and drug.valence and drug.molar_mass is not None:
        bound = faraday_upper_bound(charge_for(current, duration), drug.valence,
                                    drug.molar_mass)
    return DoseCheck(
        current=current, duration=duration, dose=dose_for(current, duration),
        charge=charge_for(current, duration), area=area,
        area_source=area_source,
        density=current_density(current, area) if area is not None else None,
        polarity=active, protocol=protocol, drug=drug,
        checks=check_limits(limits, current, duration, area),
        not_checked=tuple(not_checked), delivered_upper_bound=bound,
    )


def read_session(current: object, duration: object | None, dose: object | None,
                 area: object | None) -> tuple[Q, Q, Q | None]:
    """Current, duration and area from text (a duration, or a target dose to divide by the
    current). Raises UnitError for unreadable text, UsageError for missing or zero values."""
    i = parse_quantity(current, "mA").to("mA")
    if (duration is None) == (dose is None):
        raise UsageError("give exactly one of a duration or a target dose")
    if i.magnitude <= 0:
        raise UsageError("the current must be above zero")
    if duration is not None:
        t = parse_quantity(duration, "min").to("min")
    else:
        target = parse_quantity(dose, "mA*min")
        if target.magnitude <= 0:
            raise UsageError("the target dose must be above zero")
        t = duration_for(target, i)
    if t.magnitude <= 0:
        raise UsageError("the duration must be above zero")
    a = parse_quantity(area, "cm^2").to("cm^2") if area is not None else None
    if a is not None and a.magnitude <= 0:
        raise UsageError("the electrode area must be above zero")
    return i, t, a
