"""Assess one patient, or a frame of patients, against a rule set."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.evaluation.answers import FactSet
from ionto_cds.evaluation.frame_run import CHUNK_ROWS
from ionto_cds.evaluation.frame_run import evaluate_frame as _evaluate_frame
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.one_patient import evaluate_patient


def assess(answers: Mapping[str, object] | FactSet, ruleset: RuleSet | None = None) -> Assessment:
    """Assess one patient's answers against a rule set (the packaged rules by default).

    Raises :class:`~ionto_cds.errors.PatientDataError` for answers that cannot be used.
    """
    rs = ruleset if ruleset is not None else default_ruleset()
    factset = answers if isinstance(answers, FactSet) else rs.validate(answers)
    return Assessment.of(evaluate_patient(rs.scalar, factset, rs.plan), factset, rs)


def evaluate_frame(frame: pd.DataFrame, ruleset: RuleSet | None = None,
                   chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Assess every row of a canonical frame (see :mod:`ionto_cds.evaluation.frame_run`): the
    same decision, findings, missing facts, protocol and dose text as :func:`assess`, each
    result column a pandas categorical of those texts ("" for none)."""
    rs = ruleset if ruleset is not None else default_ruleset()
    return _evaluate_frame(frame, rs.program, rs.plan, chunk_rows, rs.frame_plans)


def assessment_row(a: Assessment) -> tuple[str, ...]:
    """One assessment as the text cells of the frame evaluator's result columns
    (:data:`~ionto_cds.evaluation.frame_collect.RESULT_COLUMNS`)."""
    plan = a.protocol
    dose = plan.to_dict() if plan is not None else {}
    return (
        a.decision.value,
        SEPARATOR.join(f.rule.id for f in a.findings),
        SEPARATOR.join(a.missing),
        plan.protocol.id if plan is not None else "",
        a.referral.id if a.referral is not None else "",
        dose.get("current") or "",
        dose.get("duration") or "",
        dose.get("dose") or "",
        dose.get("current_density") or "",
    )
