"""The patient leaflet's words (rules/leaflet/leaflet.yaml), read and checked with file:line."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionto_cds.errors import Location, RuleError, RuleSetError, quote
from ionto_cds.language.packaged import packaged_rules_dir
from ionto_cds.language.treatment import RESPONSES
from ionto_cds.language.yamlsource import LocatedMap, key_line, line_of, load_yaml_file

LEAFLET_FILE = Path("leaflet") / "leaflet.yaml"
_KEYS = ("version", "title", "intro", "during", "responses", "closing")
_DURING = ("all", "tap_water", "drug_assisted")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph a patient reads, with the sources it rests on."""

    text: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class LeafletText:
    """Everything leaflet.yaml says; ``sha256`` is of the file's bytes (for the footer)."""

    version: str
    title: str
    intro: Paragraph
    during: Mapping[str, tuple[Paragraph, ...]]
    responses: Mapping[str, str]
    closing: str
    file: str
    sha256: str


class _Reader:
    def __init__(self, file: str, references: Mapping[str, object]) -> None:
        self.file = file
        self.references = references
        self.errors: list[RuleError] = []

    def fail(self, where: object, key: str | None, message: str) -> None:
        line = key_line(where, key) if key is not None else line_of(where)
        self.errors.append(RuleError(Location(self.file, line), message))

    def text(self, parent: Mapping[str, Any], key: str, owner: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(parent, key if key in parent else None,
                      f"{owner}: '{key}' must be a text, got {quote(value)}")
            return ""
        return " ".join(value.split())

    def paragraph(self, raw: object, owner: str) -> Paragraph:
        if not isinstance(raw, Mapping):
            self.fail(raw, None, f"{owner}: expected 'text' and 'references'")
            return Paragraph("", ())
        refs = raw.get("references")
        if not isinstance(refs, list) or not refs:
            self.fail(raw, "references" if "references" in raw else None,
                      f"{owner}: name at least one source under 'references'")
            refs = []
        for ref in refs:
            if ref not in self.references:
                self.fail(raw, "references", f"{owner}: unknown reference {quote(ref)} (add it "
                          "to references.yaml or fix the key)")
        return Paragraph(self.text(raw, "text", owner), tuple(str(r) for r in refs))

    def paragraphs(self, raw: object, owner: str) -> tuple[Paragraph, ...]:
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.fail(raw, None, f"{owner}: expected a list of paragraphs")
            return ()
        return tuple(self.paragraph(p, f"{owner} item {i + 1}") for i, p in enumerate(raw))


def read_leaflet(references: Mapping[str, object], path: str | Path | None = None
                 ) -> LeafletText:
    """Read the leaflet's words (the packaged file by default), every source checked against
    ``references``. Raises :class:`RuleSetError` listing each mistake with file:line."""
    file = Path(path) if path is not None else packaged_rules_dir() / LEAFLET_FILE
    data = load_yaml_file(file)
    r = _Reader(str(file), references)
    if not isinstance(data, LocatedMap):
        raise RuleSetError([RuleError(Location(str(file), 1), "expected a mapping with "
                                      + ", ".join(_KEYS))])
    for key in data:
        if key not in _KEYS:
            r.fail(data, key, f"unknown key '{key}' (expected one of {', '.join(_KEYS)})")
    during_raw = data.get("during")
    during: dict[str, tuple[Paragraph, ...]] = {}
    if isinstance(during_raw, Mapping):
        for key, items in during_raw.items():
            if key not in _DURING:
                r.fail(during_raw, key, f"during: unknown group '{key}' (expected one of "
                       f"{', '.join(_DURING)})")
            during[str(key)] = r.paragraphs(items, f"during {key}")
    else:
        r.fail(data, "during" if "during" in data else None, "'during' must map all, "
               "tap_water or drug_assisted to paragraphs")
    responses_raw = data.get("responses")
    responses: dict[str, str] = {}
    if isinstance(responses_raw, Mapping):
        responses = {k: r.text(responses_raw, k, "responses") for k in RESPONSES}
        for key in responses_raw:
            if key not in RESPONSES:
                r.fail(responses_raw, key, f"responses: unknown response '{key}' (expected "
                       f"one of {', '.join(RESPONSES)})")
    else:
        r.fail(data, None, "'responses' must give the patient's words for each of "
               + ", ".join(RESPONSES))
    leaflet = LeafletText(
        version=r.text(data, "version", "leaflet"), title=r.text(data, "title", "leaflet"),
        intro=r.paragraph(data.get("intro"), "intro"), during=during, responses=responses,
        closing=r.text(data, "closing", "leaflet"), file=str(file),
        sha256=hashlib.sha256(file.read_bytes()).hexdigest())
    if r.errors:
        raise RuleSetError(r.errors)
    return leaflet
