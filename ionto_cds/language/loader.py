"""Load a rules folder (YAML) into the immutable model, reporting every mistake with file:line."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.errors import Location, RuleError
from ionto_cds.facts import FactCatalog, FactDef, FactGroup, FactType
from ionto_cds.language.model import (
    ALL_MODALITIES,
    Reference,
    Rule,
    RuleMetadata,
    Severity,
)
from ionto_cds.language.reader import Reader, did_you_mean
from ionto_cds.language.treatment import Drug, Limits, Protocol
from ionto_cds.language.treatment_reader import read_drugs, read_limits, read_protocols
from ionto_cds.language.yamlsource import (
    LocatedList,
    LocatedMap,
    item_line,
    key_line,
    load_yaml_file,
)

FACTS_FILE = "facts.yaml"
REFERENCES_FILE = "references.yaml"
DRUGS_FILE = "drugs.yaml"
PROTOCOLS_FILE = "protocols.yaml"
_SPECIAL = {FACTS_FILE, REFERENCES_FILE, DRUGS_FILE, PROTOCOLS_FILE}
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_EFFECT_UNITS = {"max_current": "mA", "max_dose": "mA*min", "max_current_density": "mA/cm^2"}

_FACT_KEYS = ("type", "label", "help", "group", "unit", "min", "max", "values", "values_from",
              "asked_when", "required")
_RULE_KEYS = ("id", "title", "severity", "applies_to", "when", "rationale", "action",
              "references", "effect", "metadata")
_METADATA_KEYS = ("version", "author", "last_reviewed")


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


def packaged_rules_dir() -> Path:
    """The rules shipped with ionto-cds (inside the wheel, or the checkout's rules/)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / FACTS_FILE).is_file():
            return candidate
    raise FileNotFoundError("the packaged rules folder is missing: reinstall ionto-cds")


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
    catalog = _read_catalog(*facts_doc, drug_keys) if facts_doc else FactCatalog({}, ())
    refs_doc = top(REFERENCES_FILE, ("version", "references"))
    references = _read_references(*refs_doc) if refs_doc else {}

    rules: list[Rule] = []
    ids: list[tuple[str, Location]] = []
    rule_files = [n for n in documents if n not in _SPECIAL]
    for name in rule_files:
        doc = top(name, ("version", "rules"))
        if doc:
            rules.extend(_read_rule_list(doc[0], doc[1], catalog, references, drug_keys, ids))
    drugs: dict[str, Drug] = {}
    if drug_doc:
        reader, mapping = drug_doc
        drugs = read_drugs(reader, mapping, catalog, references)
        rules.extend(_read_rule_list(reader, mapping, catalog, references, drug_keys, ids))
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
    course = folder / "course"
    if not any(course.glob("*.yaml")):
        course = packaged_rules_dir() / "course"
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
    # Imported here: the vocabulary module finds the packaged rules through this module.
    from ionto_cds.course_vocabulary import vocabulary_for
    from ionto_cds.errors import RuleSetError

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


def _read_catalog(reader: Reader, doc: LocatedMap, drug_keys: tuple[str, ...]) -> FactCatalog:
    groups: list[FactGroup] = []
    raw_groups = reader.sequence(doc.get("groups"), key_line(doc, "groups"), "'groups'")
    for i, item in enumerate(raw_groups or []):
        keys = ("id", "label")
        g = reader.mapping(item, item_line(raw_groups, i), "a group", keys, keys)
        if g is not None and isinstance(g.get("id"), str):
            groups.append(FactGroup(g["id"], reader.text(g, "label", f"group '{g['id']}'")))
    group_ids = [g.id for g in groups]
    raw_facts = doc.get("facts")
    if not isinstance(raw_facts, LocatedMap):
        reader.error(key_line(doc, "facts"), "'facts' must be a mapping of fact name: entry")
        return FactCatalog({}, tuple(groups))
    facts: dict[str, FactDef] = {}
    pending_conditions: dict[str, tuple[Any, int | None]] = {}
    for name, entry in raw_facts.items():
        line = key_line(raw_facts, name)
        what = f"fact '{name}'"
        if not _FACT_NAME.match(name):
            reader.error(line, f"{what}: names are snake_case (lower-case words joined by _)")
        e = reader.mapping(entry, line, what, _FACT_KEYS, ("type", "label", "group"))
        if e is None:
            continue
        fact = _read_fact(reader, name, e, group_ids, drug_keys)
        if fact is not None:
            facts[name] = fact
            if "asked_when" in e:
                pending_conditions[name] = (e["asked_when"], key_line(e, "asked_when"))
    # asked_when may name any fact, so it is read once every fact is known.
    for name, (raw, line) in pending_conditions.items():
        condition = reader.condition(raw, line, facts, f"asked_when of '{name}'")
        if condition is not None:
            from dataclasses import replace

            facts[name] = replace(facts[name], asked_when=condition)
    order = list(facts)
    for name, fact in facts.items():
        if fact.asked_when is None:
            continue
        from ionto_cds.language.model import facts_read

        for other in facts_read(fact.asked_when):
            if other == name or order.index(other) > order.index(name):
                reader.error(
                    fact.location.line if fact.location else None,
                    f"asked_when of '{name}' reads '{other}', which must be listed before it",
                )
    return FactCatalog(facts, tuple(groups))


def _read_fact(
    reader: Reader, name: str, e: LocatedMap, group_ids: list[str], drug_keys: tuple[str, ...]
) -> FactDef | None:
    what = f"fact '{name}'"
    line = e.line
    kind_raw = e.get("type")
    try:
        kind = FactType(str(kind_raw))
    except ValueError:
        kinds = ", ".join(t.value for t in FactType)
        reader.error(key_line(e, "type"), f"{what}: unknown type '{kind_raw}'"
                     f"{did_you_mean(str(kind_raw), [t.value for t in FactType])}; types: {kinds}")
        return None
    group = e.get("group")
    if group not in group_ids:
        reader.error(key_line(e, "group"), f"{what}: unknown group '{group}'"
                     f"{did_you_mean(str(group), group_ids)}; groups: {', '.join(group_ids)}")
    unit: str | None = None
    low = high = None
    values: tuple[str, ...] = ()
    if kind is FactType.QUANTITY:
        unit_raw = e.get("unit")
        if not isinstance(unit_raw, str):
            reader.error(line, f"{what}: a quantity needs 'unit:' (its default unit, e.g. kg)")
            return None
        from ionto_cds.units import ureg

        try:
            ureg.Unit(unit_raw)
        except Exception:
            reader.error(key_line(e, "unit"), f"{what}: unknown unit '{unit_raw}'")
            return None
        unit = unit_raw
        for key in ("min", "max"):
            if key in e:
                q = reader.quantity(e[key], key_line(e, key), unit, f"{what}: '{key}'")
                value = float(q.to(unit).magnitude) if q is not None else None
                low, high = (value, high) if key == "min" else (low, value)
    elif kind is FactType.INT:
        for key in ("min", "max"):
            if key in e:
                v = e[key]
                if isinstance(v, bool) or not isinstance(v, int):
                    reader.error(key_line(e, key), f"{what}: '{key}' must be a whole number")
                else:
                    low, high = (float(v), high) if key == "min" else (low, float(v))
    elif "min" in e or "max" in e:
        reader.error(line, f"{what}: 'min'/'max' only apply to int and quantity facts")
    if kind in (FactType.ENUM, FactType.LIST):
        if e.get("values_from") == "drugs":
            values = drug_keys
        elif "values_from" in e:
            reader.error(key_line(e, "values_from"), f"{what}: values_from takes 'drugs'")
        else:
            raw = reader.sequence(e.get("values"), key_line(e, "values"), f"{what}: 'values'")
            if raw is not None:
                if not raw or not all(isinstance(v, str) and _FACT_NAME.match(v) for v in raw):
                    reader.error(raw.line, f"{what}: values must be snake_case words")
                elif len(set(raw)) != len(raw):
                    reader.error(raw.line, f"{what}: values are listed twice")
                else:
                    values = tuple(raw)
    elif "values" in e or "values_from" in e:
        reader.error(line, f"{what}: 'values' only apply to enum and list facts")
    if kind is not FactType.QUANTITY and "unit" in e:
        reader.error(key_line(e, "unit"), f"{what}: only quantity facts take a unit")
    required = e.get("required", False)
    if not isinstance(required, bool):
        reader.error(key_line(e, "required"), f"{what}: 'required' takes true or false")
        required = False
    return FactDef(
        name=name,
        type=kind,
        label=reader.text(e, "label", what),
        help=reader.text(e, "help", what, required=False),
        group=str(group),
        unit=unit,
        minimum=low,
        maximum=high,
        values=values,
        required=required,
        location=reader.at(line),
    )


def _read_references(reader: Reader, doc: LocatedMap) -> dict[str, Reference]:
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
        e = reader.mapping(entry, line, what, ("citation", "url", "grade", "note"),
                           ("citation", "grade"))
        if e is None:
            continue
        out[key] = Reference(
            key=key,
            citation=reader.text(e, "citation", what),
            url=reader.text(e, "url", what, required=False) or None,
            grade=reader.text(e, "grade", what),
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


def _read_rule_list(
    reader: Reader, doc: LocatedMap, catalog: FactCatalog, references: Mapping[str, Reference],
    drug_keys: tuple[str, ...], ids: list[tuple[str, Location]],
) -> list[Rule]:
    raw = doc.get("rules")
    if raw is None:
        return []
    items = reader.sequence(raw, key_line(doc, "rules"), "'rules'")
    rules: list[Rule] = []
    for i, item in enumerate(items or []):
        if isinstance(item, LocatedMap) and isinstance(item.get("id"), str):
            ids.append((item["id"], reader.at(item.line)))
        rule = _read_rule(reader, item, item_line(items, i), catalog, references, drug_keys)
        if rule is not None:
            rules.append(rule)
    return rules


def _read_rule(
    reader: Reader, item: Any, line: int | None, catalog: FactCatalog,
    references: Mapping[str, Reference], drug_keys: tuple[str, ...],
) -> Rule | None:
    required = ("id", "title", "severity", "applies_to", "when", "rationale", "action",
                "references", "metadata")
    e = reader.mapping(item, line, "a rule", _RULE_KEYS, required)
    if e is None:
        return None
    rule_id = e.get("id")
    what = f"rule '{rule_id}'"
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        reader.error(key_line(e, "id"), f"rule id '{rule_id}' must be kebab-case, e.g. metal-iud")
    severity_raw = e.get("severity")
    try:
        severity = Severity(str(severity_raw))
    except ValueError:
        names = [s.value for s in Severity]
        reader.error(key_line(e, "severity"), f"{what}: bad severity '{severity_raw}'"
                     f"{did_you_mean(str(severity_raw), names)}; use one of: {', '.join(names)}")
        severity = Severity.PRECAUTION
    targets = reader.text_list(e, "applies_to", what)
    allowed_targets = (*sorted(ALL_MODALITIES), *drug_keys)
    raw_targets = e.get("applies_to")
    for i, target in enumerate(targets):
        if target not in allowed_targets:
            reader.error(item_line(raw_targets, i), f"{what}: applies_to '{target}' is neither a "
                         f"modality nor a drug{did_you_mean(target, allowed_targets)}; use "
                         f"{', '.join(allowed_targets)}")
    if "applies_to" in e and not targets:
        reader.error(key_line(e, "applies_to"), f"{what}: applies_to needs at least one entry")
    condition = reader.condition(e.get("when"), key_line(e, "when"), catalog.facts, f"{what}: when")
    refs = check_references(reader, e, what, references) if "references" in e else ()
    metadata = _read_metadata(reader, e, what)
    effect = _read_effect(reader, e, what)
    if condition is None or metadata is None or not isinstance(rule_id, str):
        return None
    return Rule(
        id=rule_id,
        title=reader.text(e, "title", what),
        severity=severity,
        applies_to=frozenset(targets),
        when=condition,
        rationale=reader.text(e, "rationale", what),
        action=reader.text(e, "action", what),
        references=refs,
        metadata=metadata,
        effect=effect,
        location=reader.at(e.line),
    )


def _read_metadata(reader: Reader, e: LocatedMap, what: str) -> RuleMetadata | None:
    if "metadata" not in e:
        return None
    m = reader.mapping(e["metadata"], key_line(e, "metadata"), f"{what}: metadata",
                       _METADATA_KEYS, _METADATA_KEYS)
    if m is None:
        return None
    return RuleMetadata(
        version=str(m.get("version", "")),
        author=str(m.get("author", "")),
        last_reviewed=str(m.get("last_reviewed", "")),
    )


def _read_effect(reader: Reader, e: LocatedMap, what: str) -> dict[str, Any]:
    if "effect" not in e:
        return {}
    effect = reader.mapping(e["effect"], key_line(e, "effect"), f"{what}: effect", ("set",),
                            ("set",))
    if effect is None:
        return {}
    settings = reader.mapping(effect.get("set"), key_line(effect, "set"), f"{what}: effect set",
                              tuple(_EFFECT_UNITS))
    out: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key in _EFFECT_UNITS:
            q = reader.quantity(value, key_line(settings, key), _EFFECT_UNITS[key],
                                f"{what}: effect '{key}'")
            if q is not None:
                out[key] = q
    return out


def _check_unique_ids(ids: list[tuple[str, Location]], errors: list[RuleError]) -> None:
    """Every id written, even in rules that failed other checks, must be unique."""
    seen: dict[str, Location] = {}
    for rule_id, where in ids:
        if rule_id in seen:
            errors.append(RuleError(where, f"duplicate rule id '{rule_id}' (first at "
                                    f"{seen[rule_id]}): every rule needs its own id"))
        else:
            seen[rule_id] = where


__all__ = ["LoadReport", "LocatedList", "RuleSource", "packaged_rules_dir", "read_rules"]
