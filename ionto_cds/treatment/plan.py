"""The treatment plan of a protocol: parameters with units, every limit applied, schedule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.errors import PlanInfeasible
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.treatment.dosing import current_density, dose_for, duration_for, faraday_upper_bound
from ionto_cds.treatment.limits import (
    Limit,
    LimitKind,
    apply_variant,
    check_limits,
    limits_for,
    tightest,
)
from ionto_cds.units import format_quantity, pretty_quantity, unit

Q = Any


@dataclass(frozen=True)
class Plan:
    """A concrete session plan from a protocol, every number a quantity within its limits."""

    protocol: Protocol
    drug: Drug | None
    current: Q
    duration: Q
    dose: Q
    electrode_area: Q | None
    area_source: str | None
    current_density: Q | None
    minimum_area: Q | None
    """The smallest active electrode on which this current stays within the density limit."""
    limits: tuple[Limit, ...]
    adjustments: tuple[str, ...] = ()
    rule_precautions: tuple[str, ...] = ()
    delivered_upper_bound: Q | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def range_top(self) -> Q | None:
        """The top of the protocol's current range, lowered to the tightest current limit."""
        cap = tightest(self.limits, LimitKind.MAX_CURRENT)
        top = self.protocol.current_max
        if cap is not None and (top is None or cap.value < top):
            top = cap.value
        return top

    def current_range(self) -> dict[str, str | None]:
        """The protocol's current range, its top lowered to the tightest current limit."""
        p = self.protocol
        top = self.range_top()
        return {
            "min": format_quantity(p.current_min) if p.current_min is not None else None,
            "max": format_quantity(top) if top is not None else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """The plan as the `protocol` object of the assess JSON contract."""
        p = self.protocol
        fmt = format_quantity
        return {
            "id": p.id,
            "title": p.title,
            "modality": p.modality.value,
            "drug": p.drug,
            "polarity": p.polarity.value if p.polarity is not None else None,
            "polarity_note": p.polarity_note or None,
            "current": fmt(self.current),
            "current_range": self.current_range(),
            "ramp": p.ramp or None,
            "duration": fmt(self.duration),
            "dose": fmt(self.dose),
            "electrode_area": fmt(self.electrode_area) if self.electrode_area is not None
            else None,
            "electrode_area_source": self.area_source,
            "current_density": fmt(self.current_density) if self.current_density is not None
            else None,
            "minimum_electrode_area": fmt(self.minimum_area) if self.minimum_area is not None
            else None,
            "solution": p.solution,
            "concentration": self.drug.concentration if self.drug else None,
            "additives": list(p.additives),
            "limits": [lim.to_dict() for lim in self.limits],
            "adjustments": list(self.adjustments),
            "schedule": p.schedule.to_dict() if p.schedule else None,
            "precautions": [*self.rule_precautions, *p.precautions],
            "aftercare": list(p.aftercare),
            "monitoring": list(p.monitoring),
            "side_effects": [{"effect": s.label, "response": s.response.value, "action": s.action}
                             for s in p.side_effects],
            "expected_efficacy": p.expected_efficacy or None,
            "drug_delivered_upper_bound": fmt(self.delivered_upper_bound)
            if self.delivered_upper_bound is not None else None,
            "summary": p.summary,
            "references": list(p.references),
        }


def build_plan(
    protocol: Protocol, drug: Drug | None, global_limits: Limits,
    rule_caps: Sequence[tuple[str, Q, str]], electrode_area: Q | None,
    rule_precautions: tuple[str, ...] = (),
) -> Plan:
    """Turn a protocol into a plan that respects every limit, lowering current if needed.

    Raises :class:`PlanInfeasible` when the limits leave less than the protocol's minimum
    effective current.
    """
    if protocol.current is None or (protocol.duration is None and protocol.target_dose is None):
        raise PlanInfeasible(protocol.id, f"protocol {protocol.id} gives no current or duration")
    adjustments: list[str] = []
    protocol, note = apply_variant(protocol, rule_caps)
    if note:
        adjustments.append(note)
    limits = limits_for(protocol, drug, global_limits, rule_caps)
    current = _capped_current(protocol, limits, adjustments)
    area, area_source = (electrode_area, "answer") if electrode_area is not None else (
        (protocol.electrode_area, "protocol default") if protocol.electrode_area is not None
        else (None, None))
    density_cap = tightest(limits, LimitKind.MAX_CURRENT_DENSITY)
    if area is not None and density_cap is not None:
        allowed = (density_cap.value * area).to(current.units)
        if current > allowed:
            current = allowed
            adjustments.append(f"current lowered to {pretty_quantity(current)} to keep within "
                               f"the {density_cap.describe()} over {pretty_quantity(area)}")
    if protocol.current_min is not None and current < protocol.current_min:
        _too_little(protocol, current, area, area_source, density_cap)
    if current.magnitude <= 0:
        raise PlanInfeasible(protocol.id, "the limits leave no current")
    duration = _duration(protocol, current, limits, adjustments)
    if drug is not None and drug.dose_min is not None:
        planned = dose_for(current, duration)
        if planned < drug.dose_min:
            adjustments.append(
                f"dose {pretty_quantity(planned)} is below the minimum dose of "
                f"{pretty_quantity(drug.dose_min)} for {drug.key} (drugs.yaml): a larger "
                "electrode would allow more current; expect less effect at this dose"
            )
    broken = [check for check in check_limits(limits, current, duration, area) if check.broken]
    if broken:  # never reached when the arithmetic above is right; never hand out a plan
        raise PlanInfeasible(protocol.id, "; ".join(str(check) for check in broken))
    bound = None
    if drug is not None and drug.valence and drug.molar_mass is not None:
        bound = faraday_upper_bound(dose_for(current, duration).to(unit("C")), drug.valence,
                                    drug.molar_mass)
    return Plan(
        protocol=protocol,
        drug=drug,
        current=current,
        duration=duration.to(unit("min")),
        dose=dose_for(current, duration),
        electrode_area=area,
        area_source=area_source,
        current_density=current_density(current, area) if area is not None else None,
        minimum_area=(current / density_cap.value).to(unit("cm^2"))
        if density_cap is not None else None,
        limits=tuple(limits),
        adjustments=tuple(adjustments),
        rule_precautions=rule_precautions,
        delivered_upper_bound=bound,
    )


def _too_little(protocol: Protocol, current: Q, area: Q | None, area_source: str | None,
                density_cap: Limit | None) -> None:
    """Raise why the limits leave less than the protocol's minimum current, and the remedy."""
    minimum: Q = protocol.current_min
    if area is not None and density_cap is not None and area_source == "answer":
        needed = (minimum / density_cap.value).to(unit("cm^2"))
        if (density_cap.value * area).to(current.units) <= current:  # the area is what binds
            raise PlanInfeasible(
                protocol.id,
                f"the {pretty_quantity(area)} electrode is too small for the protocol's minimum "
                f"of {pretty_quantity(minimum)}: the {density_cap.describe()} allows at most "
                f"{pretty_quantity(current)} over it; use an active electrode of at least "
                f"{pretty_quantity(needed)}",
                minimum_area=needed)
    raise PlanInfeasible(protocol.id,
                         f"the limits allow at most {pretty_quantity(current)}, below the "
                         f"protocol's minimum of {pretty_quantity(minimum)}")


def _capped_current(protocol: Protocol, limits: Sequence[Limit], adjustments: list[str]) -> Q:
    current: Q = protocol.current
    cap = tightest(limits, LimitKind.MAX_CURRENT)
    if cap is not None and current > cap.value:
        current = cap.value.to(current.units)
        adjustments.append(f"current lowered to {pretty_quantity(current)} by the "
                           f"{cap.describe()}")
    return current


def _duration(protocol: Protocol, current: Q, limits: Sequence[Limit],
              adjustments: list[str]) -> Q:
    """The session length: from the target dose, or the protocol's, shortened to the dose cap."""
    dose_cap = tightest(limits, LimitKind.MAX_DOSE)
    if protocol.target_dose is not None:
        dose = protocol.target_dose
        if dose_cap is not None and dose > dose_cap.value:
            dose = dose_cap.value
            adjustments.append(f"dose lowered to {pretty_quantity(dose)} by the "
                               f"{dose_cap.describe()}")
        return duration_for(dose, current)
    duration = protocol.duration
    if dose_cap is not None and dose_for(current, duration) > dose_cap.value:
        duration = duration_for(dose_cap.value, current)
        adjustments.append(f"duration shortened to {pretty_quantity(duration)} by the "
                           f"{dose_cap.describe()}")
    return duration
