"""Run the vignettes against each mutant (until one fails), and survivors on the cohort.

Each mutant's documents are read by the real reader in memory and compiled into a RuleSet. The
vignettes are tried last killer first, so most mutants die on the first vignette or two;
whether a mutant is killed, survives or crashes the engine does not depend on that order, nor
on ``jobs`` (only which vignette killed it does). With ``jobs`` > 1 the mutants are shared, in
runs of neighbours, among forked worker processes; a pool that gives no result for ``timeout``
seconds is stopped and the mutants it still held are counted as timed out.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from ionto_cds.analysis.cases import Case, run_case
from ionto_cds.analysis.mutants_cohort import Cohort, first_difference
from ionto_cds.analysis.mutants_edit import Mutant, apply
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError, ProgramError
from ionto_cds.language.loader import CourseContext, read_documents
from ionto_cds.language.packaged import FACTS_FILE

CRASHES = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError)
"""What a loadable mutant may make the engine raise: a crash, counted as killed (and shown:
the engine should not crash on rules the loader accepts)."""

T = TypeVar("T")


class Status(StrEnum):
    """What became of a mutant."""

    INVALID = "invalid"
    KILLED = "killed"
    CRASHED = "crashed"
    SURVIVED = "survived"
    EQUIVALENT = "equivalent"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Result:
    """A mutant's status and what says why (the vignette that failed, the load error, the
    first fictional patient whose outcome changed)."""

    mutant: Mutant
    status: Status
    detail: str = ""


@dataclass
class Work:
    """Everything a trial needs, set once before the workers fork (so only indexes travel)."""

    documents: Mapping[str, Any]
    folder: Path
    course: CourseContext
    cases: Sequence[Case]
    mutants: Sequence[Mutant]
    order: list[int] = field(default_factory=list)
    cohort: Cohort | None = None


_WORK: Work | None = None


def _work() -> Work:
    if _WORK is None:
        raise ProgramError("mutation testing ran a trial before its work was set")
    return _WORK


def ruleset_of(work: Work, mutant: Mutant) -> RuleSet | str:
    """The mutant's RuleSet, or why it does not load (the first error)."""
    report = read_documents(apply(work.documents, mutant), work.folder, work.course)
    if report.source is None:
        return str(report.errors[0]) if report.errors else "does not load"
    try:
        return RuleSet(report.source)
    except IontoError as exc:
        return str(exc)


def trial(index: int) -> tuple[int, Status, str]:
    """Whether the vignettes kill mutant ``index``. The vignette that fails is moved to the
    front of this process's order (the next mutant, of the same rule or protocol, is likely
    killed by it too). A crash counts only when no vignette fails: then every vignette has
    run, and the first crash in file order is the one shown."""
    work = _work()
    rs = ruleset_of(work, work.mutants[index])
    if isinstance(rs, str):
        return index, Status.INVALID, rs
    crashes: dict[int, str] = {}
    for k in list(work.order):
        case = work.cases[k]
        try:
            result = run_case(case, rs)
        except CRASHES as exc:
            crashes[k] = f"{case.id}: {type(exc).__name__}: {exc}"
            continue
        if not result.passed:
            work.order.remove(k)
            work.order.insert(0, k)
            return index, Status.KILLED, f"{case.id}: {result.problems[0]}"
    if crashes:
        return index, Status.CRASHED, crashes[min(crashes)]
    return index, Status.SURVIVED, ""


def equivalence(index: int) -> tuple[int, Status, str]:
    """Whether surviving mutant ``index`` changes any fictional patient's outcome."""
    work = _work()
    rs = ruleset_of(work, work.mutants[index])
    if isinstance(rs, str) or work.cohort is None:
        return index, Status.SURVIVED, ""
    try:
        found = first_difference(work.cohort, rs, work.mutants[index].file != FACTS_FILE)
    except CRASHES as exc:
        return index, Status.SURVIVED, f"the engine fails on the cohort: {type(exc).__name__}"
    if found is None:
        return index, Status.EQUIVALENT, ""
    return index, Status.SURVIVED, found


def run_mutants(work: Work, jobs: int, timeout: float) -> list[Result]:
    """Every mutant's result, in the order of ``work.mutants`` (equivalence not yet judged)."""
    global _WORK
    _WORK = work
    work.order = list(range(len(work.cases)))
    found = _map("trial", range(len(work.mutants)), jobs, timeout)
    return [Result(m, *found.get(i, (Status.TIMED_OUT, ""))) for i, m in enumerate(work.mutants)]


def judge_survivors(work: Work, results: list[Result], jobs: int, timeout: float
                    ) -> list[Result]:
    """The results with each survivor compared with the original on the cohort."""
    global _WORK
    _WORK = work
    survivors = [i for i, r in enumerate(results) if r.status is Status.SURVIVED]
    judged = _map("equivalence", survivors, jobs, timeout)
    return [Result(r.mutant, *judged.get(i, (Status.TIMED_OUT, "")))
            if r.status is Status.SURVIVED else r for i, r in enumerate(results)]


TASKS: Mapping[str, Callable[[int], tuple[int, Status, str]]] = {
    "trial": trial, "equivalence": equivalence}


def _batch(job: tuple[str, list[int]]) -> list[tuple[int, Status, str]]:
    """One worker's share: a task on a few indexes (the task goes by name, so only names and
    indexes are pickled)."""
    task = TASKS[job[0]]
    return [task(index) for index in job[1]]


def _map(task: str, indexes: Iterable[int], jobs: int, timeout: float
         ) -> dict[int, tuple[Status, str]]:
    """A task of :data:`TASKS` on every index, in this process or in ``jobs`` forked workers;
    an index with no result (the pool stalled for ``timeout`` seconds) is left out."""
    todo = list(indexes)
    out: dict[int, tuple[Status, str]] = {}
    if jobs <= 1 or len(todo) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for index, status, detail in _batch((task, todo)):
            out[index] = (status, detail)
        return out
    size = max(1, min(16, len(todo) // (8 * jobs)))
    batches = [(task, todo[i:i + size]) for i in range(0, len(todo), size)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = pool.imap_unordered(_batch, batches)
        try:
            for _ in batches:
                for index, status, detail in results.next(timeout):
                    out[index] = (status, detail)
        except multiprocessing.TimeoutError:
            pool.terminate()
    return out
