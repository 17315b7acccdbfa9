"""`ionto-cds lint` of the FHIR mapping beside a rules folder (rules/fhir/mapping.yaml)."""

from __future__ import annotations

from ionto_cds.errors import Location, RuleError
from ionto_cds.language.fhir_mapping import MAPPING_FILE
from ionto_cds.language.loader import RuleSource
from ionto_cds.language.read_fhir_mapping import read_fhir_mapping


def lint_fhir_mapping(source: RuleSource) -> list[RuleError]:
    """Every mistake in the folder's FHIR mapping (none when the folder has no mapping)."""
    path = source.directory / MAPPING_FILE
    if not path.is_file():
        return []
    mapping, errors = read_fhir_mapping(path, source.catalog)
    if mapping is not None and mapping.version != source.version:
        errors.append(RuleError(Location(str(path)), f"version '{mapping.version}' differs from "
                                f"the rules' ('{source.version}'): every file of a ruleset "
                                "carries the same version"))
    return errors
