"""The clinician app and dose calculator driven from Python: set values, read the widgets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ionto_cds import load_ruleset
from ionto_cds.analysis.record import OverrideError, replay
from ionto_cds.errors import UsageError
from ionto_cds.language.model import FactType
from ionto_cds.widgets import ClinicianApp, DoseCalculator

ROOT = Path(__file__).resolve().parents[2]
PALMAR = yaml.safe_load((ROOT / "examples" / "palmar-adult.yaml").read_text())


@pytest.fixture(scope="module")
def rs() -> Any:
    return load_ruleset()


@pytest.fixture
def app(rs: Any) -> ClinicianApp:
    return ClinicianApp(rs)


def fill(app: ClinicianApp, answers: dict[str, Any]) -> None:
    for name, value in answers.items():
        app.form.set_answer(name, value)


def test_form_has_one_field_per_fact_with_its_css_hook(app: ClinicianApp, rs: Any) -> None:
    assert set(app.form.fields) == {f.name for f in rs.catalog.asked}  # derived: not asked
    for fact in rs.catalog.asked:
        field = app.form.fields[fact.name]
        assert f"ionto-fact-{fact.name}" in field.root._dom_classes
        if fact.type is FactType.BOOL:
            assert [o[1] for o in field.input.options] == ["Yes", "No", "Unknown"]
            assert field.input.kind == "choice" and field.input.value == "unknown"
        assert field.input.label == fact.label  # the question names its control
    assert "ionto-decision" in app.results.banner._dom_classes


def test_empty_form_needs_information_and_lists_questions(app: ClinicianApp) -> None:
    assert "Needs information" in app.results.banner.value
    buttons = app.results.questions.children[1].children
    assert any("ionto-question-indication" in b._dom_classes for b in buttons)


def test_typical_palmar_patient_gets_tap_water_plan(app: ClinicianApp) -> None:
    fill(app, PALMAR)
    assert "Eligible" in app.results.banner.value
    assert "Not eligible" not in app.results.banner.value
    assert "Tap-water iontophoresis, palms and soles" in app.results.plan.value
    assert "10 mA" in app.results.plan.value and "20 min" in app.results.plan.value


def test_warning_sign_refers_with_its_own_banner_and_no_plan(app: ClinicianApp,
                                                             rs: Any) -> None:
    app.load_patient(PALMAR)
    app.form.set_answer("hyperhidrosis_warning_signs", ["night_sweats"])
    banner = app.results.banner.value
    assert "Refer" in banner and "Eligible" not in banner and "#1f3f7a" in banner
    referral = next(p for p in rs.protocols if p.id == "secondary-hyperhidrosis-referral")
    assert f"<h3>Refer: {referral.title}</h3>" in app.results.plan.value
    assert "mA" not in app.results.plan.value  # no plan numbers


def test_pacemaker_yes_is_not_eligible(app: ClinicianApp) -> None:
    app.load_patient(PALMAR)
    app.form.set_answer("pacemaker", True)
    assert "Not eligible" in app.results.banner.value
    assert app.results.plan.value == ""
    assert "cannot be overridden" in json.dumps(
        [c.children[1].value for c in app.results.findings.children[1:2]])


def test_bad_quantity_shows_message_beside_field(app: ClinicianApp) -> None:
    app.form.set_answer("weight", "abc kg")
    error = app.form.fields["weight"].input.error
    assert "expected a mass (kg), got 'abc kg'" in error
    assert "Could not read" in app.results.notes.value
    app.form.set_answer("weight", "150 lb")
    assert app.form.fields["weight"].input.error == ""
    assert app.results.notes.value == ""


def test_male_patient_hides_pregnancy(app: ClinicianApp) -> None:
    app.form.set_answer("sex", "male")
    assert app.form.fields["pregnant"].root.layout.display == "none"
    app.form.set_answer("sex", "female")
    assert app.form.fields["pregnant"].root.layout.display is None


def test_drug_allergies_distinguish_unknown_from_none(app: ClinicianApp) -> None:
    field = app.form.fields["drug_allergies"]
    assert "drug_allergies" not in app.form.answers()
    field.input.value = "none"
    assert app.form.answers()["drug_allergies"] == frozenset()
    field.input.value = "some"  # "Yes, tick:" with nothing ticked cannot be read yet
    assert "drug_allergies" not in app.form.answers()
    assert "tick at least one" in field.input.error
    field.input.picked = ["lidocaine"]
    assert app.form.answers()["drug_allergies"] == frozenset({"lidocaine"})
    assert field.input.error == ""


def test_override_of_relative_finding_is_recorded(app: ClinicianApp, tmp_path: Path) -> None:
    app.load_patient({**PALMAR, "fixed_dental_braces": True})
    assert "Eligible with precautions" in app.results.banner.value
    card = next(c for c in app.results.findings.children
                if "ionto-finding-fixed-dental-braces" in getattr(c, "_dom_classes", ()))
    control = card.children[-1]
    reason, comment, button = control.children[0].children
    button.click()
    assert "coded reason" in control.children[1].value
    reason.value = "risk_mitigated"
    comment.value = "Braces covered with wax"
    button.click()
    assert "fixed-dental-braces" in app.overrides
    record = json.loads(app.export_record(tmp_path).read_text())
    assert record["overrides"][0]["rule"] == "fixed-dental-braces"
    assert record["overrides"][0]["reason"] == "risk_mitigated"
    assert record["decision"] == "eligible_with_precautions"
    assert "supports, and does not replace, clinical judgement" in record["notice"]


def test_absolute_finding_cannot_be_overridden(app: ClinicianApp) -> None:
    app.load_patient({**PALMAR, "pacemaker": True})
    with pytest.raises(OverrideError, match="cannot be overridden"):
        app.acknowledge("pacemaker", "risk_mitigated", "no")


def test_export_plan_and_record_replay(app: ClinicianApp, tmp_path: Path) -> None:
    app.load_patient(PALMAR)
    pdf, page, md = app.export_plan(tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "Tap-water iontophoresis" in md.read_text()
    assert page.read_text().startswith("<!DOCTYPE html>")
    path = app.export_record(tmp_path)
    record = json.loads(path.read_text())
    for key in ("answers", "decision", "reasons", "plan", "overrides", "ruleset",
                "ionto_cds_version", "created_utc", "notice"):
        assert key in record
    ok, message = replay(path)
    assert ok, message
    assert "agree" in message
    record["decision"] = "not_eligible"
    path.write_text(json.dumps(record))
    ok, message = replay(path)
    assert not ok and "decision was not_eligible, now eligible" in message


def test_export_button_writes_files_and_links(app: ClinicianApp, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONTO_CDS_EXPORT_DIR", str(tmp_path))
    app.load_patient(PALMAR)
    app.export_dir.value = "clinic-a"
    app.plan_button.click()
    assert "download MD" in app.export_status.value
    assert len(list((tmp_path / "clinic-a").glob("*.md"))) == 1


@pytest.mark.parametrize("entry", ["../elsewhere", "/tmp", "a/../../x", "bad\x00name", "x\ny"])
def test_save_to_stays_inside_the_servers_export_folder(app: ClinicianApp, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        entry: str) -> None:
    root = tmp_path / "exports"
    monkeypatch.setenv("IONTO_CDS_EXPORT_DIR", str(root))
    app.load_patient(PALMAR)
    app.export_dir.value = entry
    app.plan_button.click()
    app.record_button.click()
    assert "Could not save" in app.export_status.value
    assert not list(tmp_path.rglob("*.md")) and not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(("content", "said"), [
    (b"x" * 2_000_001, "bytes: at most 2,000,000"),
    (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     b"g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n", "expands aliases without end"),
])
def test_hostile_uploads_are_refused_quickly_and_keep_the_patient(app: ClinicianApp,
                                                                  content: bytes,
                                                                  said: str) -> None:
    import time

    app.load_patient(PALMAR)
    start = time.perf_counter()
    app.upload.value = ({"name": "p.yaml", "content": memoryview(content), "size": len(content),
                         "type": "", "last_modified": datetime.now(UTC)},)
    assert time.perf_counter() - start < 5
    assert said in app.load_status.value and "was not loaded" in app.load_status.value


def test_reset_asks_first_and_cancel_keeps_everything(app: ClinicianApp) -> None:
    app.load_patient(PALMAR)
    app.patient_ref.value = "A-12"
    app.reset_button.click()
    assert app.reset_confirm.layout.display == "flex"
    assert app.form.answers()["site"] == "palms"  # nothing cleared yet
    cancel = next(b for b in app.reset_confirm.children if "ionto-reset-cancel" in b._dom_classes)
    cancel.click()
    assert app.reset_confirm.layout.display == "none"
    assert app.form.answers()["site"] == "palms" and app.patient_ref.value == "A-12"
    app.reset_button.click()
    confirm = next(b for b in app.reset_confirm.children
                   if "ionto-reset-confirm" in b._dom_classes)
    confirm.click()
    assert app.form.answers() == {} and app.patient_ref.value == ""
    assert app.reset_confirm.layout.display == "none"


def test_exports_carry_the_patient_reference_date_and_clinician(
        app: ClinicianApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONTO_CDS_EXPORT_DIR", str(tmp_path))
    app.load_patient(PALMAR)
    app.patient_ref.value = "A-12/\x07x"
    app.clinician.value = "Physio J. Doe"
    pdf, page, md = app.export_plan()
    assert md.name.startswith("iontophoresis-plan-A-12x-") and md.suffix == ".md"
    assert pdf.stem == md.stem == page.stem
    day = app.assessed_on.value.isoformat()
    assert (f"**Patient reference:** A-12/x · **Assessed:** {day} · **Clinician:** "
            "Physio J. Doe") in md.read_text(encoding="utf-8")
    assert "A-12/x" in page.read_text(encoding="utf-8")
    record = json.loads(app.export_record().read_text(encoding="utf-8"))
    assert record["context"] == {"Patient reference": "A-12/x", "Assessed": day,
                                 "Clinician": "Physio J. Doe"}


def test_reset_clears_answers(app: ClinicianApp) -> None:
    app.load_patient(PALMAR)
    app.reset()
    assert app.form.answers() == {}
    assert "Needs information" in app.results.banner.value


def test_upload_bad_file_shows_problems(app: ClinicianApp) -> None:
    content = b"pacemakr: true\n"
    app.upload.value = ({"name": "p.yaml", "content": memoryview(content), "size": 15,
                         "type": "", "last_modified": datetime.now(UTC)},)
    assert "did you mean" in app.load_status.value


def test_dose_calculator_live_limits(rs: Any) -> None:
    calc = DoseCalculator(rs)
    # Tap water by default: the electrode (tray) area is not known, so the current density
    # cannot be checked and the calculator says so rather than "within every limit".
    assert "Not confirmed" in calc.result.value and "not checked" in calc.result.value
    calc.area.value = "300 cm2"
    assert "Within every limit" in calc.result.value
    calc.area.value = ""
    calc.current.value = "30 mA"
    assert "Outside the limits" in calc.result.value
    calc.current.value = "abc mA"
    assert "expected a current (mA), got &#x27;abc mA&#x27;" in calc.message.value
    calc.drug.value = "glycopyrronium"
    calc.current.value = "10 mA"
    calc.mode.value = "dose"
    calc.amount.value = "120 mA*min"
    assert "12 min" in calc.result.value
    calc.area.value = "5 cm^2"
    assert "current density" in calc.result.value.lower()
    assert "EXCEEDED" in calc.result.value


def test_result_panel_reuses_widgets_between_changes(app: ClinicianApp) -> None:
    """Back-to-back changes were slow because every change rebuilt every finding card."""
    def cards() -> dict[str, Any]:
        return {c._dom_classes[-1]: c for c in app.results.findings.children
                if "ionto-card" in c._dom_classes}

    before = cards()
    buttons = dict(zip([b.description for b in app.results.questions.children[1].children],
                       app.results.questions.children[1].children, strict=True))
    app.form.set_answer("pacemaker", True)
    assert "Not eligible" in app.results.banner.value
    after = cards()
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)
    assert "answer <b>True</b>" in after["ionto-finding-pacemaker"].children[0].value
    app.form.set_answer("pacemaker", None)
    assert "Needs information" in app.results.banner.value
    for button in app.results.questions.children[1].children:
        assert buttons[button.description] is button
    assert "answer <b>unanswered</b>" in cards()["ionto-finding-pacemaker"].children[0].value


def test_result_panel_sends_nothing_when_assessment_is_unchanged(app: ClinicianApp) -> None:
    app.load_patient(PALMAR)
    sent: list[str] = []
    for widget in (app.results.banner, app.results.plan, app.results.findings,
                   app.results.questions):
        widget.observe(lambda change: sent.append(change["name"]), names=["value", "children"])
    app.update()
    assert sent == []


def test_contradictory_answers_then_fix_restores_banner(app: ClinicianApp) -> None:
    app.load_patient(PALMAR)
    app.results.show_problem("age: contradicts")
    assert "contradicts" in app.results.banner.value
    app.update()
    assert "contradicts" not in app.results.banner.value
    assert "Eligible" in app.results.banner.value


def test_half_filled_override_is_cleared_when_its_finding_returns(app: ClinicianApp) -> None:
    app.load_patient({**PALMAR, "fixed_dental_braces": True})
    card = next(c for c in app.results.findings.children
                if "ionto-finding-fixed-dental-braces" in c._dom_classes)
    reason, comment, _button = card.children[-1].children[0].children
    comment.value = "half typed"
    app.form.set_answer("pacemaker", True)  # an unrelated change keeps what was typed
    assert comment.value == "half typed"
    app.form.set_answer("fixed_dental_braces", False)
    app.form.set_answer("fixed_dental_braces", True)
    assert comment.value == "" and reason.value == ""


def test_question_focus_is_a_request_the_browser_acts_on(app: ClinicianApp) -> None:
    """A question button asks the field's front end to take the focus (browser-tested)."""
    field = app.form.fields["pacemaker"].input
    before = field.focus_request
    app.form.focus("pacemaker")
    assert field.focus_request == before + 1


