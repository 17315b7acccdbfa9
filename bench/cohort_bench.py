"""Engine benchmark: one assessment and the frame evaluator (10k/100k/1M rows, cold and warm,
peak memory), each beside its yardstick in the same run: the hand-written numpy decision of the
same rules, and the same figures of an earlier revision of ionto-cds (``--against``).

Run: .venv/bin/python bench/cohort_bench.py [--against REV] [--rounds N]
It updates the "Cohort screening" section of bench/RESULTS.md between the cohort markers.
The revisions are measured in separate processes, alternately, ``--rounds`` times each; the
best round of each is kept (this 2-core machine is shared, so single runs vary by 10-30 %).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from results_file import write_section

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "bench" / "engine_worker.py"
START, END = "<!-- cohort:start -->", "<!-- cohort:end -->"
SIZES = "10000,100000,1000000"


def run_worker(pythonpath: Path | None, sizes: str, memory: bool) -> dict[str, Any]:
    """One measurement run in a fresh interpreter, of this checkout or of ``pythonpath``."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    args = [sys.executable, str(WORKER), sizes] + (["--memory"] if memory else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800,
                          check=True, cwd=pythonpath or ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def paired(old_root: Path, case: str, seconds: float) -> dict[str, dict[str, float]]:
    """One assessment of this checkout and of the earlier revision measured at the same time,
    one process per core, so that both see the same load on this shared machine."""
    runs = {}
    for who, path in (("now", None), ("old", old_root)):
        env = dict(os.environ)
        if path is not None:
            env["PYTHONPATH"] = str(path)
        runs[who] = subprocess.Popen(
            [sys.executable, str(WORKER), "--paired", case, str(seconds)], env=env,
            stdout=subprocess.PIPE, text=True, cwd=path or ROOT)
    out = {}
    for who, proc in runs.items():
        stdout, _ = proc.communicate(timeout=seconds + 600)
        if proc.returncode:
            raise SystemExit(f"the paired {who} worker failed (exit {proc.returncode})")
        out[who] = json.loads(stdout.strip().splitlines()[-1])
    return out


def instructions(pythonpath: Path | None, case: str) -> int:
    """Instructions per assessment under callgrind (deterministic, unlike wall time here)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)

    def count(n: int) -> int:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             str(ROOT / "bench" / "assess_count.py"), case, str(n)],
            env=env, capture_output=True, text=True, timeout=1800, check=True,
            cwd=pythonpath or ROOT)
        found = [line for line in done.stderr.splitlines() if "Collected :" in line]
        return int(found[-1].split(":")[-1])

    return (count(600) - count(100)) // 500


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of several runs, figure by figure."""
    out = json.loads(json.dumps(runs[0]))
    for run in runs[1:]:
        for key in ("single", "sparse"):
            for stat in ("median", "p99"):
                out[key][stat] = min(out[key][stat], run[key][stat])
        for mine, other in zip(out["frames"], run["frames"], strict=True):
            for stat in ("cold", "warm", "baseline"):
                mine[stat] = min(mine[stat], other[stat])
    return out


