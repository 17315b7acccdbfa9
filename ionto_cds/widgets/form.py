"""The patient form, generated from the fact catalog: one field per fact, no field by hand."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import AnswerError
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import UNKNOWN, FactType

Listener = Callable[[], None]
_UNKNOWN = "unknown"

_LABEL_WIDTH = "44%"
# A toggle-button group is a plain <div>: the browser ignores focus() on it (so a question
# button did not scroll to a yes/no field) unless it has a tabindex. False gives tabindex=-1:
# focusable from code, and the Yes/No/Unknown buttons inside stay the only tab stops.
_FOCUSABLE = False
_STYLE = """
<style>
.ionto-form .ionto-label { font-size: 14px; line-height: 1.3; color: #111; }
.ionto-form .ionto-help { font-size: 12px; line-height: 1.3; color: #444; }
.ionto-form .ionto-error { font-size: 13px; color: #a00000; font-weight: 600; }
.ionto-form .ionto-section-title { font-size: 16px; font-weight: 700; margin: 10px 0 2px 0;
  border-bottom: 2px solid #1f4e79; color: #1f4e79; }
.ionto-form .ionto-field { border-bottom: 1px solid #e3e3e3; padding: 3px 0; }
.ionto-form .ionto-field-invalid input { border: 2px solid #a00000 !important; }
.ionto-form .ionto-input:focus { outline: none; }
.ionto-form .ionto-field:has(.ionto-input:focus) { background: #e8f0fa;
  box-shadow: inset 4px 0 0 #1f4e79; }
.ionto-form .widget-toggle-button.mod-active { background: #1f4e79; color: #fff;
  font-weight: 700; box-shadow: inset 0 0 0 2px #0b2540; }
</style>
"""


def _label_html(fact: FactDef) -> str:
    unit = f" ({html.escape(fact.unit)})" if fact.unit else ""
    required = " <b title='required'>*</b>" if fact.required else ""
    return (f"<div class='ionto-label'><b>{html.escape(fact.label)}</b>{unit}{required}</div>"
            f"<div class='ionto-help'>{html.escape(fact.help)}</div>")


def _words(value: str) -> str:
    return value.replace("_", " ")


class FactField:
    """One question's widget: reads a raw answer and shows why it cannot be read."""

    def __init__(self, fact: FactDef, on_change: Listener) -> None:
        self.fact = fact
        self._on_change = on_change
        self._quiet = False
        self.error = w.HTML("", layout=w.Layout(min_width="0"))
        self.error.add_class("ionto-error-box")
        self.input = self._make_input()
        self.input.add_class("ionto-input")
        self.input.add_class(f"ionto-input-{fact.name}")
        label = w.HTML(_label_html(fact), layout=w.Layout(width=_LABEL_WIDTH))
        control = w.VBox([self.input, self.error], layout=w.Layout(width="56%"))
        self.root = w.HBox([label, control], layout=w.Layout(width="100%"))
        self.root.add_class("ionto-field")
        self.root.add_class(f"ionto-fact-{fact.name}")

    # --- building -----------------------------------------------------------------------
    def _make_input(self) -> Any:
        fact = self.fact
        if fact.type is FactType.BOOL:
            widget = w.ToggleButtons(options=[("Yes", True), ("No", False), ("Unknown", _UNKNOWN)],
                                     value=_UNKNOWN, style={"button_width": "92px"},
                                     tabbable=_FOCUSABLE)
            widget.observe(self._changed, "value")
            return widget
        if fact.type is FactType.ENUM:
            options = [("— unknown —", "")] + [(_words(v), v) for v in fact.values]
            widget = w.Dropdown(options=options, value="", layout=w.Layout(width="95%"))
            widget.observe(self._changed, "value")
            return widget
        if fact.type is FactType.LIST:
            self.list_mode = w.ToggleButtons(
                options=[("Unknown", "unknown"), ("None known", "none"), ("Yes, tick:", "some")],
                value="unknown", style={"button_width": "110px"}, tabbable=_FOCUSABLE)
            self.list_mode.observe(self._changed, "value")
            self.ticks = {v: w.Checkbox(value=False, description=_words(v), indent=False,
                                        layout=w.Layout(width="auto"))
                          for v in fact.values}
            for tick in self.ticks.values():
                tick.add_class(f"ionto-choice-{tick.description.replace(' ', '_')}")
                tick.observe(self._changed, "value")
            box = w.VBox([self.list_mode, w.HBox(list(self.ticks.values()),
                                                  layout=w.Layout(flex_flow="row wrap"))])
            return box
        example = "e.g. 3" if fact.type is FactType.INT else f"e.g. 12 {fact.unit}"
        widget = w.Text(value="", placeholder=example, continuous_update=False,
                        layout=w.Layout(width="95%"))
        widget.observe(self._changed, "value")
        return widget

    def _changed(self, _change: Mapping[str, Any]) -> None:
        if self.fact.type is FactType.LIST and _change.get("owner") is not self.list_mode and \
                _change.get("new") is True and self.list_mode.value != "some":
            self.list_mode.value = "some"  # ticking a drug means "yes, these"; fires again
            return
        if not self._quiet:
            self._on_change()

    # --- reading and writing ------------------------------------------------------------
    def raw(self) -> object:
        """The answer as entered: None when unanswered."""
        fact = self.fact
        if fact.type is FactType.LIST:
            mode = self.list_mode.value
            if mode == "unknown":
                return None
            if mode == "none":
                return []
            return [v for v, tick in self.ticks.items() if tick.value]
        if fact.type in (FactType.INT, FactType.QUANTITY):
            text = str(self.input.value).strip()
            return text or None
        value = self.input.value
        # a None value would show as no selection, so unknown is a word here, never None
        return None if value in (_UNKNOWN, "") else value

    def read(self) -> tuple[object, str | None]:
        """(canonical value or UNKNOWN, message to show or None); the seam to domain values."""
        raw = self.raw()
        if raw is None:
            return UNKNOWN, None
        if self.fact.type is FactType.LIST and raw == [] and self.list_mode.value == "some":
            return UNKNOWN, "tick at least one drug, or choose \u201cNone known\u201d"
        try:
            return self.fact.normalise(raw), None
        except AnswerError as exc:
            return UNKNOWN, str(exc)

    def show_error(self, message: str | None) -> None:
        """Show (or clear) the message beside the field."""
        text = "" if message is None else (
            f"<div class='ionto-error'>\u26a0 {html.escape(message)}</div>")
        if self.error.value != text:
            self.error.value = text
        if message is None:
            self.root.remove_class("ionto-field-invalid")
        else:
            self.root.add_class("ionto-field-invalid")

    def set(self, raw: object) -> None:
        """Put an answer into the widget (None clears it), without notifying."""
        self._quiet = True
        try:
            self._set(raw)
        finally:
            self._quiet = False

    def _set(self, raw: object) -> None:
        fact = self.fact
        if fact.type is FactType.BOOL:
            value = None if raw is None else fact.normalise(raw)
            self.input.value = _UNKNOWN if value is UNKNOWN else value
        elif fact.type is FactType.ENUM:
            self.input.value = raw if raw in fact.values else ""
        elif fact.type is FactType.LIST:
            items = set(raw) if isinstance(raw, list | tuple | set | frozenset) else set()
            for v, tick in self.ticks.items():
                tick.value = v in items
            if raw is None or isinstance(raw, str):
                self.list_mode.value = "none" if raw == "none" else "unknown"
            else:
                self.list_mode.value = "some" if items else "none"
        else:
            self.input.value = "" if raw is None else str(raw)

    def set_visible(self, visible: bool) -> None:
        """Hide questions that do not apply."""
        display = None if visible else "none"
        if self.root.layout.display != display:
            self.root.layout.display = display

    def focus(self) -> None:
        """Move the keyboard focus to this question (the browser scrolls it into view)."""
        target = self.list_mode if self.fact.type is FactType.LIST else self.input
        target.focus()


class PatientForm:
    """Every fact of the catalog as a field, in catalog order, under its section heading."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.catalog = catalog = ruleset.catalog
        self._listeners: list[Listener] = []
        self._quiet = False
        self.fields: dict[str, FactField] = {
            fact.name: FactField(fact, self._changed) for fact in catalog.asked
        }
        self.sections: dict[str, Any] = {}
        children: list[Any] = [w.HTML(_STYLE)]
        for group in catalog.groups:
            facts = tuple(f for f in catalog.in_group(group.id) if not f.is_derived)
            if not facts:
                continue
            title = w.HTML(f"<div class='ionto-section-title'>{html.escape(group.label)}</div>")
            section = w.VBox([title, *(self.fields[f.name].root for f in facts)])
            section.add_class(f"ionto-section-{group.id}")
            self.sections[group.id] = section
            children.append(section)
        self.widget = w.VBox(children, layout=w.Layout(width="100%"))
        self.widget.add_class("ionto-form")
        self.values: dict[str, object] = {}
        self.problems: dict[str, str] = {}
        self.hidden: tuple[str, ...] = ()
        self.refresh()

    def on_change(self, listener: Listener) -> None:
        """Call ``listener`` after every change to any answer."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        if self._quiet:
            return
        self.refresh()
        for listener in self._listeners:
            listener()

    def refresh(self) -> None:
        """Re-read every field, show messages beside bad ones, hide questions that do not apply."""
        values: dict[str, object] = {}
        problems: dict[str, str] = {}
        for name, field in self.fields.items():
            value, message = field.read()
            if message is not None:
                problems[name] = message
            elif value is not UNKNOWN:
                values[name] = value
        facts = self.ruleset.answers(values)
        hidden = facts.not_applicable
        # Questions no rule or protocol that can still matter reads are tucked away too (the
        # glycopyrronium screen for an elbow), unless answered or typed in: nothing is hidden
        # with something in it.
        typed = set(values) | set(problems)
        tucked = {n for n in self.ruleset.unneeded_facts(facts.env) if n not in typed}
        for name, field in self.fields.items():
            visible = name not in hidden and name not in tucked
            field.set_visible(visible)
            field.show_error(problems.get(name) if name not in hidden else None)
        for group_id, section in self.sections.items():
            shown = any(f.name not in hidden and f.name not in tucked
                        for f in self.ruleset.catalog.in_group(group_id) if not f.is_derived)
            section.layout.display = None if shown else "none"
        self.hidden = tuple(hidden)
        self.values = {k: v for k, v in values.items() if k not in hidden}
        self.problems = {k: v for k, v in problems.items() if k not in hidden}

    def answers(self) -> dict[str, object]:
        """The readable answers to questions that apply, as canonical values."""
        return dict(self.values)

    def raw_answers(self) -> dict[str, object]:
        """The answers as entered (strings for quantities), for a record or a file."""
        out: dict[str, object] = {}
        for name in self.values:
            raw = self.fields[name].raw()
            out[name] = raw
        return out

    def load(self, answers: Mapping[str, object]) -> list[str]:
        """Fill the form from a mapping of fact: answer; returns the names it did not know."""
        unknown = [str(k) for k in answers if k not in self.fields]
        self._quiet = True
        try:
            for name, field in self.fields.items():
                field.set(_as_text(answers.get(name), field.fact))
        finally:
            self._quiet = False
        self._changed()
        return unknown

    def reset(self) -> None:
        """Clear every answer back to unknown."""
        self.load({})

    def set_answer(self, name: str, raw: object) -> None:
        """Answer one question as a clinician would (notifies listeners)."""
        self.fields[name].set(_as_text(raw, self.fields[name].fact))
        self._changed()

    def focus(self, name: str) -> None:
        """Jump to one question."""
        self.fields[name].focus()


def _as_text(raw: object, fact: FactDef) -> object:
    """File values to widget values: numbers for quantities become '<n> <unit>' text."""
    if raw is None:
        return None
    number = isinstance(raw, int | float) and not isinstance(raw, bool)
    if fact.type is FactType.QUANTITY and number:
        return f"{raw:g} {fact.unit}"
    if fact.type is FactType.INT and number:
        return str(raw)
    return raw
