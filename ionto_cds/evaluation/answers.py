"""One patient's validated answers, with the questions that do not apply worked out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.errors import AnswerProblem, PatientDataError
from ionto_cds.evaluation.program import Derivation, Gate
from ionto_cds.evaluation.scalar import ScalarProgram
from ionto_cds.language.model import NOT_APPLICABLE, UNKNOWN, Truth


@dataclass(frozen=True)
class FactSet:
    """Validated answers: canonical values for answered facts; the rest are UNKNOWN.

    ``env`` is what conditions read: the answers plus NOT_APPLICABLE for questions that do not
    apply. ``unreadable`` names answers that were given but could not be read (a form keeps
    them as typed): they count as unanswered, and the decision never proceeds on them.
    """

    values: Mapping[str, Any]
    env: Mapping[str, Any]
    not_applicable: tuple[str, ...] = ()
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """The canonical answer, ``UNKNOWN`` or ``NOT_APPLICABLE``."""
        return self.env.get(name, UNKNOWN)


_FALSE, _TRUE = int(Truth.FALSE), int(Truth.TRUE)


def factset(scalar: ScalarProgram, values: Mapping[str, Any],
            unreadable: Mapping[str, str] | None = None) -> FactSet:
    """Wrap already-canonical values, working out which questions do not apply."""
    env = dict(values)
    not_applicable: list[str] = []
    # Applicability and derived facts may chain (tap_water_response needs tap_water_sessions);
    # catalog order puts what each reads first, so one pass in order suffices.
    for step in scalar.program.prepare:
        if isinstance(step, Gate):
            if (env.get(step.fact) is not NOT_APPLICABLE and scalar.truth(step.node, env) == _FALSE
                    and not (step.keeps_answer and step.fact in values)):
                not_applicable.append(step.fact)
                env[step.fact] = NOT_APPLICABLE
            continue
        value = derive(scalar, step, env)
        if value is not UNKNOWN:
            env[step.fact] = value
    made = object.__new__(FactSet)  # frozen: filled in one call (made for every patient)
    made.__dict__.update(values=dict(values), env=env, not_applicable=tuple(not_applicable),
                         unreadable=dict(unreadable) if unreadable else {})
    return made


def derive(scalar: ScalarProgram, step: Derivation, env: Mapping[str, Any]) -> Any:
    """A derived fact's value for one patient: the first true case's; UNKNOWN when a case
    before it is unknown, or when none is true and there is no ``otherwise``."""
    for node, value in step.cases:
        truth = scalar.truth(node, env)
        if truth == _TRUE:
            return value
        if truth != _FALSE:
            return UNKNOWN
    return UNKNOWN if step.otherwise is None else step.otherwise


def validate(scalar: ScalarProgram, answers: Mapping[str, object], source: str | None = None
             ) -> FactSet:
    """Check raw answers against the catalog and return them as a :class:`FactSet`.

    Raises :class:`PatientDataError` listing every bad answer, and every "yes" to a question
    that does not apply (pregnant, for a male patient).
    """
    catalog = scalar.program.catalog
    values = catalog.normalise(answers, source)
    answered = factset(scalar, values)
    contradictions = [
        AnswerProblem(
            name, values[name],
            f"is answered yes, but the question does not apply ({catalog.why_not_asked(name)}): "
            "correct the other answer or remove this one",
        )
        for name in answered.not_applicable
        if values.get(name) is True
    ]
    if contradictions:
        raise PatientDataError(contradictions, source)
    return answered
