"""Log a treatment session through a form generated from the session fields; show guidance."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ionto_cds.course.guidance import Guidance
from ionto_cds.course.plot import plot_course
from ionto_cds.course.records import SESSION_FIELDS, FieldKind, SessionField, SessionRecord
from ionto_cds.course.schema import field_choices
from ionto_cds.course.store import CourseLog
from ionto_cds.engine.assessment import Assessment
from ionto_cds.errors import IontoError, SessionDataError
from ionto_cds.units import format_quantity

_COLOURS = {"stop": "#b00020", "pause": "#b00020", "lower_current": "#b35900",
            "reduce_frequency": "#b35900", "escalation": "#1f4e79", "warning": "#b35900"}
_EXAMPLES = {"current": "e.g. 15 mA or 0.015 A", "duration": "e.g. 20 min or 900 s",
             "dose": "computed (optional)", "electrode_area": "e.g. 120 cm^2 (optional)"}


def _label(f: SessionField) -> str:
    star = " *" if f.required else ""
    return f"<b>{html.escape(f.label)}</b>{star}"


class CourseForm:
    """A session form: one control per session field, a message beside each, a Log button.

    Raw widget values become a session mapping at one seam (:meth:`values`); the course log's
    schema does all checking, so the form and :meth:`CourseLog.log_session` agree.
    """

    def __init__(self, log: CourseLog, course_id: str = "",
                 on_logged: Callable[[SessionRecord], None] | None = None,
                 assessment: Assessment | None = None) -> None:
        self.log = log
        self.on_logged = on_logged
        # The patient's assessment, when known: sessions are then held to the plan's limits
        # with the caps the patient's rules add (a child's current cap), not only the protocol's.
        self.assessment = assessment
        self.controls: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        rows = []
        for f in SESSION_FIELDS:
            control = self._control(f)
            control.add_class(f"ionto-course-{f.name.replace('_', '-')}")
            self.controls[f.name] = control
            message = w.HTML("", layout=w.Layout(width="34em"))
            self.messages[f.name] = message
            rows.append(w.HBox([w.HTML(_label(f), layout=w.Layout(width="11em")), control,
                                message]))
        self.controls["course_id"].value = course_id
        self.controls["protocol"].observe(lambda _: self._protocol_defaults(), names="value")
        self._protocol_defaults()
        self.button = w.Button(description="Log session", button_style="primary",
                               icon="check")
        self.button.add_class("ionto-course-log")
        self.button.on_click(lambda _: self.submit())
        self.status = w.HTML("")
        self.status.add_class("ionto-course-status")
        self.widget = w.VBox([w.HTML("<h3 style='color:#1f4e79'>Log a session</h3>"), *rows,
                              w.HBox([self.button, self.status])])

    def _control(self, f: SessionField) -> Any:
        rs, vocab = self.log.ruleset, self.log.vocabulary
        layout = w.Layout(width="22em")
        if f.kind is FieldKind.DATE:
            return w.DatePicker(value=dt.date.today(), layout=layout)
        if f.kind is FieldKind.PROTOCOL:
            return w.Dropdown(options=[(p.title, p.id) for p in rs.protocols
                                       if not p.is_referral], layout=layout)
        if f.kind is FieldKind.ENUM:
            labels = {"tolerance": {k: t.label for k, t in vocab.tolerance.items()}}.get(f.name, {})
            options: list[tuple[str, str | None]] = [] if f.required else [("(not given)", None)]
            options += [(labels.get(v, v.replace("_", " ")), v)
                        for v in field_choices(f.name, rs, vocab)]
            return w.Dropdown(options=options, layout=layout)
        if f.kind is FieldKind.EFFECTS:
            return w.SelectMultiple(options=[(e.label, k) for k, e in
                                             vocab.adverse_effects.items()],
                                    rows=5, layout=layout)
        if f.kind is FieldKind.SCORE:
            score = vocab.scores[f.name.split("_")[0]]
            return w.Dropdown(options=[("not recorded", None)] + [
                (str(v), v) for v in range(score.min, score.max + 1)], layout=layout,
                tooltip=score.label)
        placeholder = _EXAMPLES.get(f.name, f.help)
        return w.Text(placeholder=placeholder, layout=layout)

    def _protocol_defaults(self) -> None:
        """Fill current, duration and polarity from the chosen protocol's plan values."""
        protocol = next((p for p in self.log.ruleset.protocols
                         if p.id == self.controls["protocol"].value), None)
        if protocol is None:
            return
        if protocol.current is not None:
            self.controls["current"].value = format_quantity(protocol.current)
        duration = protocol.duration
        if duration is None and protocol.target_dose is not None and protocol.current:
            duration = (protocol.target_dose / protocol.current).to("min")
        if duration is not None:
            self.controls["duration"].value = format_quantity(duration)
        self.controls["polarity"].value = protocol.polarity

    def prefill(self, session: SessionRecord) -> None:
        """Start from a previous session: same protocol, site, current, duration, polarity."""
        self.controls["protocol"].value = session.protocol
        self.controls["site"].value = session.site
        self.controls["current"].value = format_quantity(session.current)
        self.controls["duration"].value = format_quantity(session.duration)
        self.controls["polarity"].value = session.polarity
        if session.electrode_area is not None:
            self.controls["electrode_area"].value = format_quantity(session.electrode_area)

    def values(self) -> dict[str, object]:
        """The session as typed: text stays text (units parsed by the schema), empty left out."""
        record: dict[str, object] = {}
        for name, control in self.controls.items():
            value = control.value
            if isinstance(value, tuple):
                value = list(value)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, "", []):
                continue
            record[name] = value
        return record

    def submit(self) -> SessionRecord | None:
        """Log the session; show each problem beside its field. None when refused."""
        for message in self.messages.values():
            message.value = ""
        try:
            session = self.log.log_session(self.values(), assessment=self.assessment)
        except SessionDataError as exc:
            for problem in exc.problems:
                target = self.messages.get(problem.field)
                text = html.escape(problem.message, quote=False)
                if target is not None:
                    target.value = f"<span style='color:#b00020'>\u2716 {text}</span>"
            count = len(exc.problems)
            self.status.value = (f"<span style='color:#b00020'>Not logged: {count} problem"
                                 f"{'s' if count != 1 else ''} (see beside the fields)</span>")
            return None
        except IontoError as exc:
            self.status.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return None
        self.status.value = (f"<span style='color:#2e7d32'>\u2714 Logged session "
                             f"{session.session_id} on {session.date.isoformat()}: "
                             f"{format_quantity(session.dose)}</span>")
        if self.on_logged is not None:
            self.on_logged(session)
        return session


