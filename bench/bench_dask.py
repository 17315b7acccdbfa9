"""Dask benchmark: `ionto-cds screen --engine dask` on a local cluster of 1, 2 and 4 worker
processes beside the pandas engine on the same Parquet partitions, in one run; scaling
efficiency = time(1 worker) / (workers x time(n workers)).

Run: nice -n 5 .venv/bin/python bench/bench_dask.py [--rows N] [--partitions N]
Each measurement runs in a fresh process and includes starting the cluster (its workers
import ionto-cds and load the rules), as a user running the command sees it. It updates the
"Dask" section of bench/RESULTS.md between the dask markers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from results_file import write_section

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- dask:start -->", "<!-- dask:end -->"


def make_parts(folder: Path, rows: int, partitions: int) -> Path:
    """The fictional cohort (seed 2026) as a folder of Parquet partitions, cached."""
    parts = folder / f"parts-{rows}-{partitions}"
    if parts.exists():
        return parts
    from ionto_cds.cohort.synthetic import fictional_cohort
    from ionto_cds.engine.ruleset import default_ruleset

    frame = fictional_cohort(default_ruleset().program, rows, seed=2026, unknown=0.05, yes=0.03)
    frame.insert(0, "patient_id", [f"P{i:08d}" for i in range(rows)])
    parts.mkdir(parents=True)
    step = -(-rows // partitions)
    for k in range(partitions):
        frame.iloc[k * step:(k + 1) * step].to_parquet(parts / f"part-{k:04d}.parquet",
                                                       index=False)
    return parts


def work(engine: str, workers: int, source: Path, output: Path) -> dict[str, Any]:
    """One screen in this process: the command's wall time after `import ionto_cds.cli`."""
    from ionto_cds.cli import main

    begin = time.perf_counter()
    args = ["screen", str(source), "-o", str(output), "--quiet", "--engine", engine]
    if engine == "dask":
        args += ["--workers", str(workers), "--partitioned"]
    if main(args) != 0:
        raise SystemExit("screen failed")
    return {"seconds": time.perf_counter() - begin}


def measure(engine: str, workers: int, source: Path, output: Path) -> dict[str, Any]:
    import shutil

    shutil.rmtree(output, ignore_errors=True)
    output.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, __file__, "--worker", engine, str(workers),
                           str(source), str(output)], capture_output=True, text=True,
                          timeout=3600, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode:
        raise SystemExit(f"{engine} x{workers} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--data", default="/tmp/ionto-bench-dask")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, workers, source, output = args.worker
        print(json.dumps(work(engine, int(workers), Path(source), Path(output))))
        return
    folder = Path(args.data)
    parts = make_parts(folder, args.rows, args.partitions)
    load = [os.getloadavg()[0]]
    figures = {"pandas": measure("pandas", 1, parts, folder / "pandas.parquet")}
    print(f"pandas: {figures['pandas']['seconds']:.1f} s", flush=True)
    for n in (1, 2, 4):
        figures[f"dask{n}"] = measure("dask", n, parts, folder / f"dask{n}.parquet")
        print(f"dask x{n}: {figures[f'dask{n}']['seconds']:.1f} s", flush=True)
        load.append(os.getloadavg()[0])
    section = render(figures, args.rows, args.partitions, (min(load), max(load)))
    write_section(section, START, END)
    print(section)


def render(figures: dict[str, dict[str, Any]], rows: int, partitions: int,
           load: tuple[float, float]) -> str:
    one = figures["dask1"]["seconds"]
    lines = [
        START,
        "## Dask: `--engine dask` on 1, 2 and 4 worker processes (`bench/bench_dask.py`)",
        "",
        f"Machine: {os.cpu_count()} CPUs (1-minute load average {load[0]:.1f}-{load[1]:.1f} "
        f"during the run); measured {time.strftime('%Y-%m-%d %H:%M')}, one run "
        f"each, in a fresh process. {rows:,} rows of the fictional cohort in {partitions} "
        "Parquet partitions, partitioned Parquet out. Times include starting the local "
        "cluster (each worker process imports ionto-cds and loads the rules).",
        "",
        "| engine | time | speed-up over 1 worker | scaling efficiency |",
        "|---|---|---|---|",
        f"| pandas (one process, streaming) | {figures['pandas']['seconds']:.1f} s | | |",
    ]
    for n in (1, 2, 4):
        t = figures[f"dask{n}"]["seconds"]
        lines.append(f"| dask, {n} worker process{'es' if n > 1 else ''} | {t:.1f} s | "
                     f"{one / t:.2f}x | {one / (n * t):.0%} |")
    lines.append(END)
    return "\n".join(lines)



if __name__ == "__main__":
    main()
