"""The clinician app's patient on record, in the browser: a saved decision record resumes, a
failed load changes nothing and says so, an unreadable answer holds the plan, and the plan and
the patient leaflet print."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_app_accessibility import CHECKLISTS, FIRST, open_app
from test_app_browser import ARTIFACTS, CHROMIUM, PALMAR, TIMEOUT, answer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    pg = open_app(browser, url)
    yield pg
    pg.context.close()


def palmar(page: Any, ref: str = "A-12") -> None:
    from playwright.sync_api import expect

    page.locator(".ionto-patient-ref input").fill(ref)
    page.locator(".ionto-patient-ref input").press("Enter")
    for name in FIRST:
        answer(page, name, PALMAR[name])
    for group in CHECKLISTS:
        page.locator(f".ionto-none-{group}").click()
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)


def choose(page: Any, files: Any) -> None:
    """Pick a file in the 'Load patient file' chooser, as a clinician would."""
    with page.expect_file_chooser(timeout=TIMEOUT) as chooser:
        page.locator(".ionto-load").click()
    chooser.value.set_files(files)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_saved_decision_record_resumes_into_the_form(page: Any, browser: Any, url: str,
                                                       exports: Path) -> None:
    from playwright.sync_api import expect

    palmar(page, "R-77")
    page.locator("button.ionto-export-record").click()
    expect(page.locator(".ionto-export-status")).to_contain_text("decision-record",
                                                                 timeout=TIMEOUT)
    [saved] = sorted(exports.glob("decision-record-R-77-*.json"))
    fresh = open_app(browser, url)
    try:
        choose(fresh, str(saved))
        status = fresh.locator(".ionto-load-status")
        expect(status).to_contain_text("Resumed the decision record", timeout=TIMEOUT)
        expect(status).to_contain_text("agree with the record")
        expect(fresh.locator(".ionto-patient-ref input")).to_have_value("R-77")
        expect(fresh.locator(".ionto-decision")).to_contain_text("Eligible")
        expect(fresh.locator(".ionto-plan-card")).to_contain_text("Tap-water iontophoresis")
        pacemaker = fresh.locator(".ionto-fact-pacemaker")
        expect(pacemaker.get_by_role("radio", name="No", exact=True)).to_be_checked()
        shot(fresh, "record_resumed")
    finally:
        fresh.context.close()


def test_a_failed_load_keeps_the_patient_and_says_so(page: Any) -> None:
    from playwright.sync_api import expect

    palmar(page, "A-12")
    choose(page, {"name": "next-patient.yaml", "mimeType": "text/yaml",
                  "buffer": b"age: 40\npacemaker: perhaps\n"})
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Load failed: next-patient.yaml was not loaded",
                                  timeout=TIMEOUT)
    expect(alert).to_contain_text("previous patient (A-12)")
    expect(alert).to_contain_text("pacemaker")
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible")
    expect(page.locator(".ionto-patient-ref input")).to_have_value("A-12")
    shot(page, "load_failed")


def test_an_unreadable_answer_turns_the_banner_and_holds_the_plan(page: Any) -> None:
    from playwright.sync_api import expect

    palmar(page)
    answer(page, "electrode_area", "30 cm2 x")
    banner = page.locator(".ionto-decision")
    expect(banner).to_contain_text("Needs information", timeout=TIMEOUT)
    expect(banner).to_contain_text("Could not read")
    expect(banner).not_to_contain_text("Eligible")
    expect(page.locator(".ionto-plan-card")).not_to_contain_text("mA")
    page.locator("button.ionto-export-plan").click()
    expect(page.locator(".ionto-export-status")).to_contain_text("could not be read",
                                                                 timeout=TIMEOUT)
    shot(page, "unreadable_holds_the_plan")
    answer(page, "electrode_area", "30 cm²")
    expect(banner).to_contain_text("Eligible", timeout=TIMEOUT)
    expect(page.locator(".ionto-plan-card")).to_contain_text("0.333")


def test_the_plan_and_leaflet_print(page: Any, browser: Any, exports: Path) -> None:
    from playwright.sync_api import expect

    palmar(page, "P-5")
    page.locator("button.ionto-export-plan").click()
    expect(page.locator(".ionto-export-status")).to_contain_text(".pdf", timeout=TIMEOUT)
    page.locator("button.ionto-export-leaflet").click()
    expect(page.locator(".ionto-export-status")).to_contain_text("patient-leaflet-P-5",
                                                                 timeout=TIMEOUT)
    [plan_pdf] = sorted(exports.glob("iontophoresis-plan-P-5-*.pdf"))
    [leaflet_pdf] = sorted(exports.glob("patient-leaflet-P-5-*.pdf"))
    assert plan_pdf.read_bytes().startswith(b"%PDF-")
    assert leaflet_pdf.read_bytes().startswith(b"%PDF-")
    [leaflet] = sorted(exports.glob("patient-leaflet-P-5-*.html"))
    printed = browser.new_context(viewport={"width": 800, "height": 1100}).new_page()
    try:
        printed.goto(leaflet.as_uri())
        printed.emulate_media(media="print")
        expect(printed.locator("h1")).to_have_text("Your iontophoresis treatment")
        expect(printed.locator("body")).to_contain_text("Patient reference: P-5")
        expect(printed.locator("body")).to_contain_text("Looking after your skin")
        shot(printed, "leaflet_printed")
    finally:
        printed.context.close()
