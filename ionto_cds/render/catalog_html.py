"""Small HTML pieces of the rule catalogue: escaping, links, field lists, the page frame."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import urlparse

from ionto_cds.engine.assessment import NOTICE
from ionto_cds.language.model import Review

PAGES = (("index.html", "Overview"), ("facts.html", "Facts"), ("rules.html", "Rules"),
         ("protocols.html", "Protocols"), ("drugs.html", "Drugs"),
         ("references.html", "References"), ("vignettes.html", "Vignettes"))
"""Each page of the site and its name in the navigation, in order."""


def e(text: object) -> str:
    """Text escaped for HTML."""
    return escape(str(text), quote=True)


def anchor(kind: str, key: str) -> str:
    """The element id of an entry, e.g. ``rule-pacemaker``."""
    return f"{kind}-{key}"


def link(page: str, kind: str, key: str, text: str | None = None) -> str:
    """A link to an entry of a page of the site."""
    return f'<a href="{page}#{e(anchor(kind, key))}">{e(text if text is not None else key)}</a>'


def external(url: str | None, text: str | None = None) -> str:
    """A link out to a source; only http(s) addresses become links (a rule file is never
    trusted to put a script in the page)."""
    if not url:
        return ""
    if urlparse(url).scheme not in ("http", "https"):
        return e(url)
    css = "external" if text else "external bare"  # a bare address is not printed twice
    return (f'<a class="{css}" href="{e(url)}" rel="noopener noreferrer">'
            f"{e(text or url)}</a>")


def links(items: Iterable[str]) -> str:
    """Already-built links (or text) joined by commas; 'none' when there are none."""
    joined = ", ".join(items)
    return joined or "none"


def bullets(items: Sequence[str], raw: bool = False) -> str:
    """A compact list (items escaped unless ``raw``)."""
    if not items:
        return "none"
    return '<ul class="compact">' + "".join(
        f"<li>{item if raw else e(item)}</li>" for item in items) + "</ul>"


def fields(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list of (label, HTML value) rows; values are HTML already."""
    return '<dl class="fields">' + "".join(
        f"<dt>{e(label)}</dt><dd>{value}</dd>" for label, value in rows) + "</dl>"


def badge(text: str, css: str) -> str:
    return f'<span class="badge {e(css)}">{e(text)}</span>'


def review_html(review: Review) -> str:
    """An entry's review status with who, when and when next."""
    status = badge(review.status.value, f"status-{review.status.value}")
    if not review.written:
        return status + " no review block: a draft until reviewed"
    parts = [status]
    if review.reviewed_by:
        parts.append(f"by {e(review.reviewed_by)}")
    if review.reviewed_on:
        parts.append(f"on {e(review.reviewed_on.isoformat())}")
    if review.next_review:
        parts.append(f"· next review {e(review.next_review.isoformat())}")
    return " ".join(parts)


def page(file: str, title: str, body: str, index: list[dict[str, str]], footer: str) -> str:
    """A whole page: navigation, search box, body, footer, the inline search index."""
    current = ' aria-current="page"'
    nav = "".join(f'<a href="{name}"{current if name == file else ""}>{e(label)}</a>'
                  for name, label in PAGES)
    data = json.dumps(index, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · ionto-cds rule catalogue</title>
<link rel="stylesheet" href="catalog.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<span class="brand">ionto-cds rule catalogue</span>
<nav class="sections" aria-label="Sections">{nav}</nav>
<div class="search" role="search">
<label for="search">Search facts, rules, protocols, drugs, references and vignettes</label>
<input id="search" type="search" autocomplete="off"
 placeholder="e.g. pacemaker, glycopyrronium, children">
<ul id="search-results" aria-label="Search results"></ul>
<span id="search-status" class="skip" aria-live="polite"></span>
</div>
</header>
<main id="main">
<h1>{e(title)}</h1>
{body}
</main>
<footer class="site"><p>{e(NOTICE)}</p>{footer}</footer>
<script type="application/json" id="search-index">{data}</script>
<script src="catalog.js"></script>
</body>
</html>
"""
