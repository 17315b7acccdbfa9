"""Review status across a rule set: overdue reviews (lint warnings), drafts (no release) and a
summary for the catalogue and the release record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from ionto_cds.errors import Location, RuleError
from ionto_cds.language.loader import DRUGS_FILE, PROTOCOLS_FILE, RuleSource
from ionto_cds.language.model import Review, ReviewStatus


@dataclass(frozen=True)
class ReviewedEntry:
    """One rule, protocol or drug with its review."""

    kind: str  # "rule", "protocol" or "drug"
    id: str
    title: str
    review: Review
    location: Location


def reviewed_entries(source: RuleSource) -> list[ReviewedEntry]:
    """Every rule, protocol and drug of the rule set, the retired ones included."""
    out = [ReviewedEntry("rule", r.id, r.title, r.review, r.location)
           for r in (*source.rules, *source.retired_rules)]
    out += [ReviewedEntry("protocol", p.id, p.title, p.review,
                          p.location or Location(PROTOCOLS_FILE))
            for p in (*source.protocols, *source.retired_protocols)]
    out += [ReviewedEntry("drug", d.key, d.label, d.review, d.location or Location(DRUGS_FILE))
            for d in source.drugs.values()]
    return out


def overdue_warnings(source: RuleSource, today: date) -> list[RuleError]:
    """A warning for each entry whose next review date is before ``today``."""
    return [RuleError(e.location, f"{e.kind} '{e.id}' is overdue for review: next_review was "
                      f"{e.review.next_review}; review it and write the new dates")
            for e in reviewed_entries(source) if e.review.overdue(today)]


def release_errors(source: RuleSource) -> list[RuleError]:
    """Why the rule set cannot be released: every entry still a draft."""
    out = []
    for e in reviewed_entries(source):
        if e.review.status is ReviewStatus.DRAFT:
            why = "has no review block" if not e.review.written else "is a draft"
            out.append(RuleError(e.location, f"{e.kind} '{e.id}' {why}: a release holds only "
                                 "reviewed (or retired) entries; have it reviewed and write "
                                 "review: {status: reviewed, reviewed_by, reviewed_on, "
                                 "next_review}"))
    return out


@dataclass(frozen=True)
class ReviewSummary:
    """How many entries stand in each review status, and which are overdue or drafts."""

    counts: dict[str, int]
    overdue: tuple[str, ...]
    drafts: tuple[str, ...]
    retired: tuple[str, ...]
    next_due: date | None

    def lines(self) -> list[str]:
        """The summary in a few plain lines (Markdown bullets)."""
        counts = ", ".join(f"{n} {status}" for status, n in self.counts.items() if n)
        out = [f"- review status: {counts or 'no entries'}"]
        if self.next_due is not None:
            out.append(f"- next review due: {self.next_due.isoformat()}")
        for label, ids in (("overdue", self.overdue), ("drafts", self.drafts),
                           ("retired", self.retired)):
            if ids:
                out.append(f"- {label}: {', '.join(ids)}")
        return out


def review_summary(source: RuleSource, today: date) -> ReviewSummary:
    """Counts by status (rules, protocols and drugs together) with the overdue and draft ids."""
    entries = reviewed_entries(source)
    counts = Counter(e.review.status.value for e in entries)
    dues = [e.review.next_review for e in entries
            if e.review.next_review is not None and e.review.status is not ReviewStatus.RETIRED]
    return ReviewSummary(
        counts={s.value: counts.get(s.value, 0) for s in ReviewStatus},
        overdue=tuple(f"{e.kind} {e.id}" for e in entries if e.review.overdue(today)),
        drafts=tuple(f"{e.kind} {e.id}" for e in entries
                     if e.review.status is ReviewStatus.DRAFT),
        retired=tuple(f"{e.kind} {e.id}" for e in entries
                      if e.review.status is ReviewStatus.RETIRED),
        next_due=min(dues) if dues else None,
    )
