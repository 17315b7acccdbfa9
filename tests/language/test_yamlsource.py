"""Safe, located YAML: lines kept, object-building tags refused."""

from __future__ import annotations

import pytest

from ionto_cds.errors import RuleError
from ionto_cds.language.yamlsource import (
    LocatedList,
    LocatedMap,
    item_line,
    key_line,
    load_yaml_file,
    load_yaml_text,
)


def _error(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        load_yaml_text(text, "f.yaml")
    return info.value


def test_lines_of_mappings_keys_and_items():
    data = load_yaml_text("# comment\na: 1\nb:\n  - x\n  - y: 2\n", "f.yaml")
    assert isinstance(data, LocatedMap)
    assert data.line == 2
    assert key_line(data, "a") == 2 and key_line(data, "b") == 3
    assert isinstance(data["b"], LocatedList)
    assert item_line(data["b"], 0) == 4 and item_line(data["b"], 1) == 5
    assert data == {"a": 1, "b": ["x", {"y": 2}]}


def test_dates_stay_as_written():
    assert load_yaml_text("d: 2026-11-24", "f.yaml") == {"d": "2026-11-24"}


def test_empty_document_is_none():
    assert load_yaml_text("# nothing\n", "f.yaml") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1", "f.yaml:1: malformed YAML: while parsing a flow sequence that starts here is "
         "never closed"),
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3: duplicate key 'a': each key may appear once in a "
         "mapping; remove or rename one"),
        ('a: 1\nb: !!python/object/apply:os.system ["echo pwned"]\n',
         "f.yaml:2: YAML tag '!!python/object/apply:os.system' is not allowed: rules and "
         "answers are plain data; remove the tag"),
        ('!!python/object/apply:os.system ["echo pwned"]',
         "f.yaml:1: YAML tag '!!python/object/apply:os.system' is not allowed: rules and "
         "answers are plain data; remove the tag"),
        ("x: !!python/name:os.system\n",
         "f.yaml:1: YAML tag '!!python/name:os.system' is not allowed: rules and answers are "
         "plain data; remove the tag"),
        ("x: !!binary aGk=\n", "f.yaml:1: YAML tag '!!binary' is not allowed: rules and "
         "answers are plain data; remove the tag"),
        ("x: !custom 3\n", "f.yaml:1: YAML tag '!custom' is not allowed: rules and answers "
         "are plain data; remove the tag"),
        ("base: &b {a: 1}\nother:\n  <<: *b\n", "f.yaml:3: YAML merge keys ('<<') are not "
         "supported: write the entries out"),
        ("? [1, 2]\n: 3\n", "f.yaml:1: a key must be a plain word"),
    ],
)
def test_refusals_carry_file_line_and_fix(text, message):
    assert str(_error(text)) == message


def test_the_os_system_tag_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    text = f'x: !!python/object/apply:os.system ["touch {marker}"]\n'
    _error(text)
    assert not marker.exists()


def test_alias_bomb_is_refused_not_expanded():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    err = _error("\n".join(lines) + "\n")
    assert err.message == "the file is too large or expands aliases without end"
    assert err.location.file == "f.yaml" and err.location.line is not None


def test_file_errors(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(RuleError) as info:
        load_yaml_file(bad)
    assert str(info.value) == f"{bad}: the file is not UTF-8 text"
    with pytest.raises(RuleError) as info:
        load_yaml_file(tmp_path / "absent.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'absent.yaml'}: cannot read the file: ")