def test_plan_card_lists_side_effects_by_vocabulary_label(rs: Any) -> None:
    from helpers import patient

    from ionto_cds import assess
    from ionto_cds.widgets.results import plan_html

    html = plan_html(assess(patient(), rs))
    assert ("<b>On side effects</b><ul><li>Tingling or prickling: Expected; set the current to "
            "tingling, not pain.</li>") in html


def test_sections_that_cannot_apply_are_hidden_unless_answered(app: ClinicianApp) -> None:
    app.reset()
    section = app.form.sections["anticholinergic"]
    assert section.layout.display is None  # nothing known yet: everything may matter
    app.form.set_answer("indication", "tendinopathy")
    app.form.set_answer("site", "elbow")
    assert section.layout.display == "none"  # no glycopyrronium plan for an elbow
    assert app.form.fields["narrow_angle_glaucoma"].root.layout.display == "none"
    assert app.form.fields["pacemaker"].root.layout.display is None  # general: always asked
    assert app.form.fields["electrode_area"].root.layout.display is None  # the plan needs it
    app.form.set_answer("indication", "hyperhidrosis")
    app.form.set_answer("site", "palms")
    assert section.layout.display is None
    app.form.set_answer("narrow_angle_glaucoma", True)
    app.form.set_answer("indication", "tendinopathy")
    app.form.set_answer("site", "elbow")
    assert app.form.fields["narrow_angle_glaucoma"].root.layout.display is None  # answered


