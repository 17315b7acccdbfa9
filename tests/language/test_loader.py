"""Loading a rules folder: every mistake as `file:line: message`, with the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import RULES, copy_rules, line_of, replace_in

from ionto_cds import load_ruleset
from ionto_cds.errors import RuleError, RuleSetError
from ionto_cds.language.loader import read_rules
from ionto_cds.language.packaged import packaged_rules_dir

CI = "contraindications.yaml"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path)


def _errors(folder: Path) -> list[RuleError]:
    report = read_rules(folder)
    assert report.source is None, "the broken folder loaded"
    with pytest.raises(RuleSetError) as info:
        load_ruleset(folder)
    assert [str(e) for e in info.value.errors] == [str(e) for e in report.errors]
    return report.errors


def _only(folder: Path) -> RuleError:
    errors = _errors(folder)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_packaged_rules_load_cleanly():
    report = read_rules()
    assert report.errors == []
    source = report.source
    assert source is not None
    assert source.directory == packaged_rules_dir() == RULES
    assert source.version == "2026.1"
    assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0
    assert {"pacemaker", "glycopyrronium-allergy"} <= {r.id for r in source.rules}
    assert set(source.drugs) == {"glycopyrronium", "dexamethasone", "acetic_acid", "lidocaine"}


def test_malformed_yaml(rules):
    path = rules / CI
    broken = line_of(path, "when: {fact: pacemaker, is: true}")
    replace_in(path, "    when: {fact: pacemaker, is: true}",
               "    when: {fact: pacemaker, is: true")
    err = _only(rules)
    assert err.location.file == str(path)
    # The parser notices the unclosed brace at the next token, on the following line.
    assert err.location.line in (broken, broken + 1)
    assert err.message == "malformed YAML: expected ',' or '}', but got ':'"


def test_unknown_key_with_did_you_mean(rules):
    path = rules / CI
    replace_in(path, "    rationale: >-\n      The treatment current",
               "    rationle: >-\n      The treatment current")
    errors = _errors(rules)
    item = line_of(path, "- id: pacemaker")
    assert [str(e) for e in errors] == [
        f"{path}:{item}: a rule is missing the required key 'rationale'",
        f"{path}:{line_of(path, 'rationle:')}: unknown key 'rationle' in a rule (did you mean "
        "'rationale'?); allowed keys: id, title, severity, applies_to, when, rationale, action, "
        "references, effect, metadata, review",
    ]


def test_unknown_fact_with_did_you_mean(rules):
    path = rules / CI
    replace_in(path, "{fact: pacemaker, is: true}", "{fact: pacemakr, is: true}")
    assert str(_only(rules)) == (f"{path}:{line_of(path, 'pacemakr')}: rule 'pacemaker': when: "
                                 "unknown fact 'pacemakr' (did you mean 'pacemaker'?)")


def test_operator_that_does_not_fit_the_fact_type(rules):
    path = rules / CI
    replace_in(path, "{fact: pacemaker, is: true}", "{fact: pacemaker, lt: 3}")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'pacemaker, lt')}: rule 'pacemaker': when: operator 'lt' does "
        "not fit 'pacemaker' (a bool fact); use one of: is, known")


def test_unit_of_the_wrong_dimension(rules):
    path = rules / CI
    replace_in(path, "{fact: age, lt: 6 year}", "{fact: age, lt: 6 kg}")
    err = _only(rules)
    assert err.location == type(err.location)(str(path), line_of(path, "lt: 6 kg"))
    assert err.message.startswith("rule 'minimum-age': when: 'lt' on 'age': expected a time (")
    assert err.message.endswith("), got '6 kg' (a mass)")


def test_bare_number_for_a_quantity_asks_for_the_unit(rules):
    path = rules / CI
    replace_in(path, "{fact: age, lt: 6 year}", "{fact: age, lt: 6}")
    assert _only(rules).message == ("rule 'minimum-age': when: 'lt' on 'age': write the unit, "
                                    "e.g. '6 year'")


def test_unknown_enum_value(rules):
    path = rules / CI
    replace_in(path, "{fact: site, in: [back, shoulder]}", "{fact: site, in: [back, shouldr]}")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'shouldr')}: rule 'current-path-near-thorax': when: unknown "
        "value 'shouldr' for 'site' (did you mean 'shoulder'?); allowed: palms, soles, axillae, "
        "face, neck, chest, back, shoulder, elbow, wrist_hand, hip, knee, ankle_foot")


def test_unknown_reference_key(rules):
    path = rules / CI
    replace_in(path, "[doncaster-leaflet, bindner", "[doncaster-leaflt, bindner")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'doncaster-leaflt')}: rule 'fixed-dental-braces': unknown "
        "reference 'doncaster-leaflt' (did you mean 'doncaster-leaflet'?); add it to "
        "references.yaml")


def test_duplicate_rule_id(rules):
    path = rules / CI
    replace_in(path, "- id: thrombosis", "- id: epilepsy")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, '- id: epilepsy', 2)}: duplicate rule id 'epilepsy' (first at "
        f"{path}:{line_of(path, '- id: epilepsy')}): every rule needs its own id")


def test_duplicate_id_across_files(rules):
    drugs = rules / "drugs.yaml"
    replace_in(drugs, "- id: lidocaine-droxidopa", "- id: pacemaker")
    err = _only(rules)
    assert err.location.file == str(drugs)
    assert err.message.startswith("duplicate rule id 'pacemaker' (first at "
                                  f"{rules / CI}:{line_of(rules / CI, '- id: pacemaker')})")


def test_bad_severity(rules):
    path = rules / CI
    replace_in(path, "severity: relative", "severity: relativ")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'severity: relativ')}: rule 'body-worn-device-in-current-path': "
        "bad severity 'relativ' (did you mean 'relative'?); use one of: absolute, relative, "
        "precaution")


def test_yaml_tag_that_would_run_code(rules, tmp_path):
    path = rules / CI
    marker = tmp_path / "pwned"
    replace_in(path, "    when: {fact: pacemaker, is: true}",
               f'    when: !!python/object/apply:os.system ["touch {marker}"]')
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'os.system')}: YAML tag '!!python/object/apply:os.system' is "
        "not allowed: rules and answers are plain data; remove the tag")
    assert not marker.exists()


def test_protocol_with_a_current_in_minutes(rules):
    path = rules / "protocols.yaml"
    old = "      current: 10 mA\n      current_range: {min: 10 mA, max: 20 mA}\n      variants:\n"
    replace_in(path, old, old.replace("current: 10 mA", "current: 15 min"))
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'current: 15 min')}: protocol 'tap-water-palmoplantar': "
        "'current': expected a current (mA), got '15 min' (a time)")


def test_effect_with_the_wrong_unit(rules):
    path = rules / CI
    replace_in(path, "{set: {max_current: 10 mA}, parameters",
               "{set: {max_current: 10 min}, parameters")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'max_current: 10 min')}: rule 'paediatric-current-cap': effect "
        "'max_current': expected a current (mA), got '10 min' (a time)")


def test_drug_polarity_must_follow_its_ion(rules):
    path = rules / "drugs.yaml"
    replace_in(path, "    ion: cation\n    polarity: anode",
               "    ion: cation\n    polarity: cathode")
    errors = _errors(rules)
    assert str(errors[0]) == (
        f"{path}:{line_of(path, 'polarity: cathode')}: drug 'glycopyrronium': an cation is "
        "delivered from the anode (like charges repel), not 'cathode'")


NEW_VERSION = 'version: "2026.2"'


def test_versions_must_agree(rules):
    path = rules / CI
    replace_in(path, 'version: "2026.1"', 'version: "2026.2"')
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, NEW_VERSION)}: version '2026.2' differs from facts.yaml "
        "('2026.1'): every file of a ruleset carries the same version")


def test_missing_facts_file(rules):
    (rules / "facts.yaml").unlink()
    errors = _errors(rules)
    assert f"{rules / 'facts.yaml'}: missing file: every rules folder needs facts.yaml" in [
        str(e) for e in errors]


def test_no_such_folder(tmp_path):
    assert [str(e) for e in _errors(tmp_path / "nowhere")] == [
        f"{tmp_path / 'nowhere'}: no such rules folder"]


def test_all_mistakes_are_reported_at_once(rules):
    ci = rules / CI
    replace_in(ci, "{fact: pacemaker, is: true}", "{fact: pacemakr, is: true}")
    replace_in(ci, "{fact: age, lt: 6 year}", "{fact: age, lt: 6 kg}")
    replace_in(ci, "severity: relative", "severity: relativ")
    replace_in(ci, "[doncaster-leaflet, bindner", "[doncaster-leaflt, bindner")
    replace_in(rules / "protocols.yaml", "      current: 10 mA\n      current_range: {min: 10 "
               "mA, max: 20 mA}\n      variants:\n",
               "      current: 15 min\n      current_range: {min: 10 mA, max: 20 mA}\n      "
               "variants:\n")
    errors = _errors(rules)
    got = {(Path(e.location.file).name, e.location.line) for e in errors}
    assert got == {
        (CI, line_of(ci, "pacemakr")),
        (CI, line_of(ci, "lt: 6 kg")),
        (CI, line_of(ci, "severity: relativ")),
        (CI, line_of(ci, "doncaster-leaflt")),
        ("protocols.yaml", line_of(rules / "protocols.yaml", "current: 15 min")),
    }
    text = str(RuleSetError(errors))
    assert text.startswith("the rules have 5 errors:\n  ")


def test_sha256_tracks_content_not_comments(rules):
    before = read_rules(rules).source
    assert before is not None
    assert before.sha256 == read_rules(RULES).source.sha256
    path = rules / CI
    path.write_text("# an extra comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert read_rules(rules).source.sha256 == before.sha256
    replace_in(path, "Do not treat during pregnancy", "Never treat during pregnancy")
    assert read_rules(rules).source.sha256 != before.sha256


# --- protocol side effects name the course vocabulary ---------------------------------------

BURN = ('      - {effect: burn, response: stop, action: "Stop; reassess current density and the '
        'skin before any further session."}')


def test_side_effect_names_an_adverse_effect_of_the_course_vocabulary(rules):
    path = rules / "protocols.yaml"
    replace_in(path, BURN, BURN.replace("effect: burn,", "effect: burns,"))
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'effect: burns,')}: protocol 'tap-water-palmoplantar': side "
        "effect 'burns' is not an adverse effect of course/course.yaml (did you mean 'burn'?); "
        "name one of its adverse_effects keys, or add the effect there first")


def test_side_effect_response_is_a_response_class(rules):
    path = rules / "protocols.yaml"
    replace_in(path, BURN, BURN.replace("response: stop,", "response: stopp,"))
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'response: stopp,')}: protocol 'tap-water-palmoplantar': side "
        "effect 'burn': response 'stopp' is not a response class (did you mean 'stop'?); use one "
        "of stop, pause, lower_current, reduce_frequency, expected")


def test_side_effect_listed_twice(rules):
    path = rules / "protocols.yaml"
    replace_in(path, BURN, BURN + "\n" + BURN)
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'effect: burn,', 2)}: protocol 'tap-water-palmoplantar': side "
        "effect 'burn' is listed twice; give it one response and action")


def test_side_effect_as_free_text_is_refused(rules):
    path = rules / "protocols.yaml"
    replace_in(path, BURN, '      - {effect: "Burn at the electrode site", action: "Stop."}')
    messages = [str(e) for e in _errors(rules)]
    line = line_of(path, "Burn at the electrode site")
    assert f"{path}:{line}: protocol 'tap-water-palmoplantar': side effect 'Burn at the " \
           "electrode site' is not an adverse effect of course/course.yaml; name one of its " \
           "adverse_effects keys, or add the effect there first" in messages
    assert any(m.startswith(f"{path}:{line}:") and "response" in m for m in messages)


def test_the_rules_folder_course_vocabulary_is_checked_too(rules):
    (rules / "course").mkdir()
    path = rules / "course" / "course.yaml"
    text = (RULES / "course" / "course.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("  burn:\n", "  burns:\n", 1), encoding="utf-8")
    proto = rules / "protocols.yaml"
    errors = [str(e) for e in _errors(rules)]
    assert errors == [
        f"{proto}:{line_of(proto, 'effect: burn,', n)}: protocol '{pid}': side effect 'burn' is "
        "not an adverse effect of course/course.yaml (did you mean 'burns'?); name one of its "
        "adverse_effects keys, or add the effect there first"
        for n, pid in ((1, "tap-water-palmoplantar"), (2, "tap-water-axillae"),
                       (3, "dexamethasone-musculoskeletal"), (4, "acetic-acid-calcific-plantar"))]


def test_sha256_covers_the_course_vocabulary_in_use(rules):
    """Plans show the vocabulary's side-effect labels, so a label edit changes the hash."""
    before = read_rules(rules).source.sha256
    course = rules / "course"
    shutil.copytree(RULES / "course", course)
    assert read_rules(rules).source.sha256 == before  # the same vocabulary, now the folder's own
    vocabulary = course / "course.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    label = "label: Redness (erythema)"
    assert label in text
    vocabulary.write_text(text.replace(label, "label: Erythema (redness)"), encoding="utf-8")
    assert read_rules(rules).source.sha256 != before


