"""End-to-end screening benchmark: `ionto-cds screen` on 1M-row CSV and Parquet files beside
its yardstick in the same run, pyarrow alone reading that input file and writing a result file
of the same rows (no validation, no rules); peak RSS beside the in-memory input frame.
``--big`` adds a 10M-row Parquet file screened in bounded memory (about 10x the 1M time).

Run: nice -n 5 .venv/bin/python bench/bench_screen.py [--rows N] [--rounds N] [--big]
Each measurement runs in a fresh process (its own peak RSS); yardstick and screen alternate,
``--rounds`` times each, and the best round of each is kept (this 2-core machine is shared).
It updates the "End to end" section of bench/RESULTS.md between the screen markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from results_file import write_section

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- screen:start -->", "<!-- screen:end -->"


def peak_rss() -> int:
    """This process's peak resident set size in bytes: VmHWM, which starts afresh at exec
    (getrusage's ru_maxrss would carry over the parent's peak on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_data(folder: Path, rows: int, big: bool) -> dict[str, Path]:
    """The fictional cohort (seed 2026, as bench/cohort_bench.py) as CSV and Parquet, cached."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    files = {"csv": folder / f"cohort-{rows}.csv", "parquet": folder / f"cohort-{rows}.parquet"}
    if not all(p.exists() for p in files.values()):
        done = subprocess.run([sys.executable, __file__, "--worker", "data", str(folder),
                               str(rows)], timeout=3600, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode:
            raise SystemExit("making the cohort files failed")
    if big:
        files["big"] = folder / f"cohort-{rows * 10}.parquet"
        if not files["big"].exists():
            table = pq.read_table(files["parquet"])
            with pq.ParquetWriter(files["big"], table.schema) as writer:
                for _ in range(10):
                    writer.write_table(table, row_group_size=200_000)
    return files


def write_data(folder: Path, rows: int) -> None:
    """Write the fictional cohort files (in a process of its own: its memory is not counted)."""
    from ionto_cds.cohort.synthetic import fictional_cohort
    from ionto_cds.engine.ruleset import default_ruleset

    frame = fictional_cohort(default_ruleset().program, rows, seed=2026, unknown=0.05, yes=0.03)
    frame.insert(0, "patient_id", [f"P{i:08d}" for i in range(rows)])
    frame.to_parquet(folder / f"cohort-{rows}.parquet", index=False, row_group_size=200_000)
    frame.to_csv(folder / f"cohort-{rows}.csv", index=False)


def work(kind: str, source: Path, output: Path) -> dict[str, Any]:
    """One measurement in this process: ``yardstick`` (pyarrow alone), ``screen`` (the
    command), or ``frame`` (the size of the input as one in-memory pandas frame)."""
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    start_rss = peak_rss()
    if kind == "frame":
        import pandas as pd

        frame = (pd.read_csv(source, dtype=str, keep_default_na=False)
                 if source.suffix == ".csv" else pd.read_parquet(source))
        return {"bytes": int(frame.memory_usage(deep=True).sum()), "rows": len(frame)}
    begin = time.perf_counter()
    if kind == "yardstick":
        table = (pa_csv.read_csv(source) if source.suffix == ".csv" else pq.read_table(source))
        if output.suffix == ".csv":
            pa_csv.write_csv(table, output)
        else:
            pq.write_table(table, output)
    else:
        from ionto_cds.cli import main

        if main(["screen", str(source), "-o", str(output), "--quiet"]) != 0:
            raise SystemExit("screen failed")
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "peak": peak_rss(), "start_peak": start_rss}


def measure(kind: str, source: Path, output: Path) -> dict[str, Any]:
    """``work`` in a fresh interpreter (its own peak RSS), with the process's wall time."""
    begin = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--worker", kind, str(source), str(output)],
                          capture_output=True, text=True, timeout=3600, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode:
        raise SystemExit(f"{kind} on {source.name} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - begin
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--big", action="store_true", help="also screen a 10x Parquet file")
    parser.add_argument("--data", default="/tmp/ionto-bench-screen",
                        help="folder for the generated cohort files (kept for the next run)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, source, output = args.worker
        if kind == "data":
            write_data(Path(source), int(output))
        else:
            print(json.dumps(work(kind, Path(source), Path(output))))
        return
    folder = Path(args.data)
    files = make_data(folder, args.rows, args.big)
    figures: dict[str, dict[str, Any]] = {}
    for fmt in ("csv", "parquet"):
        source, output = files[fmt], folder / f"result.{fmt}"
        runs: dict[str, list[dict[str, Any]]] = {"yardstick": [], "screen": []}
        for k in range(args.rounds):
            for kind in runs:
                runs[kind].append(measure(kind, source, output))
                print(f"{fmt} round {k + 1} {kind}: {runs[kind][-1]['seconds']:.2f} s, peak "
                      f"{runs[kind][-1]['peak'] / 1e6:.0f} MB", flush=True)
        frame = measure("frame", source, output)
        figures[fmt] = {kind: min(r, key=lambda x: x["seconds"]) for kind, r in runs.items()}
        figures[fmt]["frame"] = frame
    if args.big:
        big = measure("screen", files["big"], folder / "result-big.parquet")
        figures["big"] = {"screen": big, "rows": args.rows * 10}
        print(f"big: {big['seconds']:.1f} s, peak {big['peak'] / 1e6:.0f} MB", flush=True)
    section = render(figures, args.rows, args.rounds)
    write_section(section, START, END)
    print(section)


def render(figures: dict[str, dict[str, Any]], rows: int, rounds: int) -> str:
    """The markdown of the end-to-end section."""
    import pyarrow

    lines = [
        START,
        "## End to end: `ionto-cds screen FILE` (`bench/bench_screen.py`)",
        "",
        f"Machine: {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, pyarrow "
        f"{pyarrow.__version__}; measured {time.strftime('%Y-%m-%d %H:%M')}, best of {rounds} "
        "rounds, yardstick and screen alternately, each in a fresh process. "
        f"{rows:,} rows of the fictional cohort (seed 2026, every fact, a patient_id), no bad "
        "cell. Yardstick = pyarrow alone: `pyarrow.csv.read_csv` (types inferred) or "
        "`pyarrow.parquet.read_table`, then write the table as the result file of the same "
        "format. Screen = `ionto_cds.cli.main(['screen', FILE, '-o', RESULT, '--quiet'])` "
        "timed in the process after `import ionto_cds.cli` (it loads the rules, validates every "
        "cell, evaluates, writes the input columns and the 9 result columns). Peak = the "
        "process's peak RSS (Python and the libraries included); input frame = the input read "
        "into one pandas frame (`read_csv(dtype=str)` / `read_parquet`), deep memory.",
        "",
        "| input | yardstick | screen | screen / yardstick | screen peak RSS | yardstick "
        "peak RSS | input frame | peak / input frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fmt in ("csv", "parquet"):
        f = figures[fmt]
        y, s, frame = f["yardstick"], f["screen"], f["frame"]
        lines.append(
            f"| {rows:,} rows {fmt.upper()} | {y['seconds']:.2f} s | {s['seconds']:.2f} s | "
            f"{s['seconds'] / y['seconds']:.1f}x | {s['peak'] / 1e6:.0f} MB | "
            f"{y['peak'] / 1e6:.0f} MB | {frame['bytes'] / 1e6:.0f} MB | "
            f"{s['peak'] / frame['bytes']:.1f}x |")
    if "big" in figures:
        b = figures["big"]["screen"]
        lines.append(f"| {figures['big']['rows']:,} rows Parquet (`--big`) | | "
                     f"{b['seconds']:.1f} s | | {b['peak'] / 1e6:.0f} MB | | | |")
    lines.append(END)
    return "\n".join(lines)



if __name__ == "__main__":
    main()
