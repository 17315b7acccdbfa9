"""The clinician app: generated form, live results, overrides, export, load and reset."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ipywidgets as w
import platformdirs

from ionto_cds.analysis.record import (
    Override,
    SavedRecord,
    build_record,
    compare_record,
    is_record,
    make_override,
    read_record,
    write_record,
)
from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import InputFileError, OverrideError, PatientDataError, UsageError, quote
from ionto_cds.inputs import MAX_FILE_BYTES, read_answers_text
from ionto_cds.language.model import Severity, Truth
from ionto_cds.render.leaflet import leaflet_html
from ionto_cds.render.pdf import html_to_pdf
from ionto_cds.render.report import markdown_to_html, to_markdown
from ionto_cds.widgets.form import PatientForm
from ionto_cds.widgets.results import ResultPanel

EXPORT_DIR_ENV = "IONTO_CDS_EXPORT_DIR"
_MIME = {".pdf": "application/pdf", ".html": "text/html", ".md": "text/markdown",
         ".json": "application/json"}

_LAYOUT_CSS = """
<style>
.ionto-app { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
/* The decision stays in view while the long form scrolls: the banner is sticky within the
   full-height results column. Sticky needs every box between it and the page's scroller to
   let it out, and widget boxes and notebook output areas default to overflow:auto. */
.ionto-app .ionto-decision-box { position: sticky; top: 0; z-index: 5; background: #fff;
  padding: 4px 0 6px 0;
  /* white above hides text scrolling through the page's top padding; shade below */
  box-shadow: 0 -24px 0 0 #fff, 0 6px 6px -6px rgba(0, 0, 0, 0.35); }
.ionto-app, .ionto-app .ionto-layout, .ionto-app .ionto-results-column,
.ionto-app .ionto-decision-box { overflow: visible !important; }
.jp-OutputArea:has(.ionto-app), .jp-OutputArea-child:has(.ionto-app),
.jp-OutputArea-output:has(.ionto-app) { overflow: visible !important; }
.ionto-app .ionto-title { font-size: 22px; font-weight: 700; color: #1f4e79; }
.ionto-app .ionto-status { font-size: 13px; }
/* A phone, or a window zoomed to 200%: one column, the decision on top and in view, then the
   form, then the details. The results column lets its parts out to be ordered. */
@media (max-width: 900px) {
  .ionto-app .ionto-layout { flex-direction: column !important; }
  .ionto-app .ionto-results-column { display: contents !important; }
  .ionto-app .ionto-decision-box { order: 0; }
  .ionto-app .ionto-form-column { order: 1; width: 100% !important; padding: 0 !important; }
  .ionto-app .ionto-results, .ionto-app .ionto-export { order: 2; width: 100% !important; }
  .ionto-app .widget-text, .ionto-app .widget-datepicker { width: 100% !important; }
}
</style>
"""


def default_export_dir() -> Path:
    """Where exports go: $IONTO_CDS_EXPORT_DIR, else an exports folder in the user's data
    directory (e.g. ~/.local/share/ionto-cds/exports on Linux)."""
    env = os.environ.get(EXPORT_DIR_ENV)
    return Path(env) if env else platformdirs.user_data_path("ionto-cds") / "exports"


def export_folder(text: str, root: Path | None = None) -> Path:
    """The folder a 'Save to' entry names, kept inside the export root the server was started
    with (``$IONTO_CDS_EXPORT_DIR``): a relative entry is a subfolder of it, and an entry that
    leaves it (``..``, another absolute path) or holds control characters is refused, so a
    client of the app cannot write anywhere else on the machine."""
    base = (root if root is not None else default_export_dir()).resolve()
    entry = text.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in entry) or len(entry) > 255:
        raise UsageError("the folder name holds control characters or is too long: type a "
                         "plain folder name")
    target = (base / entry).resolve() if entry else base
    if target != base and not target.is_relative_to(base):
        raise UsageError(f"exports are saved inside {base}: {quote(entry)} is outside it; "
                         "give a folder inside it")
    return target


def _download_link(path: Path, mime: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<a download='{html.escape(path.name)}' href='data:{mime};base64,{data}'>"
            f"download {html.escape(path.suffix[1:].upper())}</a>")


class ClinicianApp:
    """Form on the left, live result on the right. Widgets only call assess and show it."""

    def __init__(self, rs: RuleSet | None = None) -> None:
        self.rs = rs if rs is not None else default_ruleset()
        self.form = PatientForm(self.rs)
        self.results = ResultPanel(self.rs, self.form.focus, self._acknowledge)
        self.overrides: dict[str, Override] = {}
        self.assessment: Assessment = assess({}, self.rs)
        self.problem: str | None = None

        self.upload = w.FileUpload(accept=".yaml,.yml,.json", multiple=False,
                                   description="Load patient file")
        self.upload.add_class("ionto-load")
        self.upload.observe(self._uploaded, "value")
        self.reset_button = w.Button(description="Reset", icon="undo")
        self.reset_button.add_class("ionto-reset")
        self.reset_button.on_click(lambda _b: self._ask_reset(True))
        confirm = w.Button(description="Yes, clear everything", button_style="danger",
                           layout=w.Layout(width="auto"))
        confirm.add_class("ionto-reset-confirm")
        confirm.on_click(lambda _b: self.reset())
        cancel = w.Button(description="Keep the answers", layout=w.Layout(width="auto"))
        cancel.add_class("ionto-reset-cancel")
        cancel.on_click(lambda _b: self._ask_reset(False))
        self.reset_confirm = w.HBox(
            [w.HTML("<b>Clear every answer and override of this patient?</b>"), confirm, cancel],
            layout=w.Layout(display="none", flex_flow="row wrap"))
        self.reset_confirm.add_class("ionto-reset-question")
        self.patient_ref = w.Text(description="Patient ref", placeholder="your reference "
                                  "(optional; no name needed)", layout=w.Layout(width="auto"))
        self.patient_ref.add_class("ionto-patient-ref")
        self.clinician = w.Text(description="Clinician", placeholder="optional",
                                layout=w.Layout(width="auto"))
        self.clinician.add_class("ionto-clinician")
        self.assessed_on = w.DatePicker(description="Assessed", value=date.today())
        self.assessed_on.add_class("ionto-assessed-on")
        self.load_status = w.HTML("")
        self.load_status.add_class("ionto-load-status")

        self.export_dir = w.Text(value="", description="Save to",
                                 placeholder=f"a folder inside {default_export_dir()} (empty: "
                                 "that folder)", layout=w.Layout(width="96%"))
        self.export_dir.add_class("ionto-export-dir")
        self.plan_button = w.Button(description="Print-ready plan (PDF + HTML)", icon="print",
                                    layout=w.Layout(width="auto"))
        self.plan_button.add_class("ionto-export-plan")
        self.plan_button.on_click(lambda _b: self._export("plan"))
        self.leaflet_button = w.Button(description="Patient leaflet (PDF + HTML)",
                                       icon="file-text", layout=w.Layout(width="auto"))
        self.leaflet_button.add_class("ionto-export-leaflet")
        self.leaflet_button.on_click(lambda _b: self._export("leaflet"))
        self.record_button = w.Button(description="Decision record (JSON, to resume)",
                                      icon="save", layout=w.Layout(width="auto"))
        self.record_button.add_class("ionto-export-record")
        self.record_button.on_click(lambda _b: self._export("record"))
        self.export_status = w.HTML("")
        self.export_status.add_class("ionto-export-status")
        export = w.VBox([w.HTML("<h2 style='color:#1f4e79;font-size:16px'>Export</h2>"),
                         self.export_dir,
                         w.HBox([self.plan_button, self.leaflet_button, self.record_button],
                                layout=w.Layout(flex_flow="row wrap")),
                         self.export_status])
        export.add_class("ionto-export")

        header = w.VBox([
            w.HTML(_LAYOUT_CSS + "<div>Answer what you know; unanswered questions stay "
                   "<b>Unknown</b>, never \u201cNo\u201d. The result updates as you go.</div>"),
            w.HBox([self.patient_ref, self.assessed_on, self.clinician],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.upload, self.reset_button]), self.reset_confirm, self.load_status])
        left = w.VBox([self.form.widget], layout=w.Layout(width="56%", padding="0 12px 0 0"))
        left.add_class("ionto-form-column")
        right = w.VBox([self.results.banner_box, self.results.details, export],
                       layout=w.Layout(width="44%"))
        right.add_class("ionto-results-column")
        columns = w.HBox([left, right], layout=w.Layout(width="100%"))
        columns.add_class("ionto-layout")
        self.widget = w.VBox([header, columns], layout=w.Layout(width="100%"))
        self.widget.add_class("ionto-app")
        self.form.on_change(self.update)
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- the one path from answers to the screen ----------------------------------------
    def update(self) -> None:
        """Assess the current answers and show the result."""
        try:
            self.assessment = assess(self.form.answers(), self.rs)
        except PatientDataError as exc:
            self.problem = "; ".join(f"{p.fact}: {p.message}" for p in exc.problems)
            self.results.show_problem(self.problem)
            return
        self.problem = None
        present = {f.rule.id for f in self.assessment.findings}
        self.overrides = {k: v for k, v in self.overrides.items() if k in present}
        self.results.show(self.assessment, self.overrides, self.form.problems)

    def _acknowledge(self, rule_id: str, reason: str, comment: str) -> str | None:
        try:
            self.acknowledge(rule_id, reason, comment)
        except OverrideError as exc:
            return str(exc)
        return None

    def acknowledge(self, rule_id: str, reason: str, comment: str) -> Override:
        """Record an override of a relative contraindication or precaution."""
        override = make_override(self.assessment, rule_id, reason, comment)
        self.overrides[rule_id] = override
        self.update()
        return override

    # --- records and files --------------------------------------------------------------
    def context(self) -> dict[str, str]:
        """Who and when, as typed (control characters removed, bounded): what ties an export
        to a patient, a date and a clinician."""
        def clean(text: object) -> str:
            return "".join(ch for ch in str(text) if ch.isprintable())[:80].strip()

        found = {"Patient reference": clean(self.patient_ref.value),
                 "Assessed": self.assessed_on.value.isoformat()
                 if self.assessed_on.value is not None else "",
                 "Clinician": clean(self.clinician.value)}
        return {k: v for k, v in found.items() if v}

    def record(self) -> dict[str, Any]:
        """The decision record of what is on screen now."""
        return build_record(self.assessment, self.overrides.values(), self.form.raw_answers(),
                            context=self.context())

    def _stem(self, kind: str) -> str:
        """An export's file name: kind, the patient reference (letters, digits, - and _ only)
        and the time."""
        ref = "".join(ch for ch in self.context().get("Patient reference", "")
                      if ch.isalnum() or ch in "-_")[:40]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{kind}-{ref}-{stamp}" if ref else f"{kind}-{stamp}"

    def _target(self, folder: str | Path | None) -> Path:
        """The export folder; refuses while an answer cannot be read (the plan would be
        made without it)."""
        if self.form.problems:
            names = ", ".join(self.rs.catalog[n].label for n in self.form.problems)
            raise UsageError(f"correct the answers that could not be read first ({names}): "
                             "nothing is exported while one is unreadable")
        target = Path(folder) if folder is not None else export_folder(self.export_dir.value)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def export_plan(self, folder: str | Path | None = None) -> list[Path]:
        """Write the print-ready plan as PDF, HTML (print CSS) and Markdown; returns the paths."""
        target = self._target(folder)
        stem = self._stem("iontophoresis-plan")
        markdown = to_markdown(self.assessment, self.context()) + self._overrides_markdown()
        page = markdown_to_html(markdown, "Iontophoresis plan")
        return self._write(target / stem, page, "Iontophoresis plan", markdown)

    def export_leaflet(self, folder: str | Path | None = None) -> list[Path]:
        """Write the patient leaflet for the plan as PDF and HTML; raises UsageError without a
        plan."""
        target = self._target(folder)
        page = leaflet_html(self.assessment, self.context())
        return self._write(target / self._stem("patient-leaflet"), page,
                           "Your iontophoresis treatment")

    @staticmethod
    def _write(stem: Path, page: str, title: str, markdown: str | None = None) -> list[Path]:
        pdf = stem.with_suffix(".pdf")
        pdf.write_bytes(html_to_pdf(page, title))
        html_file = stem.with_suffix(".html")
        html_file.write_text(page, encoding="utf-8")
        paths = [pdf, html_file]
        if markdown is not None:
            md = stem.with_suffix(".md")
            md.write_text(markdown, encoding="utf-8")
            paths.append(md)
        return paths

    def export_record(self, folder: str | Path | None = None) -> Path:
        """Write the decision record JSON (it loads back into the app); returns its path."""
        target = self._target(folder)
        return write_record(self.record(), target / f"{self._stem('decision-record')}.json")

    def _overrides_markdown(self) -> str:
        if not self.overrides:
            return ""
        lines = ["", "## Overrides recorded", ""] + [
            f"- **{self.rs.by_id[o.rule].title}** ({o.severity}): {o.reason_text}. "
            f"{o.comment} ({o.time_utc})" for o in self.overrides.values()]
        return "\n".join(lines) + "\n"

    def _export(self, kind: str) -> None:
        try:
            paths = (self.export_plan() if kind == "plan" else self.export_leaflet()
                     if kind == "leaflet" else [self.export_record()])
        except (OSError, UsageError) as exc:
            self.export_status.value = (f"<div role='alert' style='color:#a00000'>\u26a0 Could "
                                        f"not save: {html.escape(str(exc))}</div>")
            return
        items = "".join(f"<li>Saved <code>{html.escape(str(p))}</code> "
                        f"({_download_link(p, _MIME[p.suffix])})</li>" for p in paths)
        self.export_status.value = f"<div class='ionto-status'><ul>{items}</ul></div>"

    def load_patient(self, answers: Mapping[str, object], source: str | None = None) -> None:
        """Fill the form from answers (checked first); raises PatientDataError if unusable.
        A new patient: the patient reference is cleared and the date set to today."""
        self.rs.validate(answers, source)
        self.overrides.clear()
        self.patient_ref.value = ""
        self.assessed_on.value = date.today()
        self.form.load(answers)

    def resume(self, saved: SavedRecord, source: str | None = None) -> str:
        """Load a saved decision record back into the form (answers, patient reference, date,
        clinician and the overrides still relevant) and replay it with today's rules; returns
        what the replay says. Raises PatientDataError or InputFileError, changing nothing."""
        self.rs.validate(saved.answers, source)
        assessed = saved.context.get("Assessed", "")
        try:
            day = date.fromisoformat(assessed) if assessed else date.today()
        except ValueError:
            raise InputFileError(source or "record", f"the date assessed {quote(assessed)} is "
                                 "not a date (YYYY-MM-DD)") from None
        self.overrides.clear()
        self.patient_ref.value = saved.context.get("Patient reference", "")
        self.clinician.value = saved.context.get("Clinician", self.clinician.value)
        self.assessed_on.value = day
        self.form.load(saved.answers)
        kept = {f.rule.id for f in self.assessment.findings
                if f.rule.severity is not Severity.ABSOLUTE and f.status is Truth.TRUE}
        self.overrides = {o.rule: o for o in saved.overrides if o.rule in kept}
        self.update()
        _agree, message = compare_record(saved.record, self.assessment, self.rs)
        return message

    def _uploaded(self, change: Mapping[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = str(item["name"])[:120]
        self.upload.value = ()  # the same file can be chosen again
        try:
            content = item["content"]
            if len(content) > MAX_FILE_BYTES:
                raise InputFileError(name, f"the file is {len(content):,} bytes: at most "
                                     f"{MAX_FILE_BYTES:,}")
            try:
                text = bytes(content).decode("utf-8")
            except UnicodeDecodeError:
                raise InputFileError(name, "the file is not UTF-8 text") from None
            data = read_answers_text(text, name)
            if is_record(data):
                message = self.resume(read_record(data, name), name)
                self._loaded(f"Resumed the decision record {name}. {message}",
                             agree="disagree" not in message)
            else:
                self.load_patient(data, name)
                self._loaded(f"Loaded {name}: a new patient (type the patient reference).")
        except PatientDataError as exc:
            problems = "".join(f"<li><b>{html.escape(p.fact)}</b>: {html.escape(p.message)}"
                               "</li>" for p in exc.problems)
            self._load_failed(name, f"<ul>{problems}</ul>")
        except InputFileError as exc:
            self._load_failed(name, html.escape(exc.message))

    def _loaded(self, text: str, agree: bool = True) -> None:
        colour = "#1e6b34" if agree else "#8a4b00"
        self.load_status.value = (f"<div role='status' style='border-left:6px solid {colour};"
                                  f"padding:4px 8px'>{html.escape(text)}</div>")

    def _load_failed(self, name: str, detail: str) -> None:
        """A failed load changes nothing, and says so where it cannot be missed."""
        ref = self.context().get("Patient reference")
        still = (f"the form still shows the previous patient ({html.escape(ref)})" if ref
                 else "the form still shows the previous answers")
        self.load_status.value = (
            "<div role='alert' class='ionto-load-failed' style='border:2px solid #a00000;"
            "background:#fdecea;color:#5a0000;padding:6px 10px;border-radius:4px'>"
            f"<b>\u26a0 Load failed: {html.escape(name)} was not loaded</b>; {still}, "
            f"unchanged.{detail}</div>")

    def _ask_reset(self, show: bool) -> None:
        self.reset_confirm.layout.display = "flex" if show else "none"

    def reset(self) -> None:
        """Clear every answer and override (the Reset button asks first)."""
        self._ask_reset(False)
        self.patient_ref.value = ""
        self.overrides.clear()
        self.load_status.value = ""
        self.export_status.value = ""
        self.form.reset()


def clinician_app(rs: RuleSet | None = None) -> ClinicianApp:
    """The clinician app over the packaged rules (displayable in a notebook)."""
    return ClinicianApp(rs)
