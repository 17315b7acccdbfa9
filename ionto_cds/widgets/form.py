"""The patient form, generated from the fact catalog: one field per fact, no field by hand."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import AnswerError
from ionto_cds.language.facts import FactDef
from ionto_cds.language.model import UNKNOWN as UNKNOWN_VALUE
from ionto_cds.language.model import FactType
from ionto_cds.widgets.question import LIST_MODES, NO, UNKNOWN, YES, YES_NO_UNKNOWN, Question

Listener = Callable[[], None]
_STYLE = """
<style>
.ionto-form .ionto-section-title { font-size: 16px; font-weight: 700; margin: 10px 0 2px 0;
  border-bottom: 2px solid #1f4e79; color: #1f4e79; }
</style>
"""


def _words(value: str) -> str:
    return value.replace("_", " ")


def _kind(fact: FactDef) -> str:
    return {FactType.BOOL: "choice", FactType.ENUM: "select",
            FactType.LIST: "list"}.get(fact.type, "text")


class FactField:
    """One question's widget: reads a raw answer and shows why it cannot be read."""

    def __init__(self, fact: FactDef, on_change: Listener) -> None:
        self.fact = fact
        self._on_change = on_change
        self._quiet = False
        self.input = self.root = self._make_input()
        self.root.add_class("ionto-field")
        self.root.add_class(f"ionto-fact-{fact.name}")

    def _make_input(self) -> Question:
        fact = self.fact
        kind = _kind(fact)
        options: list[list[str]] = []
        if kind == "choice":
            options = YES_NO_UNKNOWN
        elif kind == "list":
            options = LIST_MODES
        elif kind == "select":
            options = [["", "\u2014 unknown \u2014"]] + [[v, _words(v)] for v in fact.values]
        example = "e.g. 3" if fact.type is FactType.INT else f"e.g. 12 {fact.unit}"
        widget = Question(
            name=fact.name, kind=kind, label=fact.label, unit=fact.unit or "", help=fact.help,
            required=fact.required, placeholder=example if kind == "text" else "",
            options=options, choices=[[v, _words(v)] for v in fact.values] if kind == "list"
            else [], value=UNKNOWN if kind in ("choice", "list") else "")
        widget.observe(self._changed, ["value", "picked"])
        return widget

    def _changed(self, _change: Mapping[str, Any]) -> None:
        if not self._quiet:
            self._on_change()

    # --- reading and writing ------------------------------------------------------------
    def raw(self) -> object:
        """The answer as entered: None when unanswered."""
        fact, value = self.fact, self.input.value
        if fact.type is FactType.LIST:
            if value == UNKNOWN:
                return None
            if value == "none":
                return []
            return [v for v in fact.values if v in self.input.picked]
        if fact.type is FactType.BOOL:
            return {YES: True, NO: False}.get(value)
        text = str(value).strip()
        return text or None

    def read(self) -> tuple[object, str | None]:
        """(canonical value or UNKNOWN, message to show or None); the seam to domain values."""
        raw = self.raw()
        if raw is None:
            return UNKNOWN_VALUE, None
        if self.fact.type is FactType.LIST and raw == [] and self.input.value == "some":
            return UNKNOWN_VALUE, "tick at least one drug, or choose \u201cNone known\u201d"
        try:
            return self.fact.normalise(raw), None
        except AnswerError as exc:
            return UNKNOWN_VALUE, str(exc)

    def show_error(self, message: str | None) -> None:
        """Show (or clear) the message beside the field."""
        text = message or ""
        if self.input.error != text:
            self.input.error = text

    def set(self, raw: object) -> None:
        """Put an answer into the widget (None clears it), without notifying."""
        self._quiet = True
        try:
            self._set(raw)
        finally:
            self._quiet = False

    def _set(self, raw: object) -> None:
        fact, box = self.fact, self.input
        if fact.type is FactType.BOOL:
            value = None if raw is None else fact.normalise(raw)
            box.value = UNKNOWN if value is UNKNOWN_VALUE or value is None else (
                YES if value else NO)
        elif fact.type is FactType.ENUM:
            box.value = raw if isinstance(raw, str) and raw in fact.values else ""
        elif fact.type is FactType.LIST:
            items = set(raw) if isinstance(raw, list | tuple | set | frozenset) else set()
            box.picked = [v for v in fact.values if v in items]
            if raw is None or isinstance(raw, str):
                box.value = "none" if raw == "none" else UNKNOWN
            else:
                box.value = "some" if items else "none"
        else:
            box.value = "" if raw is None else str(raw)

    def set_visible(self, visible: bool) -> None:
        """Hide questions that do not apply."""
        display = None if visible else "none"
        if self.root.layout.display != display:
            self.root.layout.display = display

    def focus(self) -> None:
        """Move the keyboard focus to this question (the browser scrolls it into view)."""
        self.input.focus()


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
            title = w.HTML(f"<h3 class='ionto-section-title'>{html.escape(group.label)}</h3>")
            head: Any = title
            if any(f.type in (FactType.BOOL, FactType.LIST) for f in facts):
                head = w.HBox([title, self._none_button(group.id, group.label)],
                              layout=w.Layout(justify_content="space-between",
                                              align_items="flex-end", flex_flow="row wrap"))
                head.add_class("ionto-section-head")
            section = w.VBox([head, *(self.fields[f.name].root for f in facts)])
            section.add_class(f"ionto-section-{group.id}")
            self.sections[group.id] = section
            children.append(section)
        self.widget = w.VBox(children, layout=w.Layout(width="100%"))
        self.widget.add_class("ionto-form")
        self.values: dict[str, object] = {}
        self.problems: dict[str, str] = {}
        self.hidden: tuple[str, ...] = ()
        self.refresh()

    def _none_button(self, group_id: str, label: str) -> w.Button:
        button = w.Button(description="None of these: No to the unanswered",
                          tooltip=f"{label}: answer No (or None known) to every question of "
                          "this section still unanswered", layout=w.Layout(width="auto"))
        button.add_class("ionto-none-of-these")
        button.add_class(f"ionto-none-{group_id}")
        button.on_click(lambda _b: self.none_of_these(group_id))
        return button

    def none_of_these(self, group_id: str) -> list[str]:
        """Answer No (None known for a list) to every yes/no or list question of a section that
        is shown and still unanswered: one click for a checklist the clinician has gone through
        with the patient. Returns the questions it answered; each shows its No."""
        answered: list[str] = []
        self._quiet = True
        try:
            for fact in self.catalog.in_group(group_id):
                field = self.fields.get(fact.name)
                if field is None or field.root.layout.display == "none" or \
                        field.raw() is not None or fact.type not in (FactType.BOOL,
                                                                     FactType.LIST):
                    continue
                field.set(False if fact.type is FactType.BOOL else [])
                answered.append(fact.name)
                # a follow-up question ("can the broken skin be shielded?") that this answer
                # makes moot is hidden now and so left unanswered, never given a No unsaid
                self.refresh()
        finally:
            self._quiet = False
        if answered:
            self._changed()
        return answered

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
            elif value is not UNKNOWN_VALUE:
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