def _upload(app: ClinicianApp, name: str, content: bytes) -> None:
    """What the browser's file chooser sends."""
    app._uploaded({"new": ({"name": name, "content": memoryview(content)},)})


def test_saved_decision_record_loads_back_into_the_form_and_replays(
        rs: Any, tmp_path: Path) -> None:
    first = ClinicianApp(rs)
    first.load_patient({**PALMAR, "fixed_dental_braces": True})
    first.patient_ref.value = "A-12"
    first.clinician.value = "Physio B"
    first.assessed_on.value = datetime(2026, 11, 3).date()
    first.acknowledge("fixed-dental-braces", "risk_mitigated", "Braces covered with wax")
    saved = first.export_record(tmp_path)

    second = ClinicianApp(rs)
    _upload(second, saved.name, saved.read_bytes())
    assert second.form.raw_answers() == first.form.raw_answers()
    assert second.context() == {"Patient reference": "A-12", "Assessed": "2026-11-03",
                                "Clinician": "Physio B"}
    assert set(second.overrides) == {"fixed-dental-braces"}
    assert second.overrides["fixed-dental-braces"].comment == "Braces covered with wax"
    assert second.assessment.decision is first.assessment.decision
    status = second.load_status.value
    assert "Resumed the decision record" in status and "agree with the record" in status
    assert second.record()["overrides"] == first.record()["overrides"]


