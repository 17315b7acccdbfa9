"""One measurement run of whichever ionto-cds is importable (this checkout, or an older revision
put first on PYTHONPATH by engine_bench.py); prints the figures as JSON on stdout.

Measures one assessment (median and p99, a fully answered palmar patient and a sparse one),
and the frame evaluator on a fictional cohort (cold: a freshly loaded rule set's first call;
warm: best of 3) beside a hand-written numpy decision of the same packaged rules.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionto_cds import assess, load_ruleset

UNKNOWN, YES = 0.05, 0.03  # share of empty cells and of "yes" answers in the fictional cohort
SPARSE = {"age": 40, "indication": "hyperhidrosis", "site": "palms"}


def _layout() -> tuple[Callable[..., pd.DataFrame], Callable[..., pd.DataFrame]]:
    """fictional_cohort and evaluate_frame of the layered package, or of the flat one."""
    try:
        from ionto_cds import evaluate_frame
        from ionto_cds.cohort.synthetic import fictional_cohort

        return (lambda rs, n, **kw: fictional_cohort(rs.program, n, **kw)), evaluate_frame
    except ImportError:  # the flat layout before the layers (revision d5b2a13 and earlier)
        from ionto_cds.language.vectorised import evaluate_frame as old  # type: ignore[import-not-found]

        from ionto_cds.cohort import fictional_cohort  # type: ignore[attr-defined, no-redef]

        return (lambda rs, n, **kw: fictional_cohort(rs.catalog, n, **kw)), old


def _full_patient() -> dict[str, object]:
    """The fully answered palmar patient of the revision measured (its own examples folder,
    the worker's working directory: an older revision's rules do not know newer facts)."""
    import yaml

    answers: dict[str, object] = yaml.safe_load(
        (Path.cwd() / "examples" / "palmar-adult.yaml").read_text(encoding="utf-8"))
    return answers


def single_latency(answers: dict[str, object], repeats: int = 4000) -> tuple[float, float]:
    """Median and p99 of assess() in microseconds."""
    rs = load_ruleset()
    for _ in range(200):
        assess(answers, rs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        assess(answers, rs)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def baseline_decision(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Hand-written Kleene decision of the packaged general rules (the speed yardstick only).

    Truths: 0 false, 1 unknown, 2 true. No steering, missing facts or plans.
    """
    n = len(frame)

    def boolean(name: str, applies: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
        col = frame[name]
        t = np.where(col.isna().to_numpy(), 1, np.where(col.fillna(False).to_numpy(bool), 2, 0))
        return t if applies is None else np.where(applies, t, 0)

    def enum_is(name: str, values: tuple[str, ...]) -> np.ndarray[Any, Any]:
        col = frame[name]
        return np.where(col.isna().to_numpy(), 1, np.where(col.isin(values).to_numpy(), 2, 0))

    sex_not_male = 2 - enum_is("sex", ("male",))
    female_ok = sex_not_male != 0
    hyper = enum_is("indication", ("hyperhidrosis",))
    soles = enum_is("site", ("soles",))
    age = frame["age"].to_numpy(float)
    under6 = np.where(np.isnan(age), 1, np.where(age < 6, 2, 0))
    under18 = np.where(np.isnan(age), 1, np.where(age < 18, 2, 0))
    broken = boolean("broken_skin_at_site")
    shielded = boolean("broken_skin_can_be_shielded", broken != 0)
    iud = boolean("metal_iud", female_ok)
    absolute = [boolean(f) for f in (
        "pacemaker", "implanted_defibrillator", "other_implanted_electronic_device",
        "metal_implant_in_current_path", "epilepsy", "cardiac_disease", "thrombosis",
        "recent_scar_or_graft_at_site", "skin_condition_at_site", "skin_infection_at_site",
        "impaired_sensation_at_site", "malignancy_at_site")]
    absolute += [boolean("pregnant", female_ok), boolean("breastfeeding", female_ok),
                 np.minimum(iud, soles), np.minimum(broken, 2 - shielded), under6,
                 enum_is("site", ("face", "neck", "chest"))]
    soft = [np.minimum(iud, 2 - soles), boolean("fixed_dental_braces"),
            boolean("electrical_sensitivity"),
            np.minimum(hyper, boolean("secondary_hyperhidrosis_suspected", hyper != 0)),
            np.minimum(broken, shielded), under18, enum_is("site", ("back", "shoulder"))]
    worst_abs = np.max(absolute, axis=0)
    worst_soft = np.max(soft, axis=0)
    required = frame["indication"].isna().to_numpy() | frame["site"].isna().to_numpy()
    out = np.full(n, "eligible", dtype=object)
    out[worst_soft > 0] = "eligible_with_precautions"
    out[(worst_abs == 1) | required] = "needs_information"
    out[worst_abs == 2] = "not_eligible"
    return out


def timed(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Best wall time of a few runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc sees numpy and pandas buffers) while fn runs."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def measure(sizes: list[int], memory: bool) -> dict[str, Any]:
    """Every figure of one run."""
    cohort, evaluate = _layout()
    med, p99 = single_latency(_full_patient())
    sparse_med, sparse_p99 = single_latency(SPARSE)
    rs = load_ruleset()
    big = cohort(rs, max(sizes), seed=2026, unknown=UNKNOWN, yes=YES)
    frames = []
    for size in sizes:
        frame = big.head(size).copy()
        fresh = load_ruleset()  # plans are cached per rule set: a fresh one makes cold cold
        gc.collect()
        start = time.perf_counter()
        evaluate(frame, fresh)
        cold = time.perf_counter() - start
        warm = timed(lambda f=frame, r=fresh: evaluate(f, r))
        base = timed(lambda f=frame: baseline_decision(f))
        row: dict[str, Any] = {"rows": size, "cold": cold, "warm": warm, "baseline": base,
                               "input_bytes": int(frame.memory_usage(deep=True).sum())}
        if memory:
            row["peak"] = peak_memory(lambda f=frame, r=fresh: evaluate(f, r))
            row["baseline_peak"] = peak_memory(lambda f=frame: baseline_decision(f))
        frames.append(row)
    return {"single": {"median": med, "p99": p99}, "sparse": {"median": sparse_med,
                                                              "p99": sparse_p99},
            "frames": frames}


def batch_medians(answers: dict[str, object], seconds: float, batch: int = 500
                  ) -> dict[str, float]:
    """For a paired run: the medians of many short batches of assess() over a fixed wall-clock
    window, summarised (us). Run beside the other revision at the same time, so that both see
    the same machine."""
    rs = load_ruleset()
    for _ in range(300):
        assess(answers, rs)
    medians = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        times = []
        for _ in range(batch):
            start = time.perf_counter()
            assess(answers, rs)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times) * 1e6)
    medians.sort()
    return {"min": medians[0], "p25": medians[len(medians) // 4],
            "median": statistics.median(medians), "batches": len(medians)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--paired"]:
        case = _full_patient() if sys.argv[2] == "full" else dict(SPARSE)
        print(json.dumps(batch_medians(case, float(sys.argv[3]))))
    else:
        sizes = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1_000_000]
        print(json.dumps(measure(sizes, memory="--memory" in sys.argv)))
