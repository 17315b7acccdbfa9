"""Load a rules folder (YAML) into the immutable model, reporting every mistake with file:line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.errors import Location, RuleError, RuleSetError
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import Reference, ReviewStatus, Rule
from ionto_cds.language.packaged import COURSE_DIR, FACTS_FILE, packaged_rules_dir
from ionto_cds.language.read_facts import read_catalog
from ionto_cds.language.read_references import read_references
from ionto_cds.language.read_rules import read_rule_list
from ionto_cds.language.read_treatment import read_drugs, read_limits, read_protocols
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import FILE_SHAPES
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.language.vocabulary import vocabulary_for
from ionto_cds.language.yamlsource import LocatedMap, key_line, load_yaml_file

REFERENCES_FILE = "references.yaml"
DRUGS_FILE = "drugs.yaml"
PROTOCOLS_FILE = "protocols.yaml"
_SPECIAL = {FACTS_FILE, REFERENCES_FILE, DRUGS_FILE, PROTOCOLS_FILE}


@dataclass(frozen=True)
class RuleSource:
    """Everything a rules folder defines, checked and ready for the engine."""

    directory: Path
    version: str
    sha256: str
    catalog: FactCatalog
    rules: tuple[Rule, ...]
    references: Mapping[str, Reference]
    drugs: Mapping[str, Drug]
    protocols: tuple[Protocol, ...]
    limits: Limits
    files: tuple[str, ...] = field(default=())
    retired_rules: tuple[Rule, ...] = ()
    """Rules whose review status is ``retired``: kept for the catalogue and diffs, never
    evaluated (they are not in ``rules``)."""
    retired_protocols: tuple[Protocol, ...] = ()
    """Protocols retired the same way: never tried (they are not in ``protocols``)."""


@dataclass
class LoadReport:
    """The outcome of reading a rules folder: the source when it loaded, and all errors."""

    source: RuleSource | None
    errors: list[RuleError]


@dataclass(frozen=True)
class CourseContext:
    """What a rule set takes from its course vocabulary: the adverse effects' labels (None when
    the vocabulary cannot be read) with the vocabulary's mistakes (reported with protocols.yaml,
    whose side effects name those keys), and its documents, hashed as rule content (they give
    the side-effect labels shown in plans; ``unhashable`` when one cannot be parsed)."""

    labels: Mapping[str, str] | None
    errors: tuple[RuleError, ...]
    documents: Mapping[str, Any]
    unhashable: RuleError | None = None


class _Documents:
    """The parsed documents of one rule set, the errors found so far, and each file's version."""

    def __init__(self, folder: Path, documents: Mapping[str, Any],
                 unreadable: Sequence[RuleError]) -> None:
        self.errors: list[RuleError] = list(unreadable)
        self.documents: dict[str, tuple[Path, Any]] = {
            name: (folder / name, documents[name]) for name in sorted(documents)}
        self.versions: dict[str, tuple[str, int | None]] = {}
        failed = {e.location.file for e in unreadable}
        for needed in (FACTS_FILE, REFERENCES_FILE):
            if needed not in self.documents and str(folder / needed) not in failed:
                self.errors.append(RuleError(Location(str(folder / needed)), "missing file: "
                                             f"every rules folder needs {needed}"))

    def top(self, name: str, allowed: tuple[str, ...]) -> tuple[Reader, LocatedMap] | None:
        """A file's top-level mapping with only ``allowed`` keys, its version noted."""
        if name not in self.documents:
            return None
        path, data = self.documents[name]
        reader = Reader(str(path), self.errors)
        if data is None:
            reader.error(None, "the file is empty")
            return None
        mapping = reader.mapping(data, 1, f"{name}", allowed)
        if mapping is None:
            return None
        version = mapping.get("version")
        if not isinstance(version, str | int | float) or isinstance(version, bool):
            reader.error(mapping.line, "missing 'version:' (a text such as \"2026.1\")")
        else:
            self.versions[name] = (str(version), key_line(mapping, "version"))
        return reader, mapping

    def rule_files(self) -> list[str]:
        """The files of plain rules (every file but the special ones)."""
        return [n for n in self.documents if n not in _SPECIAL]


def load_documents(folder: Path) -> tuple[dict[str, Any], list[RuleError]]:
    """The parsed YAML documents of a rules folder (keyed by file name), and the files that
    could not be parsed."""
    documents: dict[str, Any] = {}
    errors: list[RuleError] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            documents[path.name] = load_yaml_file(path)
        except RuleError as exc:
            errors.append(exc)
    return documents, errors


def read_course(folder: Path) -> CourseContext:
    """The course vocabulary beside a rules folder (the packaged one when it has none)."""
    errors: list[RuleError] = []
    labels = _adverse_effect_labels(folder, errors)
    course = folder / COURSE_DIR
    if not any(course.glob("*.yaml")):
        course = packaged_rules_dir() / COURSE_DIR
    hashed: dict[str, Any] = {}
    try:
        for extra in sorted(course.glob("*.yaml")):
            hashed[f"course/{extra.name}"] = load_yaml_file(extra)
    except RuleError as exc:  # reported through the vocabulary too; never hash garbage
        return CourseContext(labels, tuple(errors), {}, exc)
    return CourseContext(labels, tuple(errors), hashed)


def read_rules(directory: str | Path | None = None) -> LoadReport:
    """Read and check a rules folder, collecting every error instead of stopping at one."""
    folder = Path(directory) if directory is not None else packaged_rules_dir()
    if not folder.is_dir():
        return LoadReport(None, [RuleError(Location(str(folder)), "no such rules folder")])
    documents, unreadable = load_documents(folder)
    return read_documents(documents, folder, read_course(folder), unreadable)


