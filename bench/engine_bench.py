"""Latency of one full assessment (rules with trace, protocol and dose) on the packaged rules.

Run: .venv/bin/python bench/engine_bench.py   (prints median and p99 in microseconds)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ionto_cds import assess, load_ruleset
from ionto_cds.cli import read_patient_file

ROOT = Path(__file__).resolve().parent.parent


def measure(answers: dict[str, object], repeats: int = 2000) -> tuple[float, float]:
    """Median and 99th percentile latency of assess() in microseconds."""
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
    """Measure a fully answered palmar patient and a mostly unanswered one."""
    full = read_patient_file(ROOT / "examples" / "palmar-adult.yaml")
    sparse = {"age": 40, "indication": "hyperhidrosis", "site": "palms"}
    for name, answers in (("fully answered palmar patient", full),
                          ("three answers only (needs_information)", sparse)):
        median, p99 = measure(answers)
        print(f"{name}: median {median:.0f} us, p99 {p99:.0f} us")


if __name__ == "__main__":
    main()
