"""A FHIR R4 Bundle checked with the fhir.resources models: every problem names its entry
(resource type and id) and field.

fhir.resources 8 ships R5 as its default models and R4B (4.3) as ``fhir.resources.R4B``; R4B
keeps the R4 (4.0.1) shape of every resource read here (Condition, Device, Procedure,
Observation, Patient, QuestionnaireResponse, ServiceRequest), so R4 data validates with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from ionto_cds.errors import FhirBundleError, FhirProblem, quote

READ_TYPES = ("collection", "transaction", "searchset", "batch")
"""Bundle types whose entries are read as the patient's record."""


def is_bundle(data: object) -> bool:
    """True when parsed JSON is a FHIR Bundle (detected by its resourceType)."""
    return isinstance(data, Mapping) and data.get("resourceType") == "Bundle"


def entry_name(entry: object, index: int) -> str:
    """How a message names one entry: 'entry 3 (Condition/c1)'."""
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    if isinstance(resource, Mapping):
        rtype = resource.get("resourceType", "?")
        rid = resource.get("id")
        return f"entry {index} ({rtype}/{rid})" if rid else f"entry {index} ({rtype})"
    return f"entry {index}"


def _field(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) if loc else ""


def _problem(data: Mapping[str, Any], error: Mapping[str, Any]) -> FhirProblem:
    loc = tuple(error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        message = "expected an object (FHIR complex type), got text"
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int) and loc[2] == "resource":
        entries = data.get("entry") or []
        entry = entries[loc[1]] if loc[1] < len(entries) else None
        return FhirProblem(entry_name(entry, loc[1]), _field(loc[3:]), message)
    return FhirProblem("Bundle", _field(loc), message)


def validate_bundle(data: object, source: str) -> Bundle:
    """The Bundle model of parsed JSON, or :class:`FhirBundleError` listing every problem."""
    if not isinstance(data, Mapping) or not is_bundle(data):
        found = data.get("resourceType") if isinstance(data, Mapping) else None
        raise FhirBundleError(source, [FhirProblem("(top)", "resourceType",
                                                   f"expected 'Bundle', got {quote(found)}")])
    problems = _entry_shape(data)
    if problems:
        raise FhirBundleError(source, problems)
    try:
        bundle = Bundle.model_validate(dict(data))
    except ValidationError as exc:
        raise FhirBundleError(source, [_problem(data, e) for e in exc.errors()]) from None
    except (KeyError, TypeError, ValueError) as exc:  # the models' own checks, not pydantic's
        raise FhirBundleError(source, [FhirProblem("Bundle", "", f"not valid FHIR: {exc}")]
                              ) from None
    if bundle.type not in READ_TYPES:
        raise FhirBundleError(source, [FhirProblem("Bundle", "type", f"a {quote(bundle.type)} "
                                                   f"bundle is not read: use one of "
                                                   f"{', '.join(READ_TYPES)}")])
    return bundle


def _entry_shape(data: Mapping[str, Any]) -> list[FhirProblem]:
    """Entries without a resource or resourceType (the models would name no resource)."""
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        return [FhirProblem("Bundle", "entry", "must be a list of entries")]
    problems = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"),
                                                               str):
            problems.append(FhirProblem(f"entry {i}", "resource", "each entry needs a resource "
                                        "with a resourceType"))
        elif not _known_type(resource["resourceType"]):
            problems.append(FhirProblem(entry_name(entry, i), "resourceType",
                                        f"{quote(resource['resourceType'])} is not a FHIR R4 "
                                        "resource type"))
    return problems


def _known_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError):
        return False
    return name[:1].isupper()


def bundle_resources(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resources of a validated bundle's JSON, in entry order."""
    return [dict(e["resource"]) for e in data.get("entry", [])]
