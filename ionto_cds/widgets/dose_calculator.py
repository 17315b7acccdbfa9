"""Dose calculator: current, duration or target dose, electrode area, drug; live limit checks."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import UnitError, UsageError
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.calculator import DoseCheck, Verdict, check_session, read_session
from ionto_cds.units import format_quantity, pretty_quantity

_TAP_WATER = "tap_water"
_EXCEEDED = "\u2716 EXCEEDED"
_WITHIN = "\u2714 within"
_UNCHECKED = "? not checked"


def _text(name: str, placeholder: str, value: str = "") -> Any:
    box = w.Text(value=value, placeholder=placeholder, continuous_update=False,
                 layout=w.Layout(width="12em"))
    box.add_class(f"ionto-dose-{name}")
    return box


class DoseCalculator:
    """Work out dose, duration and current density and check them against every limit."""

    def __init__(self, rs: RuleSet | None = None) -> None:
        self.rs = rs if rs is not None else default_ruleset()
        self.check: DoseCheck | None = None
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
        amount = self.amount.value.strip() or None
        try:
            current, duration, area = read_session(
                self.current.value, None if by_dose else amount, amount if by_dose else None,
                self.area.value.strip() or None)
        except (UnitError, UsageError) as exc:
            self.message.value = (f"<div style='color:#a00000;font-weight:600'>\u26a0 "
                                  f"{html.escape(str(exc))}</div>")
            self.result.value = ""
            self.check = None
            return
        self.message.value = ""
        # The one dose check: the same limits a plan of this protocol is held to.
        check = check_session(current=current, duration=duration, area=area, protocol=protocol,
                              drug=drug, global_limits=self.rs.limits)
        self.check = check
        self.result.value = _result_html(check)


def _result_html(check: DoseCheck) -> str:
    rows = [("Current", pretty_quantity(check.current)),
            ("Duration", pretty_quantity(check.duration)),
            ("Dose", pretty_quantity(check.dose)),
            ("Current density", pretty_quantity(check.density) if check.density is not None
             else "not computed: enter an electrode area")]
    if check.area_source == "protocol default" and check.area is not None:
        rows.append(("Electrode area", f"{pretty_quantity(check.area)} (protocol default)"))
    drug = check.drug
    if drug is not None and drug.dose_min is not None and drug.dose_max is not None:
        rows.append(("Usual dose range", f"{pretty_quantity(drug.dose_min)} to "
                     f"{pretty_quantity(drug.dose_max)}"))
    table = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    marks = {True: _EXCEEDED, False: _WITHIN}
    items = [f"<li>{marks[c.broken]}: {html.escape(str(c))}</li>" for c in check.checks
             if c.checked]
    items += [f"<li>{_UNCHECKED}: {html.escape(line)}</li>" for line in check.unchecked_lines()]
    verdict = check.verdict
    if verdict is Verdict.REFUSED:
        banner = ("<div style='background:#8b0000;color:#fff;padding:6px;font-weight:700'>"
                  "\u2716 Outside the limits: "
                  + html.escape("; ".join(str(c) for c in check.broken)) + "</div>")
    elif verdict is Verdict.INCOMPLETE:
        banner = ("<div style='background:#7a4b00;color:#fff;padding:6px;font-weight:700'>"
                  "? Not confirmed: some limits could not be checked (see below)</div>")
    else:
        banner = ("<div style='background:#1e6b34;color:#fff;padding:6px;font-weight:700'>"
                  "\u2714 Within every limit of this protocol</div>")
    return (f"{banner}<table>{table}</table><div><b>Limits</b><ul>{''.join(items)}"
            "</ul></div>")


def dose_calculator(rs: RuleSet | None = None) -> DoseCalculator:
    """A dose calculator over the packaged rules (displayable in a notebook)."""
    return DoseCalculator(rs)
