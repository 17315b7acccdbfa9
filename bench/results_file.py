"""bench/RESULTS.md: each bench owns one marked section and rewrites only that."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, start: str, end: str, results: Path = RESULTS) -> None:
    """Replace the section between ``start`` and ``end`` (``section`` includes both markers),
    or append it, leaving the rest of the file alone."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results.write_text(text, encoding="utf-8")
