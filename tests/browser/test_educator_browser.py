"""End to end: the educator notebook in Voila, in Debian's chromium, fully offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The clinician browser test's setup is reused, not copied: its browser fixture, the watcher
# that fails on non-loopback requests and page errors, and its way of answering a question.
from test_app_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    CHROMIUM,
    ROOT,
    Watched,
    answer,
    browser,  # noqa: F401  (a pytest fixture)
    running_app,
)

from ionto_cds.analysis.cases import read_cases

TIMEOUT = 20_000
CASES = {c.id: c for c in read_cases(ROOT / "rules" / "cases")[0]}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def educator_url() -> Iterator[str]:
    with running_app("educator") as url:
        yield url


@pytest.fixture
def edu_page(browser: Any, educator_url: str, request: pytest.FixtureRequest  # noqa: F811
             ) -> Iterator[tuple[Any, Watched]]:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = context.new_page()
    watched = Watched(pg)
    pg.goto(educator_url)
    expect(pg.locator(".ionto-edu-case select")).to_be_visible(timeout=60_000)
    yield pg, watched
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    watched.check()


def _node(page: Any, where: str, node_id: str) -> Any:
    return page.locator(f"{where} g[data-id='{node_id}']")


def test_pick_case_flip_pacemaker_path_and_decision_change(edu_page: tuple[Any, Watched]
                                                           ) -> None:
    from playwright.sync_api import expect

    page, _watched = edu_page
    case = CASES["adult-palmar-typical"]
    page.locator(".ionto-edu-case select").select_option(label=case.title)
    expect(page.locator(".ionto-edu-teaching-box")).to_contain_text(case.title, timeout=TIMEOUT)
    outcome = page.locator(".ionto-edu-outcome")
    expect(outcome).to_contain_text("Eligible", timeout=TIMEOUT)
    expect(outcome).not_to_contain_text("Not eligible")
    expect(_node(page, ".ionto-edu-pathway", "protocol:tap-water-palmoplantar")).to_have_class(
        "node node-protocol status-taken", timeout=TIMEOUT)
    page.locator(".ionto-edu-pathway").screenshot(path=str(ARTIFACTS / "educator-case-path.png"))

    page.locator(".lm-TabBar-tab", has_text="What-if").click()
    answer(page, "pacemaker", True)
    diff = page.locator(".ionto-edu-diff")
    expect(diff).to_contain_text("decision changed", timeout=TIMEOUT)
    expect(diff).to_contain_text("Eligible \u2192 Not eligible")
    expect(page.locator(".ionto-edu-whatif-outcome .ionto-decision")
           if page.locator(".ionto-edu-whatif-outcome .ionto-decision").count()
           else page.locator(".ionto-edu-whatif-outcome")).to_contain_text("Not eligible")
    where = ".ionto-edu-whatif-pathway"
    expect(_node(page, where, "rule:pacemaker")).to_have_class(
        "node node-rule status-true", timeout=TIMEOUT)
    expect(_node(page, where, "decision:not_eligible")).to_have_class(
        "node node-decision status-taken")
    expect(_node(page, where, "protocol:tap-water-palmoplantar")).to_have_class(
        "node node-protocol status-not_reached")
    expect(page.locator(".ionto-edu-sensitivity")).to_contain_text(
        "Single changes that would change the decision")
    page.locator(where).screenshot(path=str(ARTIFACTS / "educator-whatif-path.png"))


def test_step_through_in_the_browser(edu_page: tuple[Any, Watched]) -> None:
    from playwright.sync_api import expect

    page, _watched = edu_page
    page.locator(".ionto-edu-case select").select_option(label=CASES["pacemaker-palmar"].title)
    expect(page.locator(".ionto-edu-outcome")).to_contain_text("Not eligible", timeout=TIMEOUT)
    page.locator(".lm-TabBar-tab", has_text="Step-through").click()
    page.locator("button.ionto-edu-next").click()
    view = page.locator(".ionto-edu-step-view")
    expect(view).to_contain_text("Implanted cardiac pacemaker", timeout=TIMEOUT)
    expect(view).to_contain_text("Answers read")
    expect(page.locator(".ionto-edu-step-pathway g.focus")).to_have_count(1, timeout=TIMEOUT)
