"""Treatment-course log: schema refusals, units, limits, guidance, SQLite durability, notebook."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import executed_notebook, has_output, patient

from ionto_cds import RuleSet, assess
from ionto_cds.course.records import SessionRecord, session_frame
from ionto_cds.course.schema import session_schema
from ionto_cds.course.store import DB_ENV, CourseLog, default_db_path
from ionto_cds.course.validate import validate_session
from ionto_cds.errors import CourseLogError, RuleSetError, SessionDataError, UnknownCourseError
from ionto_cds.language.model import VARIANT_EFFECT
from ionto_cds.language.vocabulary import load_course_vocabulary
from ionto_cds.treatment.limits import limits_for
from ionto_cds.units import Quantity

ROOT = Path(__file__).resolve().parents[2]
TAP = "tap-water-palmoplantar"
GLYCO = "glycopyrronium-palmoplantar"
DEX = "dexamethasone-musculoskeletal"
BASE: dict[str, Any] = {
    "course_id": "c1", "date": "2025-03-03", "protocol": TAP, "site": "palms",
    "current": "15 mA", "duration": "20 min",
}


def edit(log: CourseLog, sql: str, args: tuple[object, ...] = ()) -> None:
    """Change stored rows behind the log's back, as another program could."""
    log.backend.write("", lambda tx: tx.run(sql, args))


def refusal(log: CourseLog, **changes: Any) -> str:
    with pytest.raises(SessionDataError) as info:
        log.log_session({**BASE, **changes})
    return str(info.value)


def day(n: int) -> str:
    return (dt.date(2025, 3, 3) + dt.timedelta(days=n)).isoformat()


# --- records, units, schema ------------------------------------------------------------------

def test_session_in_other_units_is_stored_in_mA_and_min(log: CourseLog) -> None:
    s = log.log_session({**BASE, "current": "0.02 A", "duration": "900 s"})
    assert s.session_id == 1
    assert f"{s.current:~}" == "20.0 mA" and f"{s.duration:~}" == "15.0 min"
    assert s.dose.to("mA*min").magnitude == pytest.approx(300)
    row = log.sessions("c1").iloc[0]
    assert row["current[mA]"] == pytest.approx(20) and row["duration[min]"] == pytest.approx(15)
    assert row["dose[mA*min]"] == pytest.approx(300)


def test_bare_numbers_are_in_the_fields_default_units(log: CourseLog) -> None:
    s = log.log_session({**BASE, "current": 12, "duration": 10.5})
    assert s.dose.to("mA*min").magnitude == pytest.approx(126)


def test_defaults_polarity_and_solution_from_the_protocol(log: CourseLog) -> None:
    s = log.log_session({**BASE, "protocol": GLYCO, "current": "8 mA", "duration": "12 min"})
    assert s.polarity == "anode"
    assert s.solution is not None and s.solution.startswith("Glycopyrronium bromide 0.05 %")


