"""Mutation testing of a rule set against its vignettes (``ionto-cds test --mutants``).

A mutant is the rule set with one semantic edit (:mod:`~ionto_cds.analysis.mutants_operators`):
a severity changed, a condition part dropped, a threshold or limit halved or doubled, ... Each
is read by the real reader from the parsed documents (a mutant that does not load is
*invalid*), and the vignettes run against it until one fails (*killed*). A survivor that gives
every patient of a fixed fictional cohort the same outcome as the original is *equivalent*
(evidence, not a proof). The score is killed / (valid - equivalent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ionto_cds.analysis.cases import Case, CaseResult, read_cases, run_case
from ionto_cds.analysis.mutants_cohort import CohortMaker, build_cohort
from ionto_cds.analysis.mutants_edit import Mutant
from ionto_cds.analysis.mutants_operators import generate
from ionto_cds.analysis.mutants_run import Result, Status, Work, judge_survivors, run_mutants
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import RuleSetError
from ionto_cds.language.loader import load_documents, read_course, read_documents
from ionto_cds.language.packaged import packaged_rules_dir

PATIENTS = 1500
"""Fictional patients a survivor is compared on."""
TIMEOUT = 300.0
"""Seconds a worker pool may go without giving a result before it is stopped."""


@dataclass(frozen=True)
class MutationReport:
    """The outcome of mutation testing: failing vignettes (then nothing else), or every
    mutant's result."""

    folder: Path
    vignettes: int
    failures: tuple[CaseResult, ...]
    results: tuple[Result, ...]
    patients: int

    def count(self, *statuses: Status) -> int:
        """How many mutants ended in one of these statuses."""
        return sum(r.status in statuses for r in self.results)

    @property
    def score(self) -> float:
        """Killed (crashes included) over valid, non-equivalent mutants, as a percentage (100
        when there is nothing to kill)."""
        killed = self.count(Status.KILLED, Status.CRASHED)
        judged = killed + self.count(Status.SURVIVED, Status.TIMED_OUT)
        return 100.0 * killed / judged if judged else 100.0

    def listed(self, status: Status) -> list[Result]:
        """The mutants of one status, by file, line and words."""
        return sorted((r for r in self.results if r.status is status),
                      key=lambda r: (r.mutant.file, r.mutant.line or 0, r.mutant.words))

    def render(self) -> str:
        """The report as printed: counts, score, survivors and equivalents in clinical words."""
        if self.failures:
            lines = [f"{len(self.failures)} of {self.vignettes} vignettes fail on the unmutated "
                     "rules: fix them before mutation testing."]
            for failed in self.failures:
                lines += [f"FAIL  {failed.case.id}",
                          *(f"      {failed.case.location}: {p}" for p in failed.problems)]
            return "\n".join(lines)
        return "\n".join(self._summary() + self._sections())

    def _summary(self) -> list[str]:
        valid = len(self.results) - self.count(Status.INVALID)
        judged = valid - self.count(Status.EQUIVALENT)
        killed = self.count(Status.KILLED, Status.CRASHED)
        lines = [
            f"mutation testing of {self.folder}: {self.vignettes} vignettes pass on the "
            "unmutated rules",
            f"{len(self.results)} mutants: {self.count(Status.INVALID)} invalid (do not load), "
            f"{killed} killed, {self.count(Status.EQUIVALENT)} equivalent, "
            f"{self.count(Status.SURVIVED)} survived"
            + (f", {self.count(Status.TIMED_OUT)} timed out"
               if self.count(Status.TIMED_OUT) else ""),
            f"mutation score: {self.score:.1f}% ({killed} killed of {judged} valid, "
            "non-equivalent mutants)",
        ]
        survivors = Counter(r.mutant.operator for r in self.listed(Status.SURVIVED))
        if survivors:
            lines.append("survivors by operator: " + ", ".join(
                f"{name} {n}" for name, n in sorted(survivors.items(),
                                                    key=lambda item: (-item[1], item[0]))))
        return lines

    def _sections(self) -> list[str]:
        lines: list[str] = []
        sections = (
            (Status.SURVIVED, "survivors: add a vignette that pins what they change",
             "no vignette noticed"),
            (Status.EQUIVALENT, f"equivalent on {self.patients} fictional patients (not a "
             "proof)", f"equivalent on {self.patients} fictional patients"),
            (Status.CRASHED, "crashed the engine (counted as killed; a bug to report)", ""),
            (Status.TIMED_OUT, "timed out (not run)", ""),
        )
        for status, heading, said in sections:
            found = self.listed(status)
            if not found:
                continue
            lines += ["", f"{heading}:"]
            for r in found:
                why = "; ".join(x for x in (said, r.detail) if x)
                lines.append(f"  {r.mutant.where}  {r.mutant.words}" + (f" — {why}"
                                                                         if why else ""))
        return lines


def mutation_test(directory: str | Path | None, cohort: CohortMaker, *, jobs: int = 1,
                  patients: int | None = None, timeout: float = TIMEOUT,
                  cases: Sequence[Case] | None = None) -> MutationReport:
    """Mutation-test a rules folder (the packaged rules by default) against its vignettes
    (``cases``, else those of its ``cases/`` folder).

    ``cohort`` makes the fictional cohort survivors are compared on (``fictional_cohort`` of
    :mod:`ionto_cds.cohort.synthetic`), of ``patients`` (:data:`PATIENTS` by default).
    Raises :class:`~ionto_cds.errors.RuleSetError` when the unmutated rules or the vignettes
    cannot be read.
    """
    folder = Path(directory) if directory is not None else packaged_rules_dir()
    patients = PATIENTS if patients is None else patients
    documents, unreadable = load_documents(folder)
    course = read_course(folder)
    report = read_documents(documents, folder, course, unreadable)
    if report.source is None:
        raise RuleSetError(report.errors)
    original = RuleSet(report.source)
    if cases is None:
        found, errors = read_cases(folder / "cases")
        if errors:
            raise RuleSetError(errors)
        cases = found
    failures = tuple(r for r in (run_case(c, original) for c in cases) if not r.passed)
    if failures:
        return MutationReport(folder, len(cases), failures, (), patients)
    mutants: list[Mutant] = generate(documents)
    work = Work(documents, folder, course, tuple(cases), mutants)
    results = run_mutants(work, jobs, timeout)
    if any(r.status is Status.SURVIVED for r in results):
        work.cohort = build_cohort(cohort, original, cases, patients)
        results = judge_survivors(work, results, jobs, timeout)
    return MutationReport(folder, len(cases), (), tuple(results), patients)
