"""One accessible question on screen: a labelled radio group, select or text box (anywidget).

The built-in ipywidgets left the yes/no/unknown buttons without a group name or a selected
state a screen reader could announce, and text boxes named only by their placeholder. Here each
question is a ``<fieldset>`` with its question as ``<legend>`` (radio groups), or a ``<label>``
tied to its control; help and error texts are tied to the control with ``aria-describedby``, an
unreadable answer sets ``aria-invalid``, and the focus ring has more than 3:1 contrast. Keys:
Tab moves between questions, the arrow keys within a group, and Y / N / U answer a yes/no
question at once.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as t

_STATIC = Path(__file__).parent / "static"


YES, NO, UNKNOWN = "yes", "no", "unknown"
YES_NO_UNKNOWN = [[YES, "Yes"], [NO, "No"], [UNKNOWN, "Unknown"]]
LIST_MODES = [[UNKNOWN, "Unknown"], ["none", "None known"], ["some", "Yes, tick:"]]


class Question(anywidget.AnyWidget):
    """One question: ``kind`` is choice (radio group), list (radio group and ticks), select or
    text; ``value`` is the option key or the text typed, ``picked`` the ticked items."""

    _esm = _STATIC / "question.js"
    _css = _STATIC / "question.css"
    name = t.Unicode("").tag(sync=True)
    kind = t.Unicode("text").tag(sync=True)
    label = t.Unicode("").tag(sync=True)
    unit = t.Unicode("").tag(sync=True)
    help = t.Unicode("").tag(sync=True)
    required = t.Bool(False).tag(sync=True)
    placeholder = t.Unicode("").tag(sync=True)
    options = t.List(t.List(t.Unicode())).tag(sync=True)
    choices = t.List(t.List(t.Unicode())).tag(sync=True)
    value = t.Unicode("").tag(sync=True)
    picked = t.List(t.Unicode()).tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    focus_request = t.Int(0).tag(sync=True)

    def focus(self) -> None:
        """Move the keyboard focus here (the browser scrolls it into view)."""
        self.focus_request += 1
