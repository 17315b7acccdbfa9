"""The JSON Schema of the rule files: generated from the readers' shapes, shipped in
rules/schema, named by each rules file, and rejecting planted mistakes at their path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import RULES, copy_rules, replace_in

from ionto_cds.language.loader import read_rules
from ionto_cds.language.schema import (
    SCHEMA_DIR,
    rule_file_schema,
    schema_file_name,
    schema_kind_of,
    schema_texts,
)
from ionto_cds.language.shapes import FILE_SHAPES
from ionto_cds.language.yamlsource import load_yaml_file

SHIPPED = RULES / SCHEMA_DIR


def _validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = rule_file_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _paths(path: Path) -> list[list[str | int]]:
    """Where the schema rejects a rules file (each error's path into the document)."""
    validator = _validator(schema_kind_of(path.name))
    return [list(e.absolute_path) for e in validator.iter_errors(load_yaml_file(path))]


def test_shipped_schema_is_the_generated_one():
    shipped = {p.name: p.read_text(encoding="utf-8") for p in SHIPPED.glob("*.json")}
    assert shipped == schema_texts(), \
        "rules/schema is stale: run python -m ionto_cds.language.schema rules/schema"


def test_schema_keys_are_the_readers_keys():
    rules = rule_file_schema("rules")
    assert list(rules["$defs"]["rule"]["properties"]) == list(FILE_SHAPES["rules"].fields[
        "rules"].item.fields)  # type: ignore[union-attr]
    assert rules["$defs"]["rule"]["properties"]["severity"] == {
        "enum": ["absolute", "relative", "precaution"]}
    assert rules["$defs"]["review"]["properties"]["status"] == {
        "enum": ["draft", "reviewed", "retired"]}


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_rules_file_names_its_schema_and_is_valid(path):
    kind = schema_kind_of(path.name)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema={SCHEMA_DIR}/{schema_file_name(kind)}"
    assert (path.parent / SCHEMA_DIR / schema_file_name(kind)).is_file()
    assert _paths(path) == []


# (file, text in it, text planted instead, the path the schema names: the whole path, or as a
# tuple its end where the entry's place is not worth counting by hand)
PLANTED = [
    ("contraindications.yaml", "    severity: absolute\n    applies_to: [tap_water, "
     "drug_assisted]\n    when: {fact: pacemaker", "    severity: absolut\n    applies_to: "
     "[tap_water, drug_assisted]\n    when: {fact: pacemaker", ["rules", 0, "severity"]),
    ("contraindications.yaml", "    rationale: >-\n      The treatment current",
     "    rationle: >-\n      The treatment current", ["rules", 0]),
    ("contraindications.yaml", "review: {status: reviewed", "review: {status: reviwed",
     ["rules", 0, "review", "status"]),
    ("contraindications.yaml", "reviewed_on: 2026-12-01", "reviewed_on: 1 Dec 2026",
     ["rules", 0, "review", "reviewed_on"]),
    ("contraindications.yaml", "when: {fact: pacemaker, is: true}",
     "when: {fact: pacemaker, iss: true}", ["rules", 0, "when"]),
    ("protocols.yaml", "      current: 8 mA", "      current: 8", ("parameters", "current")),
    ("drugs.yaml", "    ion: cation\n", "    ion: neutral\n", ["drugs", "glycopyrronium", "ion"]),
    ("references.yaml", "    grade: manufacturer", "    grade: anecdote",
     ["references", "saalmann-faq", "grade"]),
    ("facts.yaml", "    type: quantity", "    type: number", ("type",)),
    ("protocols.yaml", "response: stop", "response: halt", ("side_effects", 1, "response")),
]


@pytest.mark.parametrize("file, old, new, where", PLANTED, ids=lambda v: str(v)[:30])
def test_planted_mistake_is_rejected_at_its_path(tmp_path, file, old, new, where):
    folder = copy_rules(tmp_path)
    path = folder / file
    replace_in(path, old, new)
    paths = _paths(path)
    assert paths, f"the schema accepts {new!r}"
    if isinstance(where, tuple):
        assert any(tuple(p[-len(where):]) == where for p in paths), paths
    else:
        assert where in paths, paths
    assert read_rules(folder).source is None  # the loader refuses it too


def test_schema_describes_quantities_and_dates():
    protocols = rule_file_schema("protocols")
    current = protocols["$defs"]["parameters"]["properties"]["current"]
    validator = jsonschema.Draft202012Validator(current)
    assert validator.is_valid("15 mA") and validator.is_valid("0.5 mA/cm^2")
    assert not validator.is_valid("15") and not validator.is_valid(15)
    date = jsonschema.Draft202012Validator(protocols["$defs"]["review"]["properties"][
        "next_review"])
    assert date.is_valid("2027-12-01") and not date.is_valid("12/01/2027")
    json.dumps(protocols)  # plain JSON