def test_sessions_frame_columns_and_cumulative_dose(log: CourseLog) -> None:
    for n, current in enumerate(["10 mA", "12 mA", "15 mA"]):
        log.log_session({**BASE, "date": day(2 * n), "current": current,
                         "adverse_effects": ["erythema"] if n else [], "hdss_after": 3 - n // 2})
    log.log_session({**BASE, "course_id": "other"})
    frame = log.sessions("c1")
    assert list(frame.columns) == [
        "session_id", "course_id", "patient_id", "date", "protocol", "site", "current[mA]",
        "duration[min]", "dose[mA*min]", "electrode_area[cm^2]", "polarity", "solution",
        "tolerance", "adverse_effects", "hdss_before", "hdss_after", "pain_after", "notes",
        "cumulative_dose[mA*min]", "ruleset_version", "logged_at", "session_uid"]
    assert frame["cumulative_dose[mA*min]"].tolist() == [200.0, 440.0, 740.0]
    assert frame["adverse_effects"].tolist() == [[], ["erythema"], ["erythema"]]
    assert frame["hdss_after"].tolist() == [3, 3, 2]
    assert str(frame["date"].dtype).startswith("datetime64")
    assert log.courses() == ["c1", "other"]
    assert f"{log.cumulative_dose('c1'):~}" == "740.0 mA * min"
    assert len(log.sessions()) == 4


def test_record_round_trips_through_the_log(log: CourseLog) -> None:
    logged = log.log_session({**BASE, "patient_id": "p7", "electrode_area": "120 cm^2",
                              "tolerance": "uncomfortable", "adverse_effects": "pain, erythema",
                              "hdss_before": 4, "hdss_after": 3, "pain_after": 2,
                              "notes": "soft water"})
    [back] = log.records("c1")
    assert back == logged
    assert back.adverse_effects == ("pain", "erythema")


def test_schema_validates_a_frame_of_sessions(rs: RuleSet) -> None:
    import pandera.pandas as pa

    vocab = load_course_vocabulary()
    frame = session_frame([validate_session(BASE, rs, vocab)])
    schema = session_schema(rs, vocab)
    assert len(schema.validate(frame)) == 1
    frame.loc[0, ["current[mA]", "dose[mA*min]"]] = [30.0, 600.0]
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(frame, lazy=True)
    assert set(info.value.failure_cases["check"]) == {"max_current"}
    assert len(session_schema(rs, vocab, limits=False).validate(frame)) == 1


# --- refusals, with exact messages -----------------------------------------------------------

def test_over_the_protocols_max_current_is_refused(log: CourseLog) -> None:
    assert refusal(log, current="25 mA") == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  current: 25 mA exceeds the maximum current 20 mA (Tap-water iontophoresis, palms "
        "and soles): "
        "the session is refused")
    assert log.sessions("c1").empty


def test_over_the_drugs_limits_names_each_limit(log: CourseLog) -> None:
    message = refusal(log, protocol=DEX, site="knee", current="5 mA", duration="20 min")
    assert message == (
        "the session for course 'c1' cannot be logged (2 problems):\n"
        "  current: 5 mA exceeds the maximum current 4 mA (Dexamethasone iontophoresis for tendinop"
        "athy, bursitis or plantar fasciitis): the session is refused\n"
        "  dose: 100 mA·min exceeds the maximum dose 80 mA·min (Dexamethasone iontophoresis fo"
        "r tendinopathy, bursitis or plantar fasciitis): the session is refused")


def test_over_the_max_dose_is_refused(log: CourseLog) -> None:
    assert refusal(log, protocol=GLYCO, current="20 mA", duration="13 min") == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  dose: 260 mA·min exceeds the maximum dose 240 mA·min (Glycopyrronium "
        "iontophoresis, palms and soles, after tap water has not been enough): the session "
        "is refused")


def test_over_the_current_density_limit_is_refused(log: CourseLog) -> None:
    assert refusal(log, electrode_area="20 cm^2") == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  electrode_area: 0.75 mA/cm² exceeds the maximum current density 0.5 mA/cm² "
        "(current-density limit, alternating polarity): the session is refused")


def test_a_childs_12_mA_session_is_refused_by_the_paediatric_cap(log: CourseLog,
                                                                 rs: RuleSet) -> None:
    child = assess(patient(age=9), rs)
    with pytest.raises(SessionDataError) as info:
        log.log_session({**BASE, "current": "12 mA"}, assessment=child)
    assert str(info.value) == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  current: 12 mA exceeds the maximum current 10 mA (rule paediatric-current-cap): "
        "the session is refused")
    assert log.courses() == []
    assert log.log_session({**BASE, "current": "10 mA"}, assessment=child).current == \
        Quantity(10, "mA")


def test_without_an_assessment_only_protocol_limits_apply(log: CourseLog, rs: RuleSet) -> None:
    assert log.log_session({**BASE, "current": "12 mA"}).current == Quantity(12, "mA")
    adult = assess(patient(), rs)
    assert log.log_session({**BASE, "current": "12 mA", "date": day(1)},
                           assessment=adult).session_id == 2


def test_assessment_caps_are_the_caps_the_plan_had(rs: RuleSet) -> None:
    child = assess(patient(age=9), rs)
    assert child.protocol is not None
    plan = child.protocol
    drug = rs.drugs.get(plan.protocol.drug) if plan.protocol.drug else None
    caps = child.rule_caps(plan.protocol.id)
    assert [(n, v.to("mA").magnitude, r) for n, v, r in caps if n != VARIANT_EFFECT] == [
        ("max_current", 10, "paediatric-current-cap")]
    assert (VARIANT_EFFECT, "children", "paediatric-current-cap") in caps
    assert limits_for(plan.protocol, drug, rs.limits, caps) == list(plan.limits)


