"""Dose calculator: current, duration or target dose, electrode area, drug; live limit checks."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ionto_cds.dosing import check_limits, current_density, dose_for, duration_for
from ionto_cds.engine import RuleSet, default_ruleset
from ionto_cds.errors import UnitError
from ionto_cds.language.treatment import Protocol
from ionto_cds.protocols import plan_limits
from ionto_cds.units import format_quantity, parse_quantity

_TAP_WATER = "tap_water"
_EXCEEDED = "\u2716 EXCEEDED"
_WITHIN = "\u2714 within"


def _text(name: str, placeholder: str, value: str = "") -> Any:
    box = w.Text(value=value, placeholder=placeholder, continuous_update=False,
                 layout=w.Layout(width="12em"))
    box.add_class(f"ionto-dose-{name}")
    return box


class DoseCalculator:
    """Work out dose, duration and current density and check them against every limit."""

    def __init__(self, rs: RuleSet | None = None) -> None:
        self.rs = rs if rs is not None else default_ruleset()
        self.protocols = [p for p in self.rs.protocols if not p.is_referral]
        drugs = [("none (tap water)", _TAP_WATER)] + [
            (d.label, key) for key, d in self.rs.drugs.items()
            if any(p.drug == key for p in self.protocols)]
        self.drug = w.Dropdown(options=drugs, value=_TAP_WATER, description="Drug",
                               layout=w.Layout(width="32em"))
        self.drug.add_class("ionto-dose-drug")
        self.protocol = w.Dropdown(description="Protocol", layout=w.Layout(width="32em"))
        self.protocol.add_class("ionto-dose-protocol")
        self.current = _text("current", "e.g. 10 mA")
        self.mode = w.ToggleButtons(options=[("Duration", "duration"),
                                             ("Target dose", "dose")], value="duration")
        self.mode.add_class("ionto-dose-mode")
        self.amount = _text("amount", "e.g. 20 min")
        self.area = _text("area", "e.g. 100 cm^2 (optional)")
        self.message = w.HTML("")
        self.message.add_class("ionto-dose-message")
        self.result = w.HTML("")
        self.result.add_class("ionto-dose-result")

        def row(label: str, control: Any) -> Any:
            return w.HBox([w.HTML(f"<b>{html.escape(label)}</b>",
                                  layout=w.Layout(width="10em")), control])

        self.amount_label = w.HTML("<b>Duration</b>", layout=w.Layout(width="10em"))
        self.widget = w.VBox([
            w.HTML("<h3 style='color:#1f4e79'>Dose calculator</h3>"),
            self.drug, self.protocol,
            row("Current", self.current), row("Give", self.mode),
            w.HBox([self.amount_label, self.amount]), row("Electrode area", self.area),
            self.message, self.result,
            w.HTML("<div style='color:#444;font-size:12px'>Supports, does not replace, "
                   "clinical judgement.</div>")])
        self.widget.add_class("ionto-dose-calculator")
        self.drug.observe(self._drug_changed, "value")
        for control in (self.protocol, self.current, self.mode, self.amount, self.area):
            control.observe(lambda _c: self.update(), "value")
        self._drug_changed(None)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _drug_changed(self, _change: Any) -> None:
        key = None if self.drug.value == _TAP_WATER else self.drug.value
        options = [(p.title, p.id) for p in self.protocols if p.drug == key]
        self.protocol.options = options
        self.protocol.value = options[0][1] if options else None
        self._defaults()
        self.update()

    def _selected(self) -> Protocol | None:
        return next((p for p in self.protocols if p.id == self.protocol.value), None)

    def _defaults(self) -> None:
        p = self._selected()
        if p is None or p.current is None:
            return
        self.current.value = format_quantity(p.current)
        if p.target_dose is not None:
            self.mode.value = "dose"
            self.amount.value = format_quantity(p.target_dose)
        elif p.duration is not None:
            self.mode.value = "duration"
            self.amount.value = format_quantity(p.duration)

    def update(self) -> None:
        """Recompute from the fields; show a message beside bad input."""
        by_dose = self.mode.value == "dose"
        self.amount_label.value = "<b>Target dose</b>" if by_dose else "<b>Duration</b>"
        self.amount.placeholder = "e.g. 40 mA*min" if by_dose else "e.g. 20 min"
        protocol = self._selected()
        if protocol is None:
            self.result.value = ""
            return
        drug = self.rs.drugs.get(protocol.drug) if protocol.drug else None
        try:
            current = parse_quantity(self.current.value, "mA")
            if by_dose:
                dose = parse_quantity(self.amount.value, "mA*min")
                duration = duration_for(dose, current)
            else:
                duration = parse_quantity(self.amount.value, "min")
                dose = dose_for(current, duration)
            area = parse_quantity(self.area.value, "cm^2") if self.area.value.strip() else None
            density = current_density(current, area) if area is not None else None
        except (UnitError, ValueError) as exc:
            self.message.value = (f"<div style='color:#a00000;font-weight:600'>\u26a0 "
                                  f"{html.escape(str(exc))}</div>")
            self.result.value = ""
            return
        self.message.value = ""
        limits = plan_limits(protocol, drug, self.rs.limits, [])
        violations = check_limits(limits, current, duration, area)
        rows = [("Current", format_quantity(current)), ("Duration", format_quantity(duration)),
                ("Dose", format_quantity(dose)),
                ("Current density", format_quantity(density) if density is not None
                 else "enter an electrode area")]
        if drug is not None and drug.dose_min is not None and drug.dose_max is not None:
            rows.append(("Usual dose range", f"{format_quantity(drug.dose_min)} to "
                         f"{format_quantity(drug.dose_max)}"))
        table = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                        for k, v in rows)
        broken = {id(v.limit) for v in violations}
        checks = "".join(
            f"<li>{_EXCEEDED if id(lim) in broken else _WITHIN}: "
            f"{html.escape(lim.describe())}</li>" for lim in limits)
        verdict = ("<div style='background:#8b0000;color:#fff;padding:6px;font-weight:700'>"
                   "\u2716 Outside the limits: " + html.escape("; ".join(map(str, violations)))
                   + "</div>") if violations else (
            "<div style='background:#1e6b34;color:#fff;padding:6px;font-weight:700'>"
            "\u2714 Within every limit</div>")
        self.result.value = (f"{verdict}<table>{table}</table><div><b>Limits</b><ul>{checks}"
                             "</ul></div>")
        self.violations = violations


def dose_calculator(rs: RuleSet | None = None) -> DoseCalculator:
    """A dose calculator over the packaged rules (displayable in a notebook)."""
    return DoseCalculator(rs)
