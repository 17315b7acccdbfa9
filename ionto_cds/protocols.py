"""Protocol choice and the treatment plan: parameters with units, limits applied, schedule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.dosing import (
    Limit,
    check_limits,
    current_density,
    dose_for,
    duration_for,
    faraday_upper_bound,
    tightest,
)
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.units import format_quantity, unit

Q = Any


class PlanInfeasible(Exception):
    """The limits leave no safe current within the protocol's range."""


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
    limits: tuple[Limit, ...]
    adjustments: tuple[str, ...] = ()
    rule_precautions: tuple[str, ...] = ()
    delivered_upper_bound: Q | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def current_range(self) -> dict[str, str | None]:
        """The protocol's current range, its top lowered to the tightest current limit."""
        p = self.protocol
        cap = tightest(list(self.limits), "max_current")
        top = p.current_max
        if cap is not None and (top is None or cap.value < top):
            top = cap.value
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
            "modality": p.modality,
            "drug": p.drug,
            "polarity": p.polarity,
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
            "solution": p.solution,
            "concentration": self.drug.concentration if self.drug else None,
            "additives": list(p.additives),
            "limits": [
                {"name": lim.name, "value": fmt(lim.value), "source": lim.source}
                for lim in self.limits
            ],
            "adjustments": list(self.adjustments),
            "schedule": p.schedule.to_dict() if p.schedule else None,
            "precautions": [*self.rule_precautions, *p.precautions],
            "aftercare": list(p.aftercare),
            "monitoring": list(p.monitoring),
            "side_effects": [{"effect": s.label, "response": s.response, "action": s.action}
                             for s in p.side_effects],
            "expected_efficacy": p.expected_efficacy or None,
            "drug_delivered_upper_bound": fmt(self.delivered_upper_bound)
            if self.delivered_upper_bound is not None else None,
            "summary": p.summary,
            "references": list(p.references),
        }


def plan_limits(
    protocol: Protocol, drug: Drug | None, global_limits: Limits,
    rule_caps: list[tuple[str, Q, str]],
) -> list[Limit]:
    """Every limit that binds a plan of this protocol: protocol, drug, global and rule caps."""
    limits: list[Limit] = []
    if protocol.max_current is not None:
        limits.append(Limit("max_current", protocol.max_current, f"protocol {protocol.id}"))
    if protocol.current_max is not None:
        limits.append(Limit("max_current", protocol.current_max, f"protocol {protocol.id} range"))
    if protocol.max_dose is not None:
        limits.append(Limit("max_dose", protocol.max_dose, f"protocol {protocol.id}"))
    if protocol.max_current_density is not None:
        limits.append(Limit("max_current_density", protocol.max_current_density,
                            f"protocol {protocol.id}"))
    if drug is not None:
        if drug.max_current is not None:
            limits.append(Limit("max_current", drug.max_current, f"drug {drug.key}"))
        if drug.dose_max is not None:
            limits.append(Limit("max_dose", drug.dose_max, f"drug {drug.key}"))
    polarity = protocol.polarity or "alternating"
    if polarity in global_limits.max_current_density:
        limits.append(Limit("max_current_density", global_limits.max_current_density[polarity],
                            f"{polarity} current-density limit"))
    for name, value, rule_id in rule_caps:
        limits.append(Limit(name, value, f"rule {rule_id}"))
    return limits


def build_plan(
    protocol: Protocol, drug: Drug | None, global_limits: Limits,
    rule_caps: list[tuple[str, Q, str]], electrode_area: Q | None,
    rule_precautions: tuple[str, ...] = (),
) -> Plan:
    """Turn a protocol into a plan that respects every limit, lowering current if needed.

    Raises :class:`PlanInfeasible` when the limits leave less than the protocol's minimum
    effective current.
    """
    assert protocol.current is not None
    limits = plan_limits(protocol, drug, global_limits, rule_caps)
    adjustments: list[str] = []
    current = protocol.current
    cap = tightest(limits, "max_current")
    if cap is not None and current > cap.value:
        current = cap.value.to(current.units)
        adjustments.append(f"current lowered to {format_quantity(current)} by the "
                           f"{cap.describe()}")
    area, area_source = (electrode_area, "answer") if electrode_area is not None else (
        (protocol.electrode_area, "protocol default") if protocol.electrode_area is not None
        else (None, None))
    density_cap = tightest(limits, "max_current_density")
    if area is not None and density_cap is not None:
        allowed = (density_cap.value * area).to(current.units)
        if current > allowed:
            current = allowed
            adjustments.append(f"current lowered to {format_quantity(current)} to keep within "
                               f"the {density_cap.describe()} over {format_quantity(area)}")
    if protocol.current_min is not None and current < protocol.current_min:
        raise PlanInfeasible(
            f"the limits allow at most {format_quantity(current)}, below the protocol's minimum "
            f"of {format_quantity(protocol.current_min)}"
        )
    if current.magnitude <= 0:
        raise PlanInfeasible("the limits leave no current")
    if protocol.target_dose is not None:
        dose = protocol.target_dose
        dose_cap = tightest(limits, "max_dose")
        if dose_cap is not None and dose > dose_cap.value:
            dose = dose_cap.value
            adjustments.append(f"dose lowered to {format_quantity(dose)} by the "
                               f"{dose_cap.describe()}")
        duration = duration_for(dose, current)
    else:
        assert protocol.duration is not None
        duration = protocol.duration
        dose_cap = tightest(limits, "max_dose")
        if dose_cap is not None and dose_for(current, duration) > dose_cap.value:
            duration = duration_for(dose_cap.value, current)
            adjustments.append(f"duration shortened to {format_quantity(duration)} by the "
                               f"{dose_cap.describe()}")
    if drug is not None and drug.dose_min is not None:
        planned = dose_for(current, duration)
        if planned < drug.dose_min:
            adjustments.append(
                f"dose {format_quantity(planned)} is below the minimum dose of "
                f"{format_quantity(drug.dose_min)} for {drug.key} (drugs.yaml): a larger "
                "electrode would allow more current; expect less effect at this dose"
            )
    violations = check_limits(limits, current, duration, area)
    if violations:  # never reached when the arithmetic above is right; never hand out a plan
        raise PlanInfeasible("; ".join(str(v) for v in violations))
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
        limits=tuple(limits),
        adjustments=tuple(adjustments),
        rule_precautions=rule_precautions,
        delivered_upper_bound=bound,
    )