def test_a_session_exactly_at_the_limit_is_logged(log: CourseLog) -> None:
    log.log_session({**BASE, "current": "20 mA", "duration": "30 min"})
    assert len(log.sessions("c1")) == 1


def test_dose_must_agree_with_current_times_duration(log: CourseLog) -> None:
    assert refusal(log, dose="250 mA*min") == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  dose: 250 mA·min does not match current x duration = 15 mA x 20 min = "
        "300 mA·min")
    s = log.log_session({**BASE, "dose": "0.3 A*min"})
    assert s.dose.to("mA*min").magnitude == pytest.approx(300)


def test_every_problem_is_reported_at_once(log: CourseLog) -> None:
    message = refusal(log, course_id="", current="5 min", dose="3", sitee="palms",
                      hdss_after="two")
    assert message == (
        "the session cannot be logged (5 problems):\n"
        "  sitee: unknown field (did you mean 'site'?)\n"
        "  course_id: required\n"
        "  current: expected a current (mA), got '5 min' (a time)\n"
        "  dose: expected a dose (charge) (mA·min), got '3' (a plain number: write its unit, "
        "e.g. '3 mA·min')\n"
        "  hdss_after: expected a whole number, got 'two'")


def test_missing_record_lists_every_required_field(log: CourseLog) -> None:
    with pytest.raises(SessionDataError) as info:
        log.log_session({})
    assert [p.field for p in info.value.problems] == [
        "course_id", "date", "protocol", "site", "current", "duration"]
    assert isinstance(info.value, ValueError)


def test_vocabulary_and_range_refusals(log: CourseLog) -> None:
    assert refusal(log, site="axilla", tolerance="meh", adverse_effects=["blisters", "burn"],
                   hdss_after=7, pain_after=-1, date="2999-01-01") == (
        "the session for course 'c1' cannot be logged (6 problems):\n"
        "  date: 2999-01-01 is in the future; log sessions that have taken place\n"
        "  site: 'axilla' is not a site (did you mean 'axillae'?); one of: palms, soles, "
        "axillae, face, neck, chest, back, shoulder, elbow, wrist_hand, hip, knee, ankle_foot\n"
        "  tolerance: 'meh' is not a tolerance; one of: well_tolerated, uncomfortable, "
        "not_tolerated\n"
        "  adverse_effects: 'blisters' is not an adverse effect in the vocabulary (known: "
        "tingling, erythema, pain, vesicles, burn, dryness_fissures, itching, bruising, "
        "swelling, shock, dry_mouth, anticholinergic, palpitations, urinary_retention, "
        "blurred_vision, eye_pain, heat_intolerance, headache_blood_pressure, "
        "numb_lips_dizziness, blue_lips_breathlessness)\n"
        "  hdss_after: must be a whole number from 1 to 4, got 7\n"
        "  pain_after: must be a whole number from 0 to 10, got -1")


def test_protocol_refusals(log: CourseLog) -> None:
    assert refusal(log, protocol="edema-referral").endswith(
        "  protocol: 'edema-referral' is a referral, not a treatment protocol")
    assert refusal(log, protocol="tap-water-palmoplanter").splitlines()[1].startswith(
        "  protocol: unknown protocol 'tap-water-palmoplanter' (did you mean "
        "'tap-water-palmoplantar'?); one of: glycopyrronium-palmoplantar, ")
    assert refusal(log, site="axillae").endswith(
        "  site: 'axillae' is not a site protocol tap-water-palmoplantar treats")


def test_a_drug_must_come_from_its_electrode(log: CourseLog) -> None:
    assert refusal(log, protocol=GLYCO, current="8 mA", duration="12 min",
                   polarity="cathode").endswith(
        "  polarity: 'cathode' does not match protocol glycopyrronium-palmoplantar: its drug is "
        "given from the anode")
    log.log_session({**BASE, "polarity": "anode"})  # tap water: either electrode may lead


# --- where the log lives, and bad files ------------------------------------------------------

def test_db_path_from_environment_then_user_data_dir(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.sqlite3"))
    assert default_db_path() == tmp_path / "env.sqlite3"
    CourseLog().log_session(BASE)
    assert (tmp_path / "env.sqlite3").is_file()
    monkeypatch.delenv(DB_ENV)
    import platformdirs
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / app))
    assert default_db_path() == tmp_path / "ionto-cds" / "course_log.sqlite3"


