"""FHIR R4 input: a patient's answers read from a Bundle by rules/fhir/mapping.yaml."""

from ionto_cds.fhir.answers import FhirAnswers, RecordSource, answers_from_fhir

__all__ = ["FhirAnswers", "RecordSource", "answers_from_fhir"]
