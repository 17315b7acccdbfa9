"""Fuzzing the loader: malformed rule files only ever give located RuleErrors."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from helpers import RULES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_cds.language.loader import read_rules

FILES = {p.name: p.read_text(encoding="utf-8") for p in RULES.glob("*.yaml")}
# Errors about a whole file, which have no line to point at.
FILE_LEVEL = ("missing file", "the file is empty", "malformed YAML", "the YAML is nested",
              "the file is too large")
FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCALARS = st.one_of(st.integers(-5, 5), st.sampled_from(
    ["", "~", "[]", "{}", "true", "15 min", "-3 mA", "[a, b]", "{x: 1}", "'", "\"", "!!str x",
     "&a 1", "*a", "nan", "1e999 mA", "pacemakr", "- x", ": :", "{fact: age, lt: 6 kg}"]))


def _check(folder: Path) -> None:
    report = read_rules(folder)  # must not raise
    assert (report.source is None) == bool(report.errors)
    for error in report.errors:
        assert error.location.file, error
        assert Path(error.location.file).parent == folder, error
        if error.location.line is None:
            assert error.message.startswith(FILE_LEVEL), str(error)
        else:
            assert error.location.line >= 1
        assert error.message and "Traceback" not in error.message


def _folder_with(name: str, text: str, others: tuple[str, ...] = tuple(FILES)
                 ) -> tuple[tempfile.TemporaryDirectory, Path]:
    tmp = tempfile.TemporaryDirectory()
    folder = Path(tmp.name)
    for other in others:
        shutil.copy(RULES / other, folder / other)
    (folder / name).write_text(text, encoding="utf-8")
    return tmp, folder


@st.composite
def mutated(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(FILES)))
    lines = FILES[name].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "swap", "value", "indent", "duplicate", "key"]))
        if kind == "delete":
            del lines[i]
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "value" and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = f"{head}: {draw(SCALARS)}"
        elif kind == "indent":
            lines[i] = " " * draw(st.integers(0, 7)) + lines[i].lstrip()
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "key" and ":" in lines[i]:
            head, rest = lines[i].split(":", 1)
            indent = head[: len(head) - len(head.lstrip())]
            word = draw(st.sampled_from(["fact", "when", "id", "severity", "all", "not", "unit",
                                         "current", "drug", "values", "zzz"]))
            lines[i] = f"{indent}{word}:{rest}"
    return name, "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=30)
@given(mutated())
def test_mutated_real_rule_files_give_only_located_errors(case):
    name, text = case
    tmp, folder = _folder_with(name, text)
    with tmp:
        _check(folder)


YAMLISH = st.text(alphabet=st.sampled_from(list("abcfx:-[]{},'\"&*!|>#% \n\t01.5")),
                  max_size=200)


SMALL = ("facts.yaml", "references.yaml")


@FUZZ
@given(st.sampled_from(["contraindications.yaml", "protocols.yaml", "drugs.yaml",
                        "facts.yaml"]), YAMLISH)
def test_random_yamlish_text_gives_only_located_errors(name, text):
    tmp, folder = _folder_with(name, text, SMALL)
    with tmp:
        _check(folder)


@st.composite
def structured(draw):
    """Random plain data in the shape of a rules file, written as YAML."""
    import yaml

    leaf = st.one_of(SCALARS, st.booleans(), st.none(), st.floats(allow_nan=True))
    tree = st.recursive(leaf, lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(st.sampled_from(["id", "when", "fact", "is", "lt", "all", "any", "not",
                                         "severity", "applies_to", "references", "effect",
                                         "metadata", "title", "x"]), kids, max_size=4)),
        max_leaves=12)
    rules = draw(st.lists(tree, max_size=3))
    return yaml.safe_dump({"version": "2026.1", "rules": rules}, allow_unicode=True)


@FUZZ
@given(structured())
def test_wrongly_typed_rule_entries_give_only_located_errors(text):
    tmp, folder = _folder_with("contraindications.yaml", text, SMALL)
    with tmp:
        _check(folder)


def _without_key(lines: list[str], i: int) -> list[str]:
    """``lines`` without the key on line ``i`` and the block written under it."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    end = i + 1
    while end < len(lines) and (not lines[end].strip()
                                or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return lines[:i] + lines[end:]


def test_each_key_of_a_treatment_protocol_removed_gives_located_errors():
    """Regression (found by the fuzz test above): a variant without its current_range crashed
    the loader; now every key of a full protocol, removed in turn, gives located errors."""
    lines = FILES["protocols.yaml"].splitlines()
    start = lines.index("  - id: glycopyrronium-palmoplantar")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id:"))
    keys = [i for i in range(start + 1, end)
            if re.match(r"\s+[a-z_]+:", lines[i]) and not lines[i].lstrip().startswith("#")]
    assert len(keys) > 30
    for i in keys:
        text = "\n".join(_without_key(lines, i)) + "\n"
        tmp, folder = _folder_with("protocols.yaml", text)
        with tmp:
            _check(folder)


def test_a_variant_without_its_current_range_is_told_once_where_it_is():
    lines = FILES["protocols.yaml"].splitlines()
    start = lines.index("  - id: glycopyrronium-palmoplantar")
    variant = lines.index("        children:", start)
    at = lines.index("          current_range: {min: 2 mA, max: 10 mA}", variant)
    tmp, folder = _folder_with("protocols.yaml", "\n".join(lines[:at] + lines[at + 1:]) + "\n")
    with tmp:
        errors = read_rules(folder).errors
    assert [(e.location.line, e.message) for e in errors] == [(  # the variant's first line
        variant + 2, "protocol 'glycopyrronium-palmoplantar': variant 'children' is missing the "
        "required key 'current_range'")]