def test_the_log_uses_wal(tmp_path: Path) -> None:
    log = CourseLog(tmp_path / "log.sqlite3")
    assert log.path is not None
    with sqlite3.connect(log.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite3"
    bad.write_text("not a database at all, just some text " * 100)
    with pytest.raises(CourseLogError) as info:
        CourseLog(bad)
    assert str(info.value) == f"{bad}: not a usable course log: file is not a database"


@pytest.mark.parametrize("schema", [
    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)",
    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, user TEXT)",  # another app's 'sessions'
])
def test_another_applications_database_is_refused_and_left_alone(tmp_path: Path,
                                                                 schema: str) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as con:
        con.execute(schema)
    before = other.read_bytes()
    with pytest.raises(CourseLogError) as info:
        CourseLog(other)
    assert str(info.value) == (f"{other}: this database belongs to another application, not an "
                               "ionto-cds course log: nothing was written; choose another --db "
                               "file")
    assert other.read_bytes() == before


def test_a_stored_row_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    log = CourseLog(path)
    log.log_session(BASE)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE sessions SET adverse_effects = '{not json'")
    with pytest.raises(CourseLogError) as info:
        log.sessions()
    assert str(info.value) == (f"{path}: session 1: the stored adverse effects '{{not json' are "
                               "not a list: the log was edited outside ionto-cds; correct or "
                               "remove that row")


