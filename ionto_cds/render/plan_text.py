"""A plan's numbers as people read them: pretty units (mA·min, mA/cm², mg/mL), times in
minutes and seconds, and each current said as the start, the range or the maximum.

Every renderer (report, app, leaflet) takes its plan table from here; the JSON keeps the
pint-parsable strings of :meth:`~ionto_cds.treatment.plan.Plan.to_dict`.
"""

from __future__ import annotations

from ionto_cds.errors import UnitError
from ionto_cds.treatment.limits import LimitKind, tightest
from ionto_cds.treatment.plan import Plan
from ionto_cds.units import duration_text, parse_quantity, pretty_quantity

_ELECTRODE = {"anode": "anode (+)", "cathode": "cathode (−)",
              "alternating": "alternating (see the polarity note)"}


def pretty_text_quantity(text: str, unit_name: str) -> str:
    """A quantity written in the rules ('4 mg / mL') shown pretty ('4 mg/mL'); as written if
    it cannot be read."""
    try:
        return pretty_quantity(parse_quantity(text, unit_name))
    except UnitError:
        return text


def plan_rows(plan: Plan) -> list[tuple[str, str]]:
    """(label, value) rows of the plan table, in clinical words and pretty units."""
    p = plan.protocol
    rows: list[tuple[str, str]] = [
        ("Modality", p.modality.value.replace("_", " ")),
        ("Drug", plan.drug.label if plan.drug is not None else "none (tap water)"),
        ("Active electrode", _ELECTRODE.get(p.polarity.value, p.polarity.value)
         if p.polarity is not None else "not set"),
        ("Starting current", pretty_quantity(plan.current)),
    ]
    top = plan.range_top()
    if p.current_min is not None and top is not None:
        rows.append(("Current range", f"{pretty_quantity(p.current_min)} to "
                     f"{pretty_quantity(top)}: raise slowly to tingling, never to pain"))
    cap = tightest(plan.limits, LimitKind.MAX_CURRENT)
    if cap is not None:
        rows.append(("Maximum current", f"{pretty_quantity(cap.value)} ({cap.source_words})"))
    rows += [("Duration", duration_text(plan.duration)),
             ("Dose", f"{pretty_quantity(plan.dose)} target: at a lower current the session "
              "runs longer (dose ÷ current)" if p.target_dose is not None
              else f"{pretty_quantity(plan.dose)} at the starting current")]
    dose_cap = tightest(plan.limits, LimitKind.MAX_DOSE)
    if dose_cap is not None:
        rows.append(("Maximum dose",
                     f"{pretty_quantity(dose_cap.value)} ({dose_cap.source_words})"))
    rows += [
        ("Electrode area", _area(plan)),
        ("Current density", pretty_quantity(plan.current_density)
         if plan.current_density is not None else "not computed (area not given)"),
    ]
    if plan.minimum_area is not None:
        rows.append(("Smallest electrode for this current", pretty_quantity(plan.minimum_area)))
    rows.append(("Solution", p.solution))
    if plan.drug is not None and plan.drug.concentration:
        rows.append(("Concentration", pretty_text_quantity(plan.drug.concentration, "mg/mL")))
    return rows


def _area(plan: Plan) -> str:
    if plan.electrode_area is None:
        return "not given"
    said = pretty_quantity(plan.electrode_area)
    return said if plan.area_source == "answer" else f"{said} (the protocol's default)"