def test_record_whose_decision_today_differs_says_so(rs: Any, tmp_path: Path) -> None:
    app = ClinicianApp(rs)
    app.load_patient(PALMAR)
    record = app.record() | {"decision": "not_eligible"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(record))
    _upload(app, path.name, path.read_bytes())
    assert "disagree with the record" in app.load_status.value
    assert "decision was not_eligible" in app.load_status.value


@pytest.mark.parametrize("content, says", [
    (b"pacemaker: perhaps\n", "pacemaker"),
    (b"{not yaml", "was not loaded"),
    (b'{"kind": "ionto-cds decision record", "record_version": 9, "answers": {}}',
     "version 9"),
    (b'{"kind": "ionto-cds decision record", "record_version": 1, "answers": {}, '
     b'"overrides": [{"rule": "x"}]}', "override 1 of the record is incomplete"),
    (b'{"kind": "ionto-cds decision record", "record_version": 1, "answers": {}, '
     b'"context": {"Assessed": "last Tuesday"}}', "not a date"),
])
def test_a_failed_load_changes_nothing_and_says_so(app: ClinicianApp, content: bytes,
                                                   says: str) -> None:
    app.load_patient(PALMAR)
    app.patient_ref.value = "A-12"
    before = (app.form.raw_answers(), app.context(), app.assessment.decision)
    _upload(app, "next.json" if content.startswith(b"{\"") else "next.yaml", content)
    assert (app.form.raw_answers(), app.context(), app.assessment.decision) == before
    status = app.load_status.value
    assert "role='alert'" in status and "Load failed" in status
    assert "previous patient (A-12)" in status and says in status


