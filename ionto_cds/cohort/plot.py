"""The summary plot of a screened cohort."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

from ionto_cds.cohort.screen import ScreenSummary
from ionto_cds.errors import InputFileError


def plot_summary(summary: ScreenSummary, path: Path, top: int = 10) -> None:
    """Bar charts of decisions, the most frequent findings, protocols and referrals (PNG or
    SVG)."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise InputFileError(str(path), "the plot must be a .png or .svg file")
    _draw(summary, path, top)


def summary_svg(summary: ScreenSummary, top: int = 10) -> str:
    """The summary plot as SVG text (for an HTML report that needs no other file)."""
    out = io.StringIO()
    _draw(summary, out, top, "svg")
    text = out.getvalue()
    return text[text.find("<svg"):]


def _draw(summary: ScreenSummary, target: Path | IO[str], top: int, fmt: str | None = None
          ) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("Decisions", summary.decisions.most_common()),
        (f"Most frequent findings (top {top})", summary.findings.most_common(top)),
        ("Protocols", [(k or "(none)", v) for k, v in summary.protocols.most_common()]),
    ]
    if summary.referrals:
        panels.append(("Referrals (decision refer)", summary.referrals.most_common()))
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.7 * len(panels)), squeeze=False)
    axes = axes[:, 0]
    for ax, (title, items) in zip(axes, panels, strict=True):
        labels = [str(k) for k, _ in items][::-1]
        counts = [v for _, v in items][::-1]
        ax.barh(labels, counts, color="#3b6ea5")
        ax.set_title(title)
        ax.set_xlabel("patients")
    fig.suptitle(f"Cohort screening: {summary.screened} screened, "
                 f"{summary.quarantined} quarantined")
    fig.tight_layout()
    fig.savefig(target, format=fmt)
    plt.close(fig)
