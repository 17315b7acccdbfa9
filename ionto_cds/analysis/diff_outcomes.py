"""How outcomes differ between two rule sets, for any set of patients: vignettes, a cohort or
saved decision records. Outcomes are the frame evaluator's result columns (decision, findings,
questions, protocol, referral, current, duration, dose, density), whichever evaluator made them,
so this module compares what the engine said and never decides anything itself."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS
from ionto_cds.evaluation.frame_text import SEPARATOR
from ionto_cds.evaluation.outcomes import Decision

Row = Mapping[str, str]
"""One patient's outcome: RESULT_COLUMNS to their text cells."""
DOSE_COLUMNS = ("current", "duration", "dose", "current_density")


def _words(decision: str) -> str:
    try:
        return Decision(decision).words.lower()
    except ValueError:
        return decision or "none"


def _ids(cell: str) -> set[str]:
    return {x for x in str(cell).split(SEPARATOR) if x}


def row_changes(old: Row, new: Row) -> list[tuple[str, str]]:
    """(category, words) for each way one patient's outcome moved; empty when it did not.

    The category groups patients for counting (``decision eligible → not eligible``); the
    words say it for this patient."""
    out: list[tuple[str, str]] = []
    if old["decision"] != new["decision"]:
        out.append((f"decision {_words(old['decision'])} → {_words(new['decision'])}",
                    f"decision was {old['decision']}, now {new['decision']}"))
    for column in ("protocol", "referral"):
        if old[column] != new[column]:
            out.append((f"{column} {old[column] or 'none'} → {new[column] or 'none'}",
                        f"{column} was {old[column] or 'none'}, now {new[column] or 'none'}"))
    if old["protocol"] == new["protocol"] and new["protocol"]:
        for column in DOSE_COLUMNS:
            if old[column] != new[column]:
                what = column.replace("_", " ")
                out.append((f"{new['protocol']}: {what} {old[column] or 'none'} → "
                            f"{new[column] or 'none'}",
                            f"{what} was {old[column] or 'none'}, now {new[column] or 'none'}"))
    before, after = _ids(old["findings"]), _ids(new["findings"])
    out += [(f"finding '{r}' now shown", f"+finding {r}") for r in sorted(after - before)]
    out += [(f"finding '{r}' no longer shown", f"-finding {r}") for r in sorted(before - after)]
    asked, was = _ids(new["missing"]), _ids(old["missing"])
    out += [(f"question '{q}' now asked", f"+question {q}") for q in sorted(asked - was)]
    out += [(f"question '{q}' no longer asked", f"-question {q}") for q in sorted(was - asked)]
    return out


@dataclass
class Impact:
    """How the outcomes of one set of patients moved: counts per kind of change, the patients
    in each (up to ``examples``), and every changed patient with what changed."""

    label: str
    compared: int = 0
    changed: dict[str, str] = field(default_factory=dict)
    """patient id: every change, in words."""
    decisions_changed: int = 0
    categories: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    only_old: list[str] = field(default_factory=list)
    """Patients the old rules could assess and the new cannot (answers no longer valid)."""
    only_new: list[str] = field(default_factory=list)

    def add(self, key: str, old: Row, new: Row) -> None:
        """Compare one patient's two outcomes."""
        self.compared += 1
        changes = row_changes(old, new)
        if not changes:
            return
        self.changed[key] = "; ".join(words for _, words in changes)
        if old["decision"] != new["decision"]:
            self.decisions_changed += 1
        for category, _ in changes:
            self.categories[category].append(key)

    @property
    def moved(self) -> bool:
        """True when any outcome changed, or a patient can be assessed by one rule set only."""
        return bool(self.changed or self.only_old or self.only_new)

    def lines(self, examples: int, every_patient: bool) -> list[str]:
        """The impact as Markdown: counts per change with examples, then (when
        ``every_patient``) each changed patient."""
        out = [f"{len(self.changed)} of {self.compared} {self.label} change outcome "
               f"({self.decisions_changed} change decision)."]
        order = sorted(self.categories.items(), key=lambda kv: (not kv[0].startswith(
            "decision"), -len(kv[1]), kv[0]))
        for category, keys in order:
            shown = ", ".join(keys[:examples]) + (", ..." if len(keys) > examples else "")
            out.append(f"- {category}: {len(keys)} (e.g. {shown})")
        for label, keys in (("assessed only by the old rules (answers the new rules refuse)",
                             self.only_old),
                            ("assessed only by the new rules", self.only_new)):
            if keys:
                shown = ", ".join(keys[:examples]) + (", ..." if len(keys) > examples else "")
                out.append(f"- {label}: {len(keys)} (e.g. {shown})")
        if every_patient and self.changed:
            out.append("")
            out += [f"- `{key}`: {words}" for key, words in self.changed.items()]
        return out


def impact_of_rows(label: str, old: Mapping[str, Row | None], new: Mapping[str, Row | None]
                   ) -> Impact:
    """Compare outcomes keyed by patient; None is a patient one rule set could not assess."""
    impact = Impact(label)
    for key in dict.fromkeys([*old, *new]):
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None:
            impact.add(key, before, after)
        elif before is not None:
            impact.only_old.append(key)
        elif after is not None:
            impact.only_new.append(key)
    return impact


def impact_of_frames(label: str, old: pd.DataFrame, new: pd.DataFrame, key: str) -> Impact:
    """Compare two screened frames (a key column + RESULT_COLUMNS), rows matched on ``key``:
    only the rows whose result cells differ are compared in detail."""
    cols = [key, *RESULT_COLUMNS]
    a = old[cols].astype(str).set_index(key)
    b = new[cols].astype(str).set_index(key)
    both = a.index.intersection(b.index, sort=False)
    impact = Impact(label, only_old=[str(k) for k in a.index.difference(b.index, sort=False)],
                    only_new=[str(k) for k in b.index.difference(a.index, sort=False)])
    left, right = a.loc[both], b.loc[both]
    differs = (left.to_numpy() != right.to_numpy()).any(axis=1)
    impact.compared = len(both) - int(differs.sum())
    for k, before, after in zip(left.index[differs], left[differs].to_dict("records"),
                                right[differs].to_dict("records"), strict=True):
        impact.add(str(k), before, after)
    return impact


def changes_table(impact: Impact) -> pd.DataFrame:
    """Every changed patient with what changed (for a CSV beside the report)."""
    return pd.DataFrame(list(impact.changed.items()), columns=["patient", "changes"])
