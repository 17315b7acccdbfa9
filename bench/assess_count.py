"""Assess one patient N times (for counting instructions per assessment under callgrind).

Run by cohort_bench.py --instructions: it counts the instructions of N=100 and N=600 runs and
divides the difference by 500, so start-up and loading cancel out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ionto_cds import assess, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
SPARSE = {"age": 40, "indication": "hyperhidrosis", "site": "palms"}

if __name__ == "__main__":
    rs = load_ruleset()
    full = yaml.safe_load((ROOT / "examples" / "palmar-adult.yaml").read_text(encoding="utf-8"))
    case = full if sys.argv[1] == "full" else SPARSE
    for _ in range(int(sys.argv[2])):
        assess(case, rs)
