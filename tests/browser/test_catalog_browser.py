"""End to end: the rule catalogue opened from file:// in Debian's chromium, fully offline:
search, follow a rule to its reference, and an accessibility check with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from axe import describe, run_axe, serious
from test_app_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    CHROMIUM,
)

from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.render.catalog import build_catalog

TIMEOUT = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog") / "site"
    build_catalog(default_ruleset(), folder, date(2026, 12, 1))
    return folder


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page that fails the test on any request that is not a local file, or a page error."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    outside: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: None if urlparse(r.url).scheme in ("file", "data", "about")
          else outside.append(r.url))
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=False)
    context.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, f"page errors: {errors}"


def test_search_then_follow_a_rule_to_its_reference(page: Any, site: Path) -> None:
    from playwright.sync_api import expect

    page.goto((site / "index.html").as_uri(), timeout=TIMEOUT)
    expect(page.locator("h1")).to_have_text("Rule catalogue", timeout=TIMEOUT)
    page.locator("#search").fill("pacemaker")
    hits = page.locator("#search-results a")
    expect(hits.first).to_have_text("ruleImplanted cardiac pacemaker", timeout=TIMEOUT)
    expect(page.locator("#search-results a[href='facts.html#fact-pacemaker']")).to_be_visible(
        timeout=TIMEOUT)  # the question is found too
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "catalog-search.png"))
    hits.first.click(timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"/rules\.html#rule-pacemaker$"), timeout=TIMEOUT)
    rule = page.locator("article#rule-pacemaker")
    expect(rule).to_contain_text("absolute", timeout=TIMEOUT)
    expect(rule).to_contain_text("Do not treat.", timeout=TIMEOUT)
    expect(rule.locator("a", has_text="pacemaker-palmar")).to_be_visible(timeout=TIMEOUT)
    rule.locator("a", has_text="saalmann-faq").click(timeout=TIMEOUT)
    expect(page).to_have_url(re.compile(r"/references\.html#ref-saalmann-faq$"),
                             timeout=TIMEOUT)
    reference = page.locator("article#ref-saalmann-faq")
    expect(reference).to_contain_text("manufacturer", timeout=TIMEOUT)
    source = reference.locator("a.external")
    expect(source).to_have_attribute("href", "https://www.saalmann-medical.de/service/"
                                     "faq-iontophoresis/?L=1", timeout=TIMEOUT)
    expect(reference.locator("a", has_text="pacemaker")).to_be_visible(timeout=TIMEOUT)


def test_search_finds_a_drug_and_says_when_nothing_matches(page: Any, site: Path) -> None:
    from playwright.sync_api import expect

    page.goto((site / "protocols.html").as_uri(), timeout=TIMEOUT)
    page.locator("#search").fill("glycopyrronium bromide")
    expect(page.locator("#search-results a").first).to_contain_text(
        "Glycopyrronium bromide", timeout=TIMEOUT)
    page.locator("#search").fill("no such thing at all")
    expect(page.locator("#search-results")).to_contain_text("Nothing matches", timeout=TIMEOUT)


@pytest.mark.parametrize("name", ["index.html", "rules.html", "protocols.html"])
def test_pages_have_no_serious_accessibility_violations(page: Any, site: Path, name: str
                                                         ) -> None:
    page.goto((site / name).as_uri(), timeout=TIMEOUT)
    found = serious(run_axe(page))
    assert not found, describe(found)