def test_a_course_log_is_marked_as_ours(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    CourseLog(path).log_session(BASE)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x494F4E54
        con.execute("PRAGMA application_id = 0")  # as a log written before the mark
    assert len(CourseLog(path).sessions()) == 1  # an unmarked ionto-cds log is still read


def test_sessions_that_no_longer_fit_the_rules_are_reported(log: CourseLog) -> None:
    log.log_session(BASE)
    edit(log, "UPDATE sessions SET protocol = 'renamed-protocol'")
    with pytest.raises(CourseLogError) as info:
        log.sessions("c1")
    assert str(info.value) == (f"{log.location}: logged sessions do not fit the current rules or "
                               "vocabulary: protocol: 'renamed-protocol'")


def test_unknown_course(log: CourseLog) -> None:
    with pytest.raises(UnknownCourseError) as info:
        log.guidance("nobody")
    assert str(info.value) == f"no sessions are logged for course 'nobody' in {log.location}"


# --- guidance --------------------------------------------------------------------------------

def sessions(log: CourseLog, count: int, every: int = 2, **changes: Any) -> None:
    for n in range(count):
        log.log_session({**BASE, "date": day(every * n), **changes})


def test_next_session_follows_sessions_per_week(log: CourseLog) -> None:
    sessions(log, 2)
    g = log.guidance("c1", today=dt.date(2025, 3, 5))
    assert g.sessions_done == 2 and g.induction_sessions == 12
    assert g.next_session == dt.date(2025, 3, 7) and g.earliest_next == dt.date(2025, 3, 6)
    assert g.next_session_note.startswith(
        "Next session 3 of 12: planned, 2025-03-07 (3 a week; not before 2025-03-06). Three "
        "sessions a week")
    assert not g.judge_due and g.response == "expected" and g.escalation is None
    assert ("judge", "Judge response after session 12 (2 done): " + g.judge_note) in g.items()
    assert f"{g.cumulative_dose:~}" == "600.0 mA * min"


def test_weekly_drug_course_and_minimum_interval(log: CourseLog) -> None:
    glyco = {"protocol": GLYCO, "current": "8 mA", "duration": "12 min"}
    log.log_session({**BASE, **glyco, "date": day(0)})
    assert refusal(log, **glyco, date=day(3)) == (
        "the session for course 'c1' cannot be logged (1 problem):\n"
        "  date: 2025-03-06 is 3 days after the session of 2025-03-03; protocol "
        "glycopyrronium-palmoplantar needs at least 7 days between sessions: the session is "
        "refused")
    assert "2025-03-01 is 2 days before the session of 2025-03-03" in refusal(
        log, **glyco, date=day(-2))
    assert len(log.sessions("c1")) == 1  # nothing stored
    log.log_session({**BASE, **glyco, "date": day(7)})
    g = log.guidance("c1", today=dt.date(2025, 3, 11))
    assert g.next_session == dt.date(2025, 3, 17) and g.warnings == ()


def test_sessions_closer_than_the_interval_in_an_old_log_are_warned(log: CourseLog) -> None:
    glyco = {"protocol": GLYCO, "current": "8 mA", "duration": "12 min"}
    log.log_session({**BASE, **glyco, "date": day(0)})
    log.log_session({**BASE, **glyco, "date": day(7)})
    # as a log written before the refusal would hold
    edit(log, "UPDATE sessions SET date = ? WHERE date = ?", (day(3), day(7)))
    g = log.guidance("c1", today=dt.date(2025, 3, 6))
    assert g.warnings == ("Sessions closer than the minimum interval of 7 day (protocol "
                          "glycopyrronium-palmoplantar): 2025-03-03 and 2025-03-06",)


def test_no_session_against_an_assessment_that_does_not_allow_treatment(
        log: CourseLog, rs: RuleSet) -> None:
    referred = assess(patient(hyperhidrosis_warning_signs=["night_sweats"]), rs)
    assert referred.decision.value == "refer" and referred.referral is not None
    with pytest.raises(SessionDataError) as info:
        log.log_session(BASE, assessment=referred)
    assert str(info.value).splitlines()[1] == (
        f"  assessment: the patient's assessment is 'Refer': {referred.referral.title}: no "
        "treatment session can be logged against it; settle the assessment first")
    pacemaker = assess(patient(pacemaker=True), rs)
    with pytest.raises(SessionDataError):
        log.log_session(BASE, assessment=pacemaker)
    assert len(log.sessions()) == 0


def test_judge_response_and_maintenance_after_induction(log: CourseLog) -> None:
    sessions(log, 12, hdss_before=3, hdss_after=2)
    g = log.guidance("c1", today=dt.date(2025, 4, 1))
    assert g.judge_due and g.next_session is None
    assert g.next_session_note == ("Induction complete (12 sessions): plan maintenance; not "
                                   "before 2025-03-26")
    assert g.maintenance_note.startswith("Start maintenance when the hands or feet")
    assert g.escalation is None and (g.hdss_baseline, g.hdss_latest) == (3, 2)


def test_escalation_after_an_adequate_failed_tap_water_trial(log: CourseLog) -> None:
    sessions(log, 11, hdss_before=3, hdss_after=3)
    assert log.guidance("c1").escalation is None  # not yet judge_response.after_sessions
    log.log_session({**BASE, "date": day(24), "hdss_after": 4})
    g = log.guidance("c1")
    assert g.escalation == (
        "Consider escalation after an adequate failed trial. This is an inference, not a "
        "guideline rule: after 12 sessions of tap-water-palmoplantar the HDSS went from 3 to 4, "
        "not better by at least 1 point. Per the protocol's note on judging response, check the "
        "points it lists before calling this a failure. If the trial was adequate, re-assess "
        "the patient with tap_water_sessions = 12 and tap_water_response = none so the rules "
        "can offer the next protocol.")


def test_no_escalation_without_hdss_but_a_warning(log: CourseLog) -> None:
    sessions(log, 12)
    g = log.guidance("c1")
    assert g.escalation is None
    assert g.warnings == ("Response cannot be judged after 12 sessions: no HDSS is recorded; "
                          "record it before the course and after sessions",)


def test_no_escalation_for_a_drug_course(log: CourseLog) -> None:
    sessions(log, 6, protocol=DEX, site="knee", current="4 mA", duration="10 min",
             hdss_before=3, hdss_after=3)
    assert log.guidance("c1").escalation is None


def test_blisters_on_tap_water_lower_the_current(log: CourseLog) -> None:
    sessions(log, 1, adverse_effects=["vesicles", "erythema"])
    g = log.guidance("c1")
    assert g.response == "lower_current"
    assert [(a.effect, a.response, a.actions, a.source) for a in g.adverse] == [
        ("vesicles", "lower_current",
         ("Check the skin and lower the current; stop if blistering recurs.",),
         "protocol tap-water-palmoplantar"),
        ("erythema", "expected", ("Expected when it fades within hours.",),
         "protocol tap-water-palmoplantar")]
    assert g.adverse[0].text() == (
        "Small blisters (vesicles): Check the skin and lower the current; stop if blistering "
        "recurs. (protocol tap-water-palmoplantar)")
    assert g.next_session_note.endswith(" Lower the current below 15 mA.")
    assert g.items()[0] == ("lower_current", "Lower the current at the next session.")


def test_a_burn_stops_the_course(log: CourseLog) -> None:
    sessions(log, 1, adverse_effects=["burn"])
    g = log.guidance("c1")
    assert g.response == "stop" and g.next_session is None
    assert g.next_session_note == (
        "No next session until the adverse effect is dealt with: Stop and reassess the skin, "
        "current density and patient before any further session.")


def test_the_protocol_side_effect_gives_response_and_action(log: CourseLog) -> None:
    # The vocabulary's default for vesicles is lower_current; the dexamethasone protocol says stop.
    sessions(log, 1, protocol=DEX, site="knee", current="4 mA", duration="10 min",
             adverse_effects=["vesicles"])
    [advice] = log.guidance("c1").adverse
    assert (advice.response, advice.source) == ("stop", f"protocol {DEX}")
    assert advice.actions == ("Stop; reassess current density and the skin before any further "
                              "session.",)


def test_effect_the_protocol_does_not_list_uses_the_general_default(log: CourseLog) -> None:
    sessions(log, 1, adverse_effects=["swelling"])
    [advice] = log.guidance("c1").adverse
    assert (advice.response, advice.source) == ("pause", "course vocabulary, general default")


def test_poor_tolerance_lowers_the_current(log: CourseLog) -> None:
    sessions(log, 1, tolerance="not_tolerated")
    assert log.guidance("c1").response == "lower_current"


def test_guidance_follows_the_latest_protocol(log: CourseLog) -> None:
    sessions(log, 3)
    log.log_session({**BASE, "date": day(20), "protocol": GLYCO, "current": "8 mA",
                     "duration": "12 min"})
    g = log.guidance("c1")
    assert (g.protocol_id, g.sessions_done, g.induction_sessions) == (GLYCO, 1, 4)
    assert g.to_dict()["cumulative_dose"] == "96 mA * min"


# --- the vocabulary file ---------------------------------------------------------------------

def test_protocol_side_effects_carry_the_vocabulary_label(rs: RuleSet) -> None:
    vocab = load_course_vocabulary()
    shown = [(p.id, s.effect, s.label) for p in rs.protocols for s in p.side_effects]
    assert shown and all(label == vocab.adverse_effects[key].label for _, key, label in shown)


def test_vocabulary_errors_carry_file_and_line(tmp_path: Path) -> None:
    text = (ROOT / "rules" / "course" / "course.yaml").read_text(encoding="utf-8")
    broken = text.replace("    response: stop\n    action: Stop; reassess current density",
                          "    response: halt\n    action: Stop; reassess current density", 1)
    broken = broken.replace("    min: 1\n", "    min: one\n", 1)
    path = tmp_path / "course.yaml"
    path.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("    response: halt") + 1
    min_line = broken.splitlines().index("    min: one") + 1
    with pytest.raises(RuleSetError) as info:
        load_course_vocabulary(path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}:{line}: adverse effect 'burn': 'response' must be one of stop, pause, "
        "lower_current, reduce_frequency, expected, got 'halt'",
        f"{path}:{min_line}: score 'hdss': 'min' must be a whole number"]


