"""Load a rules folder (YAML) into the immutable model, reporting every mistake with file:line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.errors import Location, RuleError, RuleSetError
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import Reference, Rule
from ionto_cds.language.packaged import COURSE_DIR, FACTS_FILE, packaged_rules_dir
from ionto_cds.language.read_facts import read_catalog
from ionto_cds.language.read_references import read_references
from ionto_cds.language.read_rules import read_rule_list
from ionto_cds.language.read_treatment import read_drugs, read_limits, read_protocols
from ionto_cds.language.reader import Reader
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


@dataclass
class LoadReport:
    """The outcome of reading a rules folder: the source when it loaded, and all errors."""

    source: RuleSource | None
    errors: list[RuleError]


def read_rules(directory: str | Path | None = None) -> LoadReport:
    """Read and check a rules folder, collecting every error instead of stopping at one."""
    folder = Path(directory) if directory is not None else packaged_rules_dir()
    errors: list[RuleError] = []
    if not folder.is_dir():
        errors.append(RuleError(Location(str(folder)), "no such rules folder"))
        return LoadReport(None, errors)
    documents: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = load_yaml_file(path)
        except RuleError as exc:
            errors.append(exc)
            continue
        documents[path.name] = (path, data)
    for needed in (FACTS_FILE, REFERENCES_FILE):
        if needed not in documents and not (folder / needed).exists():
            errors.append(RuleError(Location(str(folder / needed)), "missing file: every rules "
                                    f"folder needs {needed}"))
    versions: dict[str, tuple[str, int | None]] = {}

    def top(name: str, allowed: tuple[str, ...]) -> tuple[Reader, LocatedMap] | None:
        if name not in documents:
            return None
        path, data = documents[name]
        reader = Reader(str(path), errors)
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
            versions[name] = (str(version), key_line(mapping, "version"))
        return reader, mapping

    drug_doc = top(DRUGS_FILE, ("version", "drugs", "rules"))
    drug_keys: tuple[str, ...] = ()
    if drug_doc and isinstance(drug_doc[1].get("drugs"), LocatedMap):
        drug_keys = tuple(drug_doc[1]["drugs"])
    facts_doc = top(FACTS_FILE, ("version", "groups", "facts"))
    catalog = read_catalog(*facts_doc, drug_keys) if facts_doc else FactCatalog({}, ())
    refs_doc = top(REFERENCES_FILE, ("version", "references"))
    references = read_references(*refs_doc) if refs_doc else {}

    rules: list[Rule] = []
    ids: list[tuple[str, Location]] = []
    rule_files = [n for n in documents if n not in _SPECIAL]
    for name in rule_files:
        doc = top(name, ("version", "rules"))
        if doc:
            rules.extend(read_rule_list(doc[0], doc[1], catalog, references, drug_keys, ids))
    drugs: dict[str, Drug] = {}
    if drug_doc:
        reader, mapping = drug_doc
        drugs = read_drugs(reader, mapping, catalog, references)
        rules.extend(read_rule_list(reader, mapping, catalog, references, drug_keys, ids))
    protocols: tuple[Protocol, ...] = ()
    limits = Limits.none()
    protocol_doc = top(PROTOCOLS_FILE, ("version", "limits", "protocols"))
    if protocol_doc:
        reader, mapping = protocol_doc
        limits = read_limits(reader, mapping, references)
        protocols = read_protocols(reader, mapping, catalog, references, drugs,
                                   _adverse_effect_labels(folder, errors))

    _check_unique_ids(ids, errors)
    version = _agreed_version(versions, documents, errors)
    errors.sort(key=lambda e: (e.location.file, e.location.line or 0))
    if errors:
        return LoadReport(None, errors)
    hashed = {n: documents[n][1] for n in documents}
    # The course vocabulary in use (the folder's own, else the packaged one) gives the
    # side-effect labels shown in plans, so it is content too.
    course = folder / COURSE_DIR
    if not any(course.glob("*.yaml")):
        course = packaged_rules_dir() / COURSE_DIR
    for extra in sorted(course.glob("*.yaml")):
        try:
            hashed[f"course/{extra.name}"] = load_yaml_file(extra)
        except RuleError as exc:  # already reported through the vocabulary; never hash garbage
            return LoadReport(None, [exc])
    digest = _content_hash(hashed)
    source = RuleSource(
        directory=folder,
        version=version,
        sha256=digest,
        catalog=catalog,
        rules=tuple(rules),
        references=references,
        drugs=drugs,
        protocols=protocols,
        limits=limits,
        files=tuple(sorted(documents)),
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


def _check_unique_ids(ids: list[tuple[str, Location]], errors: list[RuleError]) -> None:
    """Every id written, even in rules that failed other checks, must be unique."""
    seen: dict[str, Location] = {}
    for rule_id, where in ids:
        if rule_id in seen:
            errors.append(RuleError(where, f"duplicate rule id '{rule_id}' (first at "
                                    f"{seen[rule_id]}): every rule needs its own id"))
        else:
            seen[rule_id] = where
