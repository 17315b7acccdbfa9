"""Cohort screening benchmark: single assess latency, vectorised throughput at 10k/100k/1M rows
and peak memory, side by side with a hand-written numpy baseline of the same decision rules.

Run: .venv/bin/python bench/cohort_bench.py   (updates the "Cohort screening" section of
bench/RESULTS.md between the cohort markers; other sections are left alone)
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionto_cds import assess, evaluate_frame, load_ruleset
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.evaluation.frame_run import CHUNK_ROWS
from ionto_cds.inputs import read_patient_file

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- cohort:start -->", "<!-- cohort:end -->"
UNKNOWN, YES = 0.05, 0.03  # share of empty cells and of "yes" answers in the fictional cohort


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


def single_latency(answers: dict[str, object], repeats: int = 2000) -> tuple[float, float]:
    """Median and p99 of assess() in microseconds."""
    rs = load_ruleset()
    for _ in range(50):
        assess(answers, rs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        assess(answers, rs)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    """Measure, print, and update the cohort section of bench/RESULTS.md."""
    rs = load_ruleset()
    full = read_patient_file(ROOT / "examples" / "palmar-adult.yaml")
    med, p99 = single_latency(full)
    sparse_med, sparse_p99 = single_latency({"age": 40, "indication": "hyperhidrosis",
                                             "site": "palms"})
    rows = []
    big = fictional_cohort(rs.program, 1_000_000, seed=2026, unknown=UNKNOWN, yes=YES)
    check = evaluate_frame(big.head(100_000), rs)
    agree = (check["decision"].to_numpy() == baseline_decision(big.head(100_000))).mean()
    for size in (10_000, 100_000, 1_000_000):
        frame = big.head(size).copy()
        # Plans are cached per rule set (the engine's and the evaluator's): a freshly loaded
        # rule set makes the first call truly cold; warm calls reuse it.
        fresh = load_ruleset()
        gc.collect()
        cold_start = time.perf_counter()
        evaluate_frame(frame, fresh)
        cold = time.perf_counter() - cold_start
        warm = timed(lambda f=frame, r=fresh: evaluate_frame(f, r))
        base = timed(lambda f=frame: baseline_decision(f))
        input_bytes = int(frame.memory_usage(deep=True).sum())
        mem = peak_memory(lambda f=frame, r=fresh: evaluate_frame(f, r))
        base_mem = peak_memory(lambda f=frame: baseline_decision(f))
        rows.append((size, cold, warm, base, input_bytes, mem, base_mem))
        print(f"{size:>9} rows: vectorised cold {cold:.2f} s, warm {warm:.2f} s "
              f"({size / warm:,.0f} rows/s); baseline {base:.3f} s; peak {mem / 1e6:.0f} MB "
              f"vs input {input_bytes / 1e6:.0f} MB (baseline {base_mem / 1e6:.0f} MB)")
    print(f"single assess: median {med:.0f} us, p99 {p99:.0f} us (sparse {sparse_med:.0f}/"
          f"{sparse_p99:.0f} us)")
    write_section(render(med, p99, sparse_med, sparse_p99, rows, agree))


def render(med: float, p99: float, sparse_med: float, sparse_p99: float,
           rows: list[tuple[int, float, float, float, int, int, int]], agree: float) -> str:
    """The markdown of the cohort section."""
    cpu = os.cpu_count()
    lines = [
        START,
        "## Cohort screening (`bench/cohort_bench.py`)",
        "",
        f"Machine: {cpu} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}; measured {time.strftime('%Y-%m-%d')}. Fictional cohort from "
        f"`fictional_cohort` (seed 2026): {UNKNOWN:.0%} empty cells, {YES:.0%} yes answers, "
        "every fact of the catalog; canonical frame in memory (validation and file I/O not "
        "included). Vectorised = `evaluate_frame` (decision, findings, missing, protocol, "
        "dose; identical to `assess`, see tests/test_vectorised.py). Baseline = a hand-written "
        "numpy Kleene evaluation of the packaged *decision* rules only (no steering, missing "
        f"facts, plans or text), agreeing with the engine's decision on {agree:.1%} of 100k "
        "rows (it ignores drug steering that moves 'eligible' to 'with precautions'). "
        "Cold = first call on a freshly loaded rule set (every distinct plan built with pint; "
        "one run, so it varies by 10-20% between runs on this shared machine); "
        "warm = best of 3 with the plan caches filled. Peak memory by tracemalloc during a warm "
        "call, result frame included; `evaluate_frame` works in chunks of "
        f"{CHUNK_ROWS:,} rows.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| one assessment, fully answered palmar patient | median {med:.0f} us, p99 {p99:.0f} us"
        " | < 100 us median |",
        f"| one assessment, three answers (needs_information) | median {sparse_med:.0f} us, "
        f"p99 {sparse_p99:.0f} us | < 100 us median |",
        "",
        "| rows | vectorised cold | vectorised warm | rows/s (warm) | baseline | warm / "
        "baseline | peak memory | input frame | baseline peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, cold, warm, base, inp, mem, base_mem in rows:
        lines.append(f"| {size:,} | {cold:.2f} s | {warm:.2f} s | {size / warm:,.0f} | "
                     f"{base:.3f} s | {warm / base:.1f}x | {mem / 1e6:.0f} MB | "
                     f"{inp / 1e6:.0f} MB | {base_mem / 1e6:.0f} MB |")
    size, cold, warm, base, inp, mem, _ = rows[-1]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines += [
        "",
        "Against the issue-6 targets (largest cohort): "
        f"1M rows under 2 s: warm {warm:.2f} s {verdict(warm < 2)}, cold {cold:.2f} s "
        f"{verdict(cold < 2)} (cold time adds pint building one plan per distinct "
        "protocol/cap/electrode-area group: the fictional cohort has ~1,000 distinct areas); "
        f"within 3x of the baseline: {warm / base:.1f}x {verdict(warm / base <= 3)} (the "
        "baseline gives the decision only, not findings, missing facts, protocol and dose text; "
        "the rest of the warm time is mostly per-group text building and the ranking of missing "
        f"facts); memory under 2x the input frame: {mem / inp:.1f}x {verdict(mem < 2 * inp)} "
        "(truth arrays exist for one chunk at a time; the result's cells are shared string "
        "objects, so the output costs about 8 pointers per row); one assessment "
        f"under 100 us median: {verdict(med < 100)} fully answered, {verdict(sparse_med < 100)} "
        "with three answers (the missing-fact ranking walks every unknown rule).",
        END,
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace the cohort section of RESULTS.md (or append it), leaving the rest alone."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
