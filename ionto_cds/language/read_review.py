"""Read the ``review:`` block of a rule, protocol or drug: status, reviewer and dates."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ionto_cds.language.model import UNREVIEWED, Review, ReviewStatus
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import REVIEW
from ionto_cds.language.yamlsource import LocatedMap, key_line
from ionto_cds.suggestions import did_you_mean

REVIEW_STATUSES = tuple(s.value for s in ReviewStatus)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""How a review date is written: YYYY-MM-DD."""
_DATE = re.compile(DATE_PATTERN)


def read_review(reader: Reader, entry: LocatedMap, what: str) -> Review:
    """An entry's review; without a ``review:`` block it is a draft (never released)."""
    if "review" not in entry:
        return UNREVIEWED
    m = reader.mapping(entry["review"], key_line(entry, "review"), f"{what}: review",
                       REVIEW.keys, REVIEW.required)
    if m is None:
        return UNREVIEWED
    raw = m.get("status")
    if raw not in REVIEW_STATUSES:
        reader.error(key_line(m, "status"), f"{what}: review status '{raw}' is not one of "
                     f"{', '.join(REVIEW_STATUSES)}{did_you_mean(str(raw), REVIEW_STATUSES)}")
        return UNREVIEWED
    status = ReviewStatus(raw)
    reviewed_by = reader.text(m, "reviewed_by", f"{what}: review", required=False)
    reviewed_on = _date(reader, m, "reviewed_on", what)
    next_review = _date(reader, m, "next_review", what)
    if status is not ReviewStatus.DRAFT:
        for key, value in (("reviewed_by", reviewed_by), ("reviewed_on", reviewed_on)):
            if not value and key not in m:
                reader.error(m.line, f"{what}: a {status.value} entry names who decided and "
                             f"when: add '{key}' to its review")
    if reviewed_on and next_review and next_review <= reviewed_on:
        reader.error(key_line(m, "next_review"), f"{what}: next_review {next_review} must come "
                     f"after reviewed_on {reviewed_on}")
    return Review(status, reviewed_by, reviewed_on, next_review)


def _date(reader: Reader, m: LocatedMap, key: str, what: str) -> date | None:
    if key not in m:
        return None
    value: Any = m[key]
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = "nothing" if value is None else f"'{value}'"
    reader.error(key_line(m, key), f"{what}: review '{key}' must be a date written "
                 f"YYYY-MM-DD, e.g. 2027-12-01, got {shown}")
    return None