def guidance_html(guidance: Guidance) -> str:
    """The guidance as an HTML list, adverse-effect actions first and coloured by urgency."""
    items = "".join(
        f"<li style='color:{_COLOURS.get(kind, 'inherit')}'>{html.escape(text)}</li>"
        for kind, text in guidance.items())
    return (f"<h3 style='color:#1f4e79'>Guidance: {html.escape(guidance.protocol_title)}</h3>"
            f"<ul>{items}</ul>")


class CourseTracker:
    """The session form beside the course's plot and guidance, refreshed after every log."""

    def __init__(self, log: CourseLog, course_id: str,
                 assessment: Assessment | None = None) -> None:
        self.log = log
        self.course_id = course_id
        self.form = CourseForm(log, course_id, on_logged=lambda _: self.refresh(),
                               assessment=assessment)
        self.plot = w.Image(format="png", layout=w.Layout(max_width="52em"))
        self.guidance = w.HTML("")
        self.guidance.add_class("ionto-course-guidance")
        self.widget = w.VBox([self.form.widget, self.guidance, self.plot])
        if course_id in log.courses():
            self.form.prefill(log.records(course_id)[-1])
        self.refresh()

    def refresh(self) -> None:
        """Redraw the plot and guidance from the log."""
        course = str(self.form.controls["course_id"].value or self.course_id)
        frame = self.log.sessions(course)
        if frame.empty:
            self.guidance.value = "<i>No session logged for this course yet.</i>"
            self.plot.layout.display = "none"
            return
        self.guidance.value = guidance_html(self.log.guidance(course))
        png = io.BytesIO()
        plot_course(frame, title=f"Course {course}").savefig(png, format="png", dpi=90)
        self.plot.value = png.getvalue()
        self.plot.layout.display = None


def course_tracker(log: CourseLog, course_id: str, assessment: Assessment | None = None) -> Any:
    """The course tracker widget, ready to display (sessions held to the patient's limits when
    the patient's assessment is given)."""
    return CourseTracker(log, course_id, assessment).widget