# --- durability: kill -9 and concurrent writers ----------------------------------------------

WRITER = r"""
import datetime, os, sys, time
from ionto_cds.course.store import CourseLog
path, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
log = CourseLog(path)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
i = 0
while count < 0 or i < count:
    date = (datetime.date(1990, 1, 1) + datetime.timedelta(days=i)).isoformat()
    s = log.log_session({"course_id": name, "date": date, "site": "palms",
                         "protocol": "tap-water-palmoplantar", "current": "15 mA",
                         "duration": "20 min", "notes": f"{name}-{i}"})
    print(s.session_id, flush=True)
    i += 1
"""


def writer(db: Path, name: str, count: int, go: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(DB_ENV, None)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), name, str(count), str(go)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as con:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])


def test_kill_9_during_writes_loses_no_committed_session(tmp_path: Path, rs: RuleSet) -> None:
    db, go = tmp_path / "log.sqlite3", tmp_path / "go"
    proc = writer(db, "killed", -1, go)
    go.touch()
    assert proc.stdout is not None
    reported = [int(proc.stdout.readline()) for _ in range(15)]
    os.kill(proc.pid, signal.SIGKILL)
    reported += [int(line) for line in proc.stdout.read().split()]  # printed before the kill
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert integrity(db) == "ok"
    log = CourseLog(db, ruleset=rs)
    stored = set(log.sessions("killed")["session_id"])
    assert set(reported) <= stored
    assert len(stored) - len(reported) <= 1  # at most the one committed as it was killed
    log.log_session({**BASE, "course_id": "killed"})  # the log is still usable