def checkout(rev: str, folder: Path) -> Path:
    """The sources of an earlier revision, in a temporary git worktree."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(folder),
                    rev], check=True, capture_output=True, timeout=120)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", default="d5b2a13",
                        help="earlier revision to measure beside this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paired-seconds", type=float, default=30.0,
                        help="seconds of the paired one-assessment run (0: skip it)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per assessment with valgrind (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ionto-bench-") as tmp:
        old_root = checkout(args.against, Path(tmp) / "old")
        try:
            now_runs, old_runs = [], []
            for k in range(args.rounds):
                now_runs.append(run_worker(None, SIZES, memory=k == 0))
                old_runs.append(run_worker(old_root, "1000000", memory=False))
                print(f"round {k + 1}: now {now_runs[-1]['single']['median']:.0f} us, "
                      f"{now_runs[-1]['frames'][-1]['warm']:.2f} s; was "
                      f"{old_runs[-1]['single']['median']:.0f} us, "
                      f"{old_runs[-1]['frames'][-1]['warm']:.2f} s", flush=True)
            pairs = {case: paired(old_root, case, args.paired_seconds)
                     for case in ("full", "sparse")} if args.paired_seconds > 0 else {}
            counts = {(who, case): instructions(path, case)
                      for who, path in (("now", None), ("old", old_root))
                      for case in ("full", "sparse")} if args.instructions else {}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(old_root)], capture_output=True, timeout=120, check=False)
    now, old = best(now_runs), best(old_runs)
    memory = now_runs[0]["frames"]
    for row, mem in zip(now["frames"], memory, strict=True):
        row["peak"], row["baseline_peak"] = mem["peak"], mem["baseline_peak"]
    section = render(now, old, args.against, args.rounds, counts, pairs)
    write_section(section, START, END)
    print(section)


def render(now: dict[str, Any], old: dict[str, Any], rev: str, rounds: int,
           counts: dict[tuple[str, str], int],
           pairs: dict[str, dict[str, dict[str, float]]] | None = None) -> str:
    """The markdown of the cohort section."""
    big, was = now["frames"][-1], old["frames"][-1]
    lines = [
        START,
        "## Engine: one assessment and the frame evaluator (`bench/cohort_bench.py`)",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy "
        f"{np.__version__}, pandas {pd.__version__}; measured {time.strftime('%Y-%m-%d')}, best "
        f"of {rounds} rounds, this checkout and revision `{rev}` (the flat package before the "
        "layers) alternately in separate processes. Fictional cohort from `fictional_cohort` "
        "(seed 2026): 5% empty cells, 3% yes answers, every fact; canonical frame in memory "
        "(validation and file I/O not included). Frame = `evaluate_frame` (decision, findings, "
        "missing, protocol, dose; identical to `assess`, see tests/conformance). Baseline = a "
        "hand-written numpy Kleene evaluation of the packaged *decision* rules only. Cold = the "
        "first call on a freshly loaded rule set; warm = best of 3.",
        "",
        f"| measure | now | `{rev}` | target |",
        "|---|---|---|---|",
        f"| one assessment, fully answered palmar patient | median {now['single']['median']:.0f}"
        f" us, p99 {now['single']['p99']:.0f} us | median {old['single']['median']:.0f} us, "
        f"p99 {old['single']['p99']:.0f} us | not slower than `{rev}` |",
        f"| one assessment, three answers (needs_information) | median "
        f"{now['sparse']['median']:.0f} us, p99 {now['sparse']['p99']:.0f} us | median "
        f"{old['sparse']['median']:.0f} us, p99 {old['sparse']['p99']:.0f} us | |",
        f"| 1M rows warm | {big['warm']:.2f} s ({big['warm'] / big['baseline']:.1f}x baseline) | "
        f"{was['warm']:.2f} s ({was['warm'] / was['baseline']:.1f}x baseline) | not slower |",
        f"| 1M rows cold | {big['cold']:.2f} s | {was['cold']:.2f} s | |",
    ]
    for case, what in (("full", "palmar patient"), ("sparse", "three answers")):
        if pairs and case in pairs:
            a, b = pairs[case]["now"], pairs[case]["old"]
            lines.append(
                f"| one assessment, {what}, paired (both at once, median of "
                f"{a['batches']:.0f} / {b['batches']:.0f} batch medians) | {a['median']:.0f} us "
                f"(fastest batch {a['min']:.0f} us) | {b['median']:.0f} us (fastest batch "
                f"{b['min']:.0f} us) | not slower |")
    if counts:
        lines += [
            f"| instructions per assessment, palmar patient (callgrind) | "
            f"{counts[('now', 'full')]:,} | {counts[('old', 'full')]:,} | |",
            f"| instructions per assessment, three answers (callgrind) | "
            f"{counts[('now', 'sparse')]:,} | {counts[('old', 'sparse')]:,} | |",
        ]
    lines += [
        "",
        "| rows | frame cold | frame warm | rows/s (warm) | baseline | warm / baseline | "
        "peak memory | input frame | baseline peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in now["frames"]:
        lines.append(
            f"| {row['rows']:,} | {row['cold']:.2f} s | {row['warm']:.2f} s | "
            f"{row['rows'] / row['warm']:,.0f} | {row['baseline']:.3f} s | "
            f"{row['warm'] / row['baseline']:.1f}x | {row['peak'] / 1e6:.0f} MB | "
            f"{row['input_bytes'] / 1e6:.0f} MB | {row['baseline_peak'] / 1e6:.0f} MB |")
    lines.append(END)
    return "\n".join(lines)



if __name__ == "__main__":
    main()
