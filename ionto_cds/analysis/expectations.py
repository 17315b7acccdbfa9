"""What a vignette expects of a plan: every number, read with its unit and compared as one.

A vignette's ``expect.plan`` pins the session (current, duration, dose, current density, the
smallest electrode for that current), the current range, the tightest limit of each kind, the
schedule and the Faraday upper bound of drug delivered. Quantities are compared in their
dimension (``"1200 s"`` equals ``"20 min"``): a whole number exactly, a decimal to the places
written (``"23.78 mg"`` holds for 23.775 to 23.785 mg).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionto_cds.errors import UnitError, quote
from ionto_cds.language.reader import Reader
from ionto_cds.language.yamlsource import LocatedMap, key_line
from ionto_cds.treatment.limits import LimitKind, tightest
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import Quantity, parse_quantity, pretty_quantity

QUANTITIES = {
    "current": "mA",
    "duration": "min",
    "dose": "mA*min",
    "current_density": "mA/cm^2",
    "minimum_electrode_area": "cm^2",
    "electrode_area": "cm^2",
    "drug_delivered_upper_bound": "mg",
}
"""Plan numbers a vignette can pin, with their dimension (null pins 'not computed')."""
RANGE_KEYS = ("min", "max")
LIMIT_UNITS = {"max_current": "mA", "max_dose": "mA*min", "max_current_density": "mA/cm^2"}
SCHEDULE_KEYS = ("sessions_per_week", "sessions", "after_sessions", "min_interval")
PLAN_KEYS = (*QUANTITIES, "current_range", "limits", "schedule")
_RELATIVE = 1e-9


@dataclass(frozen=True)
class Pinned:
    """A pinned quantity and how closely it is written (half a unit of its last decimal)."""

    quantity: Any
    resolution: float


@dataclass(frozen=True)
class PlanExpectation:
    """The numbers a vignette pins, canonical: quantities (or None), whole numbers."""

    values: Mapping[str, Any]

    def problems(self, plan: Plan) -> list[str]:
        """Each pinned number the plan does not have, in clinical words."""
        got = actual(plan)
        out = []
        for key, want in self.values.items():
            have = got.get(key)
            if not _same(want, have):
                name = key.replace(".", " ").replace("_", " ")
                out.append(f"plan {name} {_shown(have)}, expected {_shown(want)}")
        return out


def actual(plan: Plan) -> dict[str, Any]:
    """The plan's numbers under the keys a vignette uses (flattened: 'current_range.max')."""
    d: dict[str, Any] = {
        "current": plan.current,
        "duration": plan.duration,
        "dose": plan.dose,
        "current_density": plan.current_density,
        "minimum_electrode_area": plan.minimum_area,
        "electrode_area": plan.electrode_area,
        "drug_delivered_upper_bound": plan.delivered_upper_bound,
        "current_range.min": plan.protocol.current_min,
        "current_range.max": plan.range_top(),
    }
    for name in LIMIT_UNITS:
        found = tightest(plan.limits, LimitKind(name))
        d[f"limits.{name}"] = found.value if found is not None else None
    schedule = plan.protocol.schedule
    if schedule is not None:
        d["schedule.sessions_per_week"] = schedule.sessions_per_week
        d["schedule.sessions"] = schedule.induction_sessions
        d["schedule.after_sessions"] = schedule.judge_after_sessions
        d["schedule.min_interval"] = schedule.min_interval
    return d


def read_plan_expectation(reader: Reader, expect: LocatedMap, what: str
                          ) -> PlanExpectation | None:
    """``expect.plan`` of a vignette, every value checked for its dimension (file:line)."""
    raw = reader.mapping(expect.get("plan"), key_line(expect, "plan"), f"{what}: plan",
                         PLAN_KEYS)
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        line = key_line(raw, key)
        if key in QUANTITIES:
            values[key] = _quantity(reader, value, line, QUANTITIES[key], f"{what}: plan {key}")
        elif key == "current_range":
            span = reader.mapping(value, line, f"{what}: plan current_range", RANGE_KEYS)
            for part, item in (span or {}).items():
                values[f"current_range.{part}"] = _quantity(
                    reader, item, key_line(span, part), "mA", f"{what}: current_range {part}")
        elif key == "limits":
            limits = reader.mapping(value, line, f"{what}: plan limits", tuple(LIMIT_UNITS))
            for name, item in (limits or {}).items():
                values[f"limits.{name}"] = _quantity(
                    reader, item, key_line(limits, name), LIMIT_UNITS[name],
                    f"{what}: plan limit {name}")
        elif key == "schedule":
            _schedule(reader, value, line, what, values)
    return PlanExpectation(values)


def _schedule(reader: Reader, value: Any, line: int | None, what: str,
              values: dict[str, Any]) -> None:
    schedule = reader.mapping(value, line, f"{what}: plan schedule", SCHEDULE_KEYS)
    for name, item in (schedule or {}).items():
        where = key_line(schedule, name)
        if name == "min_interval":
            values[f"schedule.{name}"] = _quantity(reader, item, where, "day",
                                                   f"{what}: schedule min_interval")
        elif item is not None and (isinstance(item, bool) or not isinstance(item, int)):
            reader.error(where, f"{what}: schedule {name} is a whole number, got {quote(item)}")
        else:
            values[f"schedule.{name}"] = item


def _quantity(reader: Reader, value: Any, line: int | None, unit: str, what: str) -> Any:
    """A pinned quantity: text with its unit, or null for 'not computed'."""
    if value is None:
        return None
    if not isinstance(value, str):
        reader.error(line, f"{what}: write the value with its unit, e.g. '{value} {unit}'")
        return None
    try:
        quantity = parse_quantity(value, unit)
    except UnitError as exc:
        reader.error(line, f"{what}: {exc.message}")
        return None
    number = value.strip().split()[0] if value.strip() else ""
    places = len(number.split(".", 1)[1]) if "." in number else None
    return Pinned(quantity, 0.5 * 10.0 ** -places if places is not None else 0.0)


def _same(want: Any, have: Any) -> bool:
    if want is None or have is None:
        return want is None and have is None
    if isinstance(want, Pinned):
        if not isinstance(have, Quantity) or have.dimensionality != want.quantity.dimensionality:
            return False
        written = float(want.quantity.magnitude)
        actual = float(have.to(want.quantity.units).magnitude)
        if want.resolution:
            return abs(actual - written) <= want.resolution * (1 + 1e-9)
        return math.isclose(actual, written, rel_tol=_RELATIVE, abs_tol=1e-12)
    return bool(want == have)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Pinned):
        return pretty_quantity(value.quantity)
    if isinstance(value, Quantity):
        return pretty_quantity(value)
    return str(value)