def test_a_new_patient_file_clears_the_previous_patient_reference(app: ClinicianApp) -> None:
    app.patient_ref.value = "A-12"
    _upload(app, "palmar.yaml", yaml.safe_dump(PALMAR).encode())
    assert app.patient_ref.value == "" and "a new patient" in app.load_status.value


def test_an_unanswered_relative_finding_gets_no_override_control(app: ClinicianApp) -> None:
    unanswered = [f for f in app.assessment.findings
                  if f.rule.severity.value != "absolute" and f.status.name == "UNKNOWN"]
    assert unanswered, "the empty form shows findings that may apply"
    finding = unanswered[0]
    with pytest.raises(OverrideError, match="unanswered"):
        app.acknowledge(finding.rule.id, "risk_mitigated", "not yet asked")
    card = next(c for c in app.results.findings.children
                if f"ionto-finding-{finding.rule.id}" in getattr(c, "_dom_classes", ()))
    assert "only a finding that applies can be acknowledged" in card.children[-1].value


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_print_ready_plan_pdf_holds_patient_decision_plan_limits_and_ruleset(
        app: ClinicianApp, rs: Any, tmp_path: Path) -> None:
    app.load_patient({**PALMAR, "fixed_dental_braces": True})
    app.patient_ref.value = "A-12"
    app.acknowledge("fixed-dental-braces", "risk_mitigated", "Braces covered with wax")
    pdf, page, _md = app.export_plan(tmp_path)
    text = _flat(_pdf_text(pdf))
    for said in ("Patient reference: A-12", f"Assessed: {app.assessed_on.value.isoformat()}",
                 "ELIGIBLE WITH PRECAUTIONS", rs.by_id["fixed-dental-braces"].title,
                 "Starting current 10 mA", "Maximum current 20 mA", "Maximum dose 600 mA·min",
                 "Overrides recorded", "Braces covered with wax",
                 f"Ruleset {rs.version} (sha256 {rs.sha256}"):
        assert said in text, said
    assert "@page{size:A4" in page.read_text(encoding="utf-8")  # the page prints on A4


