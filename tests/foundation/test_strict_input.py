"""Answers enter through one strict layer: nothing misread silently, nothing crashes or hangs.

Each regression is named for a case the hostile-input review found (issue 11).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from helpers import patient
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_cds import assess, load_ruleset
from ionto_cds.cli import main
from ionto_cds.errors import InputFileError, IontoError
from ionto_cds.inputs import MAX_FILE_BYTES, MAX_YAML_BYTES, read_answers_text, read_patient_file
from ionto_cds.language.yamlsource import load_yaml_text

RS = load_ruleset()


def _json(answers: dict[str, object]) -> str:
    return json.dumps(answers)


def test_json_duplicate_key_is_refused_not_last_wins() -> None:
    text = _json(patient(pacemaker=True))[:-1] + ', "pacemaker": false}'
    with pytest.raises(InputFileError) as info:
        read_answers_text(text, "p.json")
    assert str(info.value) == "p.json: the key 'pacemaker' is given twice: keep one answer"


@pytest.mark.parametrize(("text", "why"), [
    ('{"age": ' + "[" * 2000 + "]" * 2000 + "}", "nested more than 64 levels deep"),
    ('{"tap_water_sessions": ' + "9" * 5000 + "}", "a number of 5000 digits: at most 18"),
    ('{"age": 1e400}', "the number 1e400 is out of range"),
    ('{"age": NaN}', "NaN is not a number JSON allows"),
    ('{"age": Infinity}', "Infinity is not a number JSON allows"),
])
def test_json_that_would_crash_is_a_short_refusal(text: str, why: str) -> None:
    with pytest.raises(InputFileError) as info:
        read_answers_text(text, "p.json")
    assert str(info.value) == f"p.json: {why}"


@pytest.mark.parametrize(("written", "read"), [
    ("010", 10),          # YAML 1.1 read octal 8
    ("1:30", "1:30"),     # YAML 1.1 read sexagesimal 90
    ("yes", "yes"),       # a word; the fact catalog reads yes/no answers
    ("0x10", 16),
    ("1e3", 1000.0),
    ("2026-11-24", "2026-11-24"),
])
def test_yaml_scalars_follow_the_1_2_core_schema(written: str, read: object) -> None:
    assert load_yaml_text(f"x: {written}\n", "p.yaml") == {"x": read}


def test_yaml_age_010_is_ten_years_and_1_30_is_refused() -> None:
    answers = read_answers_text("age: 010\ntap_water_sessions: 010\n", "p.yaml")
    fs = RS.validate({**patient(), **answers})
    assert fs.get("age") == 10 and fs.get("tap_water_sessions") == 10
    with pytest.raises(IontoError) as info:
        RS.validate({**patient(), **read_answers_text("age: 1:30\n", "p.yaml")})
    assert "age" in str(info.value) and "1:30" in str(info.value)


def test_fractional_sessions_are_refused_not_truncated() -> None:
    with pytest.raises(IontoError) as info:
        RS.validate({**patient(), **read_answers_text("tap_water_sessions: 10.5\n", "p.yaml")})
    assert "expected a whole number, got 10.5" in str(info.value)


def test_yes_and_no_words_answer_yes_no_questions() -> None:
    fs = RS.validate({**patient(), **read_answers_text("pacemaker: yes\nepilepsy: no\n", "p.y")})
    assert fs.get("pacemaker") is True and fs.get("epilepsy") is False


@pytest.mark.parametrize("text", [
    "age: " + "9" * 30 + "\n", "age: .inf\n", "age: 1e400\n",
    "a: " + "[" * 100 + "]" * 100 + "\n", "notes: " + "x" * 30_000 + "\n",
])
def test_yaml_bounds_are_refused_with_the_line(text: str) -> None:
    with pytest.raises(InputFileError) as info:
        read_answers_text(text, "p.yaml")
    assert str(info.value).startswith("p.yaml: line 1: ")
    assert len(str(info.value)) < 200


def test_a_file_too_large_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("age: 30\n" + "#" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    yaml_big = tmp_path / "long.yaml"
    yaml_big.write_text("age: 30\n" + "#" * MAX_YAML_BYTES, encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_patient_file(yaml_big)
    assert "characters of YAML: at most 200,000 (or write JSON)" in str(info.value)
    with pytest.raises(InputFileError) as info:
        read_patient_file(big)
    assert "bytes: at most" in str(info.value)


def test_the_cli_exits_2_without_a_traceback(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.json"
    path.write_text(_json(patient())[:-1] + ', "pacemaker": true}', encoding="utf-8")
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"ionto-cds assess: {path}: the key 'pacemaker' is given twice: keep one answer\n"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["p.yaml", "p.json"]))
def test_any_text_is_read_or_refused_by_our_own_errors_quickly(text: str, name: str) -> None:
    start = time.perf_counter()
    try:
        assess(read_answers_text(text, name), RS)
    except IontoError as exc:
        assert "Traceback" not in str(exc) and len(str(exc)) < 5000
    assert time.perf_counter() - start < 5


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=30),
       st.sampled_from(sorted(f.name for f in RS.catalog.asked)))
def test_any_json_value_for_any_fact_is_read_or_refused(value: object, fact: str) -> None:
    try:
        text = json.dumps({**patient(), fact: value}, allow_nan=True)
    except ValueError:
        return
    with contextlib.suppress(IontoError):  # read, or refused by our own error
        assess(read_answers_text(text, "p.json"), RS)


def test_many_unknown_answers_are_all_counted_and_the_first_few_named(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps({f"k{i}": 1 for i in range(5000)}), encoding="utf-8")
    with pytest.raises(IontoError) as info:
        assess(read_patient_file(path), RS)
    lines = str(info.value).splitlines()
    assert lines[0] == "5,000 answers cannot be used (the first 20 shown):"
    assert len(lines) == 21 and lines[1] == "  k0: unknown fact"


@pytest.mark.parametrize("text", [
    "{" + ", ".join(f'"k{i}": [1, 2, 3]' for i in range(90_000)) + "}",   # ~1.9 MB of JSON
    "\n".join(f"k{i}: [1, 2, 3]" for i in range(10_000)),                # ~0.2 MB of YAML
])
def test_the_largest_file_accepted_is_read_in_bounded_memory(text: str) -> None:
    import tracemalloc

    assert len(text) < (MAX_FILE_BYTES if text.startswith("{") else MAX_YAML_BYTES)
    name = "big.json" if text.startswith("{") else "big.yaml"
    tracemalloc.start()
    try:
        with contextlib.suppress(IontoError):
            assess(read_answers_text(text, name), RS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB for a {len(text) / 2**20:.1f} MiB file"
