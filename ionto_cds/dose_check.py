"""The stand-alone dose calculator: the same arithmetic and limits as a plan, for given numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ionto_cds.dosing import (
    Limit,
    LimitViolation,
    charge_for,
    check_limits,
    current_density,
    dose_for,
    duration_for,
    faraday_upper_bound,
)
from ionto_cds.engine import RuleSet
from ionto_cds.errors import UsageError
from ionto_cds.language.reader import did_you_mean
from ionto_cds.units import format_quantity, parse_quantity

Q = Any


@dataclass(frozen=True)
class DoseCheck:
    """Computed quantities and every limit they break."""

    current: Q
    duration: Q
    dose: Q
    charge: Q
    area: Q | None
    density: Q | None
    polarity: str | None
    drug: str | None
    limits: tuple[Limit, ...]
    violations: tuple[LimitViolation, ...]
    delivered_upper_bound: Q | None

    @property
    def safe(self) -> bool:
        """True when no limit is broken."""
        return not self.violations

    def render(self) -> str:
        """A short text report for the terminal."""
        lines = [
            f"current          {format_quantity(self.current)}",
            f"duration         {format_quantity(self.duration)}",
            f"dose             {format_quantity(self.dose)}",
            f"charge           {format_quantity(self.charge)}",
        ]
        if self.density is not None and self.area is not None:
            lines.append(f"current density  {format_quantity(self.density)} over "
                         f"{format_quantity(self.area)}")
        else:
            lines.append("current density  not checked: give --area")
        if self.drug:
            lines.append(f"drug             {self.drug} (active electrode: {self.polarity})")
        if self.delivered_upper_bound is not None:
            lines.append(f"drug upper bound {format_quantity(self.delivered_upper_bound)} "
                         "(Faraday's law, transport number 1; real delivery is far lower)")
        lines.append("limits checked   " + ("; ".join(lim.describe() for lim in self.limits)
                                          or "none"))
        if self.violations:
            lines += [f"REFUSED: {v}" for v in self.violations]
        else:
            lines.append("OK: within every limit checked")
        return "\n".join(lines)


def check_dose(
    rs: RuleSet, *, current: str, duration: str | None = None, dose: str | None = None,
    area: str | None = None, drug: str | None = None, polarity: str | None = None,
) -> DoseCheck:
    """Compute dose, charge and density for the given numbers and check them against limits.

    Raises UnitError for unparsable or wrongly dimensioned input, UsageError for an unknown
    drug, a missing duration/dose or values that are not above zero.
    """
    i = parse_quantity(current, "mA").to("mA")
    if (duration is None) == (dose is None):
        raise UsageError("give exactly one of --duration or --dose")
    if duration is not None:
        t = parse_quantity(duration, "min").to("min")
    else:
        t = duration_for(parse_quantity(dose, "mA*min"), i)
    if i.magnitude <= 0 or t.magnitude <= 0:
        raise UsageError("current and duration must be above zero")
    a = parse_quantity(area, "cm^2").to("cm^2") if area is not None else None
    if a is not None and a.magnitude <= 0:
        raise UsageError("the electrode area must be above zero")
    limits: list[Limit] = []
    drug_def = None
    if drug is not None:
        if drug not in rs.drugs:
            raise UsageError(f"unknown drug '{drug}'{did_you_mean(drug, rs.drugs)}; "
                                 f"drugs: {', '.join(rs.drugs)}")
        drug_def = rs.drugs[drug]
        polarity = drug_def.polarity
        if drug_def.max_current is not None:
            limits.append(Limit("max_current", drug_def.max_current, f"drug {drug}"))
        if drug_def.dose_max is not None:
            limits.append(Limit("max_dose", drug_def.dose_max, f"drug {drug}"))
    density_limit = rs.limits.max_current_density.get(polarity or "alternating")
    if density_limit is not None:
        limits.append(Limit("max_current_density", density_limit,
                            f"{polarity or 'alternating'} current-density limit"))
    violations = check_limits(limits, i, t, a)
    bound = None
    if drug_def is not None and drug_def.valence and drug_def.molar_mass is not None:
        bound = faraday_upper_bound(charge_for(i, t), drug_def.valence, drug_def.molar_mass)
    return DoseCheck(
        current=i, duration=t, dose=dose_for(i, t), charge=charge_for(i, t), area=a,
        density=current_density(i, a) if a is not None else None, polarity=polarity,
        drug=drug, limits=tuple(limits), violations=tuple(violations),
        delivered_upper_bound=bound,
    )
