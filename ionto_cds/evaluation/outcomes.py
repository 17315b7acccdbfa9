"""The domain states of an evaluation: decisions, protocol-walk outcomes, finding roles."""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    """The outcomes of an assessment (fixed public contract)."""

    NOT_ELIGIBLE = "not_eligible"
    REFER = "refer"
    NEEDS_INFORMATION = "needs_information"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
    ELIGIBLE = "eligible"

    @property
    def words(self) -> str:
        """The decision in words, e.g. 'Not eligible'."""
        return self.value.replace("_", " ").capitalize()

    @property
    def allows_treatment(self) -> bool:
        """True for the two decisions that come with a plan."""
        return self in (Decision.ELIGIBLE, Decision.ELIGIBLE_WITH_PRECAUTIONS)


DECISIONS: tuple[Decision, ...] = tuple(Decision)
"""Decisions by code (the frame evaluator's decision column holds these indexes)."""


class StepOutcome(StrEnum):
    """What came of one protocol looked at while choosing the plan."""

    NO_MATCH = "does not match"
    UNDECIDED = "undecided"
    EXCLUDED_BY_RULE = "excluded by rule"
    EXCLUDED_BY_LIMIT = "excluded by limit"
    PENDING = "pending questions"
    OPEN_REFERRAL = "referral question open"
    ELECTRODE_TOO_SMALL = "electrode too small"
    CHOSEN = "chosen"
    REFERRAL = "referral"
    NOT_REACHED = "not reached"


class FindingRole(StrEnum):
    """Why a finding is shown: it bears on the decision, or on one protocol."""

    DECISION = "decision"
    EXCLUDES = "excludes"
    MUST_ANSWER = "must answer"
    APPLIES = "applies"

    def outcome_text(self, protocol: str | None) -> str:
        """The finding's outcome as shown in reports ('' for decision findings)."""
        return {
            FindingRole.DECISION: "",
            FindingRole.EXCLUDES: f"excludes {protocol}",
            FindingRole.MUST_ANSWER: "must be answered before this protocol",
            FindingRole.APPLIES: f"applies to {protocol}",
        }[self]


class Basis(StrEnum):
    """What a row of the decision table reads (the pathway draws an edge from each)."""

    ABSOLUTE = "absolute"
    REQUIRED = "required"
    SOFT = "soft"
    WALK = "walk"
    NOTHING = "nothing"
