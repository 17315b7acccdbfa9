"""Session ids that make logging idempotent: a client's own id, or one derived from the content."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

UID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}")
"""A client's session id: up to 100 letters, digits and ``._:@/-`` (a UUID fits)."""

CONTENT_COLUMNS = (
    "course_id", "patient_id", "date", "protocol", "site", "current_mA", "duration_min",
    "dose_mA_min", "electrode_area_cm2", "polarity", "solution", "tolerance", "adverse_effects",
    "hdss_before", "hdss_after", "pain_after", "notes",
)
"""The stored columns that say what a session was (not when or under which rules it was logged)."""


def content_uid(row: Mapping[str, object]) -> str:
    """The id of a session that came without one: a digest of what was given, so the same
    session logged twice (a double click, a retried request) has the same id."""
    values = [_plain(row.get(column)) for column in CONTENT_COLUMNS]
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "content:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(value: object) -> object:
    # a REAL column gives back 15.0 for 15, and the digest must not tell them apart
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def uid_problem(value: object) -> str | None:
    """Why a client's session id cannot be used, or None."""
    if isinstance(value, str) and UID_PATTERN.fullmatch(value):
        return None
    return ("a session id is up to 100 letters, digits and ._:@/- (e.g. a UUID), starting with a "
            f"letter or digit, got {value!r}")