def test_two_concurrent_writers_both_land(tmp_path: Path, rs: RuleSet) -> None:
    db, go = tmp_path / "log.sqlite3", tmp_path / "go"
    procs = {name: writer(db, name, 25, go) for name in ("kernel-a", "kernel-b")}
    go.touch()
    reported = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        reported[name] = [int(v) for v in out.split()]
    assert integrity(db) == "ok"
    frame = CourseLog(db, ruleset=rs).sessions()
    for name, ids in reported.items():
        mine = frame[frame["course_id"] == name]
        assert sorted(mine["session_id"]) == sorted(ids) and len(ids) == 25
        assert sorted(mine["notes"]) == sorted(f"{name}-{i}" for i in range(25))
    # the two writers really overlapped in time
    a, b = (set(reported[n]) for n in procs)
    assert min(b) < max(a) and min(a) < max(b)


# --- the notebook ----------------------------------------------------------------------------

@pytest.mark.notebook
def test_course_notebook_plots_guides_and_leaves_the_user_data_dir_alone() -> None:
    outputs, home = executed_notebook("05_treatment_course.ipynb")
    assert not [o for o in outputs if o.output_type == "error"]
    assert has_output(outputs, "image/png"), "no plot"
    assert has_output(outputs, "application/vnd.jupyter.widget-view+json"), "no form"
    text = "".join(str(o.get("data", {}).get("text/markdown", "")) + str(o.get("text", ""))
                   for o in outputs)
    assert "Next session" in text
    assert not (home / "data" / "ionto-cds").exists()


def test_session_record_from_row_rejects_nothing_it_wrote() -> None:
    record = SessionRecord("c", dt.date(2025, 1, 1), TAP, "palms", Quantity(10, "mA"),
                           Quantity(20, "min"), Quantity(200, "mA*min"), "alternating")
    row = {**record.to_row(), "adverse_effects": []}
    assert SessionRecord.from_row(row) == record


# --- the form --------------------------------------------------------------------------------

def test_form_shows_each_problem_beside_its_field_and_logs_nothing(log: CourseLog) -> None:
    from ionto_cds.widgets.course_form import CourseTracker

    log.log_session(BASE)
    tracker = CourseTracker(log, "c1")
    form = tracker.form
    assert form.controls["protocol"].value == TAP and form.controls["current"].value == "15 mA"
    form.controls["date"].value = dt.date(2025, 3, 5)
    form.controls["current"].value = "25 mA"
    form.controls["duration"].value = "20 kg"
    assert form.submit() is None
    assert "25 mA exceeds the maximum current 20 mA" in form.messages["current"].value
    assert "expected a time (min), got '20 kg' (a mass)" in form.messages["duration"].value
    assert "Not logged: 2 problems" in form.status.value
    assert len(log.sessions("c1")) == 1


def test_form_logs_a_session_and_refreshes_guidance_and_plot(log: CourseLog) -> None:
    from ionto_cds.widgets.course_form import CourseTracker

    tracker = CourseTracker(log, "c2")
    assert "No session logged" in tracker.guidance.value
    form = tracker.form
    form.controls["protocol"].value = TAP
    form.controls["date"].value = dt.date(2025, 3, 5)
    form.controls["adverse_effects"].value = ("burn",)
    form.controls["hdss_after"].value = 3
    session = form.submit()
    assert session is not None and session.adverse_effects == ("burn",)
    assert session.current.to("mA").magnitude == pytest.approx(10)  # the protocol's plan current
    assert "Stop and reassess" in tracker.guidance.value
    assert tracker.plot.value[:4] == b"\x89PNG"


def test_form_with_the_patients_assessment_applies_the_paediatric_cap(log: CourseLog,
                                                                      rs: RuleSet) -> None:
    from ionto_cds.widgets.course_form import CourseTracker

    tracker = CourseTracker(log, "c3", assessment=assess(patient(age=9), rs))
    form = tracker.form
    form.controls["protocol"].value = TAP
    form.controls["date"].value = dt.date(2025, 3, 5)
    form.controls["current"].value = "12 mA"
    assert form.submit() is None
    assert ("12 mA exceeds the maximum current 10 mA (rule paediatric-current-cap)"
            in form.messages["current"].value)
    assert log.courses() == []
    form.controls["current"].value = "10 mA"
    assert form.submit() is not None
