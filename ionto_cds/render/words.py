"""How a finding's severity and truth read to clinicians, for every renderer (one place)."""

from __future__ import annotations

SEVERITY_WORDS = {"absolute": "absolute contraindication",
                  "relative": "relative contraindication", "precaution": "precaution"}
"""A rule's severity in words (the rule files' keys)."""

STATUS_WORDS = {"true": "applies", "unknown": "may apply (unanswered)",
                "false": "does not apply"}
"""A finding's three-valued status in words."""


def finding_words(severity: str, status: str) -> str:
    """E.g. 'absolute contraindication, may apply (unanswered)'."""
    return f"{SEVERITY_WORDS.get(severity, severity)}, {STATUS_WORDS.get(status, status)}"
