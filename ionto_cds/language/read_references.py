"""Read references.yaml, and check the references a rule, drug or protocol cites."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ionto_cds.language.model import EvidenceGrade, Reference
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import REFERENCE
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def read_references(reader: Reader, doc: LocatedMap) -> dict[str, Reference]:
    raw = doc.get("references")
    if not isinstance(raw, LocatedMap):
        reader.error(key_line(doc, "references"), "'references' must be a mapping of key: entry")
        return {}
    out: dict[str, Reference] = {}
    for key, entry in raw.items():
        line = key_line(raw, key)
        what = f"reference '{key}'"
        if not _ID.match(key):
            reader.error(line, f"{what}: keys are kebab-case (lower-case words joined by -)")
        e = reader.mapping(entry, line, what, REFERENCE.keys, REFERENCE.required)
        if e is None:
            continue
        grade = e.get("grade")
        grades = [g.value for g in EvidenceGrade]
        if grade not in grades:
            reader.error(key_line(e, "grade"), f"{what}: grade must be one of "
                         f"{', '.join(grades)}, got '{grade}'{did_you_mean(str(grade), grades)}")
            continue
        out[key] = Reference(
            key=key,
            citation=reader.text(e, "citation", what),
            url=reader.text(e, "url", what, required=False) or None,
            grade=EvidenceGrade(grade),
            note=reader.text(e, "note", what, required=False) or None,
            location=reader.at(line),
        )
    return out


def check_references(
    reader: Reader, owner: LocatedMap, what: str, references: Mapping[str, Reference]
) -> tuple[str, ...]:
    """Read a 'references:' list and check every key exists in references.yaml."""
    keys = reader.text_list(owner, "references", what)
    if not keys:
        reader.error(owner.line, f"{what} cites no reference: add 'references: [key, ...]' "
                     "with keys from references.yaml")
    raw = owner.get("references")
    for i, key in enumerate(keys):
        if key not in references:
            reader.error(item_line(raw, i), f"{what}: unknown reference '{key}'"
                         f"{did_you_mean(key, references)}; add it to references.yaml")
    return keys
