"""The rule catalogue: a static, offline HTML site of the loaded rule set that a clinician can
review without reading code or YAML (FDA CDS guidance, criterion 4).

Every page is built from the same :class:`~ionto_cds.engine.ruleset.RuleSet` the engine uses;
the stylesheet and the search script are written beside the pages, and the search index is
inline in each page, so the site opens from a folder or a file:// URL with no network."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from ionto_cds.analysis.cases import Case, read_cases
from ionto_cds.analysis.review import review_summary
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import RuleSetError
from ionto_cds.evaluation.policy import DECISION_TABLE
from ionto_cds.render.catalog_assets import CSS, JS
from ionto_cds.render.catalog_html import PAGES, e, page
from ionto_cds.render.catalog_index import CrossLinks, cross_links
from ionto_cds.render.catalog_pages import (
    Entry,
    Section,
    drugs_page,
    facts_page,
    protocols_page,
    references_page,
    rules_page,
    vignettes_page,
)

CATALOG_INDEX = "index.html"
"""The catalogue's front page (what a notebook or the educator app links to)."""


def _overview(rs: RuleSet, x: CrossLinks, cases: list[Case], today: date) -> str:
    counts = [("facts.html", f"{len(rs.catalog)} facts (questions)"),
              ("rules.html", f"{len(rs.rules)} rules"
               + (f" and {len(rs.source.retired_rules)} retired" if rs.source.retired_rules
                  else "")),
              ("protocols.html", f"{len(rs.protocols)} protocols and referrals"),
              ("drugs.html", f"{len(rs.drugs)} drugs"),
              ("references.html", f"{len(rs.references)} references"),
              ("vignettes.html", f"{len(cases)} vignettes")]
    items = "".join(f'<li><a href="{p}">{e(t)}</a></li>' for p, t in counts)
    summary = review_summary(rs.source, today)
    review = "".join(f"<li>{e(line.removeprefix('- '))}</li>" for line in summary.lines())
    return (f"<p>Rule set <strong>{e(rs.version)}</strong>, sha256 <code>{e(rs.sha256)}</code>"
            f", built {e(today.isoformat())}. Every page shows what the engine reads: each "
            "rule's condition, rationale, action and sources, each protocol's plan, limits and "
            "side effects, and the vignettes that exercise them.</p>"
            f"<h2>Contents</h2><ul>{items}</ul><h2>Review</h2><ul>{review}</ul>"
            f"{_decision_table()}")


def _decision_table() -> str:
    """The engine's decision table: the first row that holds decides."""
    rows = "".join(
        f"<tr><td>{e(row.decision.words)}</td><td>"
        + "; or ".join(e(f"{r.basis.value.replace('_', ' ')}: {r.edge}") for r in row.reasons)
        + "</td></tr>" for row in DECISION_TABLE)
    return ("<h2>How a decision is made</h2><p>The first row that holds is the decision.</p>"
            '<table><tr><th scope="col">Decision</th><th scope="col">When</th></tr>'
            f"{rows}</table>")


def build_catalog(rs: RuleSet, output: Path, today: date | None = None) -> list[Path]:
    """Write the catalogue of ``rs`` into ``output`` (created if needed); the files written.

    The vignettes are those of the rule set's ``cases/`` folder; a mistake in them is an error.
    """
    day = today or date.today()
    cases_dir = Path(rs.source.directory) / "cases"
    cases: list[Case] = []
    if cases_dir.is_dir():
        cases, errors = read_cases(cases_dir)
        if errors:
            raise RuleSetError(errors)
    x = cross_links(rs, cases)
    builders: dict[str, Callable[[], Section]] = {  # the search lists hits in this order
        "rules.html": lambda: rules_page(rs, x),
        "protocols.html": lambda: protocols_page(rs, x),
        "drugs.html": lambda: drugs_page(rs, x),
        "facts.html": lambda: facts_page(rs, x),
        "references.html": lambda: references_page(rs, x),
        "vignettes.html": lambda: vignettes_page(rs, x, cases),
    }
    bodies: dict[str, str] = {CATALOG_INDEX: _overview(rs, x, cases, day)}
    index: list[Entry] = []
    for name, build in builders.items():
        bodies[name], entries = build()
        index += entries
    footer = (f"<p>Rule set {e(rs.version)} · sha256 {e(rs.sha256)} · built "
              f"{e(day.isoformat())} by ionto-cds</p>")
    output.mkdir(parents=True, exist_ok=True)
    written = []
    titles = dict(PAGES)
    for name, body in bodies.items():
        title = "Rule catalogue" if name == CATALOG_INDEX else titles[name]
        path = output / name
        path.write_text(page(name, title, body, index, footer), encoding="utf-8")
        written.append(path)
    for name, text in (("catalog.css", CSS), ("catalog.js", JS)):
        (output / name).write_text(text, encoding="utf-8")
        written.append(output / name)
    return written
