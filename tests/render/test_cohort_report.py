"""The HTML report of a screened cohort: counts by decision and protocol, the plot inline, and
links to the results, error and quarantine files that work from the report's folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ionto_cds.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cohort-small.csv"


def test_the_report_counts_links_and_draws(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    page = tmp_path / "report.html"
    assert main(["screen", str(EXAMPLE), "-o", str(tmp_path / "out" / "results.csv"),
                 "--report", str(page), "-q"]) == 0
    assert f"report: {page}" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)"', text)
    assert links == ["out/results.csv", "out/results.csv.errors.csv",
                     "out/results.csv.quarantine.csv"]
    assert all((tmp_path / link).is_file() for link in links)
    assert "30 rows: <strong>26 screened</strong>, <strong>4 quarantined</strong>" in text
    assert "<caption>Decision by planned protocol</caption>" in text
    assert text.count("<svg") == 1 and not re.search(r'(src|href)="https?:', text)  # offline
    # the cross table adds up to the decisions
    cells = re.search(r"Decision by planned protocol</caption>(.*?)</table>", text, re.S)
    assert cells is not None
    totals = [int(v.replace(",", "")) for v in re.findall(
        r"<td class=n>([\d,]+)</td></tr>", cells.group(1))]
    assert sum(totals) == 26


def test_the_report_must_be_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", str(EXAMPLE), "-o", str(tmp_path / "o.csv"),
                 "--report", str(tmp_path / "r.txt")]) == 2
    assert capsys.readouterr().err.endswith("r.txt: the report must be an .html file\n")
    assert not (tmp_path / "o.csv").exists()
