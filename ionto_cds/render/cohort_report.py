"""A screened cohort as one self-contained HTML page: counts by decision and protocol, the most
frequent findings, the summary plot inline, and links to the results, error and quarantine
files (relative to the page, so the folder can be moved or shared as a whole)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from ionto_cds.cohort.plot import summary_svg
from ionto_cds.cohort.screen import ScreenSummary

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
.note { color: #4a4a4a; }
"""


def _link(target: Path | None, page: Path, what: str) -> str:
    if target is None:
        return f"<li>{html.escape(what)}: none (no bad cell)</li>"
    href = os.path.relpath(target.resolve(), page.resolve().parent)
    return (f'<li>{html.escape(what)}: <a href="{html.escape(href)}">'
            f"{html.escape(target.name)}</a></li>")


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} %" if total else ""


def _counts(caption: str, head: str, items: list[tuple[str, int]], total: int) -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td class=n>{count:,}</td>"
                   f"<td class=n>{_share(count, total)}</td></tr>" for name, count in items)
    return (f"<table><caption>{html.escape(caption)}</caption><tr><th>{html.escape(head)}</th>"
            f"<th>patients</th><th>share of screened</th></tr>{rows}</table>")


def _cross(summary: ScreenSummary) -> str:
    """Patients by decision (rows) and planned protocol (columns)."""
    decisions = [d for d, _ in summary.decisions.most_common()]
    protocols = [p for p, _ in summary.protocols.most_common()]
    head = "".join(f"<th>{html.escape(p or '(none)')}</th>" for p in protocols)
    rows = []
    for d in decisions:
        cells = "".join(f"<td class=n>{summary.decision_protocols.get((d, p), 0):,}</td>"
                        for p in protocols)
        rows.append(f"<tr><th>{html.escape(d)}</th>{cells}"
                    f"<td class=n>{summary.decisions[d]:,}</td></tr>")
    return ("<table><caption>Decision by planned protocol</caption><tr><th>decision</th>"
            f"{head}<th>all</th></tr>{''.join(rows)}</table>")


def cohort_report_html(summary: ScreenSummary, page: Path, source: Path, output: Path,
                       errors: Path | None, quarantine: Path | None, top: int = 10) -> str:
    """The report page to be written at ``page`` (links are relative to its folder)."""
    screened = summary.screened
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Cohort screening: {html.escape(source.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Cohort screening: {html.escape(source.name)}</h1>",
        f"<p>{summary.rows:,} rows: <strong>{screened:,} screened</strong>, "
        f"<strong>{summary.quarantined:,} quarantined</strong> (bad cells; see the error "
        "table).</p>",
        "<ul>",
        _link(output, page, "Results, one row per screened patient"),
        _link(errors, page, "Error table, one row per bad cell"),
        _link(quarantine, page, "Quarantine, the bad rows as given"),
        "</ul>",
        _counts("Decisions", "decision", summary.decisions.most_common(), screened),
        _counts("Planned protocols", "protocol",
                [(p or "(none)", n) for p, n in summary.protocols.most_common()], screened),
        _cross(summary),
        _counts(f"Most frequent findings (top {top})", "rule",
                summary.findings.most_common(top), screened),
    ]
    if summary.referrals:
        parts.append(_counts("Referrals (decision refer)", "referral",
                             summary.referrals.most_common(), screened))
    parts += [
        "<h2>Summary plot</h2>",
        summary_svg(summary, top),
        "<p class=note>Decision support for health-care professionals: it supports, and does "
        "not replace, clinical judgement.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