@pytest.mark.parametrize(("old", "new", "message"), [
    ("      duration: 12 min", "      duration: -12 min",
     "'duration' must be more than zero, got '-12 min'"),
    ("      current: 8 mA\n", "      current: ~\n",
     "'current' is empty: write a value such as '1 mA', or remove the line"),
    ("      current: 8 mA\n", "      current: 0 mA\n",
     "'current' must be more than zero, got '0 mA'"),
    ("max_dose: 240 mA*min", "max_dose: -240 mA*min",
     "limits: 'max_dose' must be more than zero, got '-240 mA*min'"),
    ("current_range: {min: 8 mA, max: 20 mA}", "current_range: {min: 20 mA, max: 8 mA}",
     "current_range: 'min' 20 mA is above 'max' 8 mA"),
    ("current_range: {min: 8 mA, max: 20 mA}", "current_range: {min: 9 mA, max: 20 mA}",
     "the current 8 mA must lie within its current_range (9 mA to 20 mA)"),  # said at current
    ("min_interval: 7 day", "min_interval: -7 day", "'min_interval' must be more than zero, "
     "got '-7 day'"),
])
def test_empty_zero_negative_or_inverted_numbers_are_errors_with_the_line(rules, old, new,
                                                                          message):
    path = rules / "protocols.yaml"
    replace_in(path, old, new)
    err = _only(rules)
    needle = "current: 8 mA" if "lie within" in message else new.strip().splitlines()[0]
    assert str(err) == (f"{path}:{line_of(path, needle)}: protocol "
                        f"'glycopyrronium-palmoplantar': {message}")


def test_a_rule_cap_of_zero_or_less_is_an_error(rules):
    path = rules / CI
    replace_in(path, "{set: {max_current: 10 mA}, parameters",
               "{set: {max_current: 0 mA}, parameters")
    assert str(_only(rules)) == (
        f"{path}:{line_of(path, 'max_current: 0 mA')}: rule 'paediatric-current-cap': effect "
        "'max_current' must be more than zero, got '0 mA'")