def read_documents(documents: Mapping[str, Any], folder: Path, course: CourseContext,
                   unreadable: Sequence[RuleError] = ()) -> LoadReport:
    """Read and check a rule set from parsed documents (the located trees of
    :mod:`~ionto_cds.language.yamlsource`, keyed by file name) without touching disk.

    ``folder`` names the files in messages; ``unreadable`` are the files that failed to parse.
    """
    docs = _Documents(folder, documents, unreadable)
    drug_doc = docs.top(DRUGS_FILE, FILE_SHAPES["drugs"].keys)
    drug_keys: tuple[str, ...] = ()
    if drug_doc and isinstance(drug_doc[1].get("drugs"), LocatedMap):
        drug_keys = tuple(drug_doc[1]["drugs"])
    facts_doc = docs.top(FACTS_FILE, FILE_SHAPES["facts"].keys)
    catalog = read_catalog(*facts_doc, drug_keys) if facts_doc else FactCatalog({}, ())
    refs_doc = docs.top(REFERENCES_FILE, FILE_SHAPES["references"].keys)
    references = read_references(*refs_doc) if refs_doc else {}

    rules: list[Rule] = []
    ids: list[tuple[str, Location]] = []
    for name in docs.rule_files():
        doc = docs.top(name, FILE_SHAPES["rules"].keys)
        if doc:
            rules.extend(read_rule_list(doc[0], doc[1], catalog, references, drug_keys, ids))
    drugs: dict[str, Drug] = {}
    if drug_doc:
        drugs = read_drugs(drug_doc[0], drug_doc[1], catalog, references)
        rules.extend(read_rule_list(drug_doc[0], drug_doc[1], catalog, references, drug_keys,
                                    ids))
    protocols: tuple[Protocol, ...] = ()
    limits = Limits.none()
    protocol_doc = docs.top(PROTOCOLS_FILE, FILE_SHAPES["protocols"].keys)
    if protocol_doc:
        docs.errors.extend(course.errors)
        limits = read_limits(protocol_doc[0], protocol_doc[1], references)
        protocols = read_protocols(protocol_doc[0], protocol_doc[1], catalog, references, drugs,
                                   course.labels)
    _check_unique_ids(ids, docs.errors)
    _check_retired_drugs(protocols, drugs, docs.errors)
    version = _agreed_version(docs.versions, docs.documents, docs.errors)
    docs.errors.sort(key=lambda e: (e.location.file, e.location.line or 0))
    if docs.errors:
        return LoadReport(None, docs.errors)
    if course.unhashable is not None:
        return LoadReport(None, [course.unhashable])
    hashed = {**{n: data for n, (_, data) in docs.documents.items()}, **course.documents}
    retired = ReviewStatus.RETIRED
    source = RuleSource(
        directory=folder, version=version, sha256=_content_hash(hashed), catalog=catalog,
        rules=tuple(r for r in rules if r.review.status is not retired), references=references,
        drugs=drugs, protocols=tuple(p for p in protocols if p.review.status is not retired),
        limits=limits, files=tuple(sorted(docs.documents)),
        retired_rules=tuple(r for r in rules if r.review.status is retired),
        retired_protocols=tuple(p for p in protocols if p.review.status is retired),
    )
    return LoadReport(source, [])


def _adverse_effect_labels(folder: Path, errors: list[RuleError]) -> dict[str, str] | None:
    """The course vocabulary's adverse effects (key: label) that protocol side effects name.

    course/course.yaml is read here only for these keys; its own mistakes are reported with the
    rules' (None then, and the side-effect keys go unchecked).
    """
    try:
        vocabulary = vocabulary_for(folder)
    except RuleSetError as exc:
        errors.extend(exc.errors)
        return None
    except RuleError as exc:
        errors.append(exc)
        return None
    return {key: effect.label for key, effect in vocabulary.adverse_effects.items()}


def _agreed_version(
    versions: Mapping[str, tuple[str, int | None]], documents: Mapping[str, Any],
    errors: list[RuleError],
) -> str:
    if not versions:
        return "unversioned"
    reference_name = FACTS_FILE if FACTS_FILE in versions else sorted(versions)[0]
    expected = versions[reference_name][0]
    for name, (version, line) in sorted(versions.items()):
        if version != expected:
            errors.append(RuleError(
                Location(str(documents[name][0]), line),
                f"version '{version}' differs from {reference_name} ('{expected}'): every file "
                "of a ruleset carries the same version",
            ))
    return expected


def _content_hash(documents: Mapping[str, Any]) -> str:
    """sha256 of the canonical content (parsed data, sorted keys): comments do not count."""
    digest = hashlib.sha256()
    for name in sorted(documents):
        digest.update(name.encode())
        digest.update(json.dumps(documents[name], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _check_retired_drugs(protocols: Sequence[Protocol], drugs: Mapping[str, Drug],
                         errors: list[RuleError]) -> None:
    """A protocol still in use never names a retired drug."""
    for p in protocols:
        drug = drugs.get(p.drug) if p.drug else None
        if (drug is not None and drug.review.status is ReviewStatus.RETIRED
                and p.review.status is not ReviewStatus.RETIRED):
            errors.append(RuleError(p.location or Location(PROTOCOLS_FILE), f"protocol '{p.id}' "
                                    f"names the retired drug '{drug.key}': retire the protocol "
                                    "too, or take the drug back into review"))


def _check_unique_ids(ids: list[tuple[str, Location]], errors: list[RuleError]) -> None:
    """Every id written, even in rules that failed other checks, must be unique."""
    seen: dict[str, Location] = {}
    for rule_id, where in ids:
        if rule_id in seen:
            errors.append(RuleError(where, f"duplicate rule id '{rule_id}' (first at "
                                    f"{seen[rule_id]}): every rule needs its own id"))
        else:
            seen[rule_id] = where