def test_patient_leaflet_follows_the_plan_in_plain_words(app: ClinicianApp, rs: Any,
                                                         tmp_path: Path) -> None:
    app.load_patient(PALMAR)
    app.patient_ref.value = "A-12"
    pdf, page = app.export_leaflet(tmp_path)
    text = _flat(_pdf_text(pdf))
    protocol = next(p for p in rs.protocols if p.id == "tap-water-palmoplantar")
    schedule = protocol.schedule
    assert schedule is not None
    for said in ("Your iontophoresis treatment", "Patient reference: A-12", protocol.title,
                 f"{schedule.sessions_per_week} sessions a week", "tingling",
                 "What you may notice", "Tell us about these", "Looking after your skin",
                 "emollient", "Sources", f"ruleset {rs.version}"):
        assert said in text, said
    for effect in ("Burn at an electrode", "Small blisters"):  # what to report, by the protocol
        assert effect in text
    assert "mA" not in page.read_text(encoding="utf-8").split("<h2>Sources")[0].split(
        "Your treatment")[1].split("During")[0], "no dosing numbers for patients"


def test_no_leaflet_without_a_plan(app: ClinicianApp, tmp_path: Path) -> None:
    app.load_patient({**PALMAR, "pacemaker": True})
    with pytest.raises(UsageError, match="no treatment plan"):
        app.export_leaflet(tmp_path)
    app._export("leaflet")
    assert "role='alert'" in app.export_status.value and not list(tmp_path.iterdir())


def test_an_unreadable_answer_turns_the_banner_and_holds_the_plan(
        app: ClinicianApp, tmp_path: Path) -> None:
    app.load_patient(PALMAR)
    assert "Eligible" in app.results.banner.value and app.results.plan.value
    app.form.set_answer("electrode_area", "30 cm2 x")
    banner = app.results.banner.value
    assert "Needs information" in banner and "Eligible" not in banner
    assert f"Could not read: {app.rs.catalog['electrode_area'].label}." in banner
    assert app.results.plan.value == ""
    with pytest.raises(UsageError, match="could not be read"):
        app.export_plan(tmp_path)
    with pytest.raises(UsageError, match="could not be read"):
        app.export_record(tmp_path)
    assert not list(tmp_path.iterdir())
    app.form.set_answer("electrode_area", "30 cm²")
    assert "Eligible" in app.results.banner.value and app.results.plan.value


def test_an_unreadable_answer_does_not_hide_an_absolute_contraindication(
        app: ClinicianApp) -> None:
    app.load_patient({**PALMAR, "pacemaker": True})
    app.form.set_answer("weight", "abc kg")
    assert "Not eligible" in app.results.banner.value


def test_exports_default_to_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from ionto_cds.widgets.clinician import default_export_dir

    monkeypatch.delenv("IONTO_CDS_EXPORT_DIR", raising=False)
    assert default_export_dir() == platformdirs.user_data_path("ionto-cds") / "exports"


FIRST = ("indication", "site", "hyperhidrosis_warning_signs", "hdss", "tap_water_sessions",
         "age", "sex")


def test_a_simple_palmar_case_is_decided_in_a_dozen_actions(app: ClinicianApp) -> None:
    """Seven answers and four 'None of these' clicks (25 answers one by one): the sections
    come in the order that decides (what is treated first), each checklist in one click."""
    order = [s for s in app.form.sections]
    assert order[:2] == ["treatment", "hyperhidrosis"]
    for name in FIRST:
        app.form.set_answer(name, PALMAR[name])
    answered = [n for group in ("patient", "devices", "history", "skin")
                for n in app.form.none_of_these(group)]
    assert app.assessment.decision.value == "eligible"
    assert app.assessment.protocol is not None
    assert len(FIRST) + 4 <= 11 < len(FIRST) + len(answered)
    for name in answered:  # each shows the No it was given
        assert app.form.fields[name].raw() in (False, [])


def test_none_of_these_leaves_answers_and_moot_follow_ups_alone(app: ClinicianApp) -> None:
    for name in FIRST:
        app.form.set_answer(name, PALMAR[name])
    app.form.set_answer("skin_condition_at_site", True)
    answered = app.form.none_of_these("skin")
    assert "skin_condition_at_site" not in answered
    assert app.form.fields["skin_condition_at_site"].raw() is True
    assert "broken_skin_at_site" in answered
    # "can the broken skin be shielded?" is moot once there is none: left unanswered, so a
    # later Yes to broken skin asks it afresh instead of finding a No nobody gave
    assert "broken_skin_can_be_shielded" not in answered
    app.form.set_answer("broken_skin_at_site", True)
    assert app.form.fields["broken_skin_can_be_shielded"].raw() is None
