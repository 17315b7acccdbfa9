"""The clinician app for people who use a keyboard, a screen reader, a phone or a zoomed page:
axe-core finds nothing critical or serious, questions are named radio groups, the focus ring
shows, a palmar case is decided from the keyboard alone, and nothing is clipped at 390 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe import describe, run_axe, serious
from test_app_browser import (
    ARTIFACTS,
    CHROMIUM,
    PALMAR,
    TIMEOUT,
    answer,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]

FIRST = ("indication", "site", "hyperhidrosis_warning_signs", "hdss", "tap_water_sessions",
         "age", "sex")
CHECKLISTS = ("patient", "devices", "history", "skin")


def open_app(browser: Any, url: str, width: int = 1400, height: int = 1000) -> Any:
    """A new page on the app, its form rendered (one reload if the first kernel of a loaded
    machine was too slow to come up)."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    banner = page.locator(".ionto-decision")
    try:
        expect(banner).to_contain_text("Needs information", timeout=90_000)
    except AssertionError:
        page.reload()
        expect(banner).to_contain_text("Needs information", timeout=90_000)
    assert not errors, errors
    return page


def shot(page: Any, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def fill_fast(page: Any) -> None:
    from playwright.sync_api import expect

    for name in FIRST:
        answer(page, name, PALMAR[name])
    for group in CHECKLISTS:
        page.locator(f".ionto-none-{group}").click()
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)


def test_axe_finds_nothing_critical_or_serious(browser: Any, url: str) -> None:
    page = open_app(browser, url)
    try:
        empty = serious(run_axe(page))
        assert not empty, describe(empty)
        fill_fast(page)  # the plan, findings and export controls are on screen now
        answer(page, "fixed_dental_braces", True)  # a precaution with its override control
        from playwright.sync_api import expect
        expect(page.locator(".ionto-acknowledge")).to_be_visible(timeout=TIMEOUT)
        filled = serious(run_axe(page))
        assert not filled, describe(filled)
        shot(page, "accessibility_filled")
    finally:
        page.context.close()


def test_questions_are_named_radio_groups_that_expose_the_answer(browser: Any,
                                                                  url: str) -> None:
    from playwright.sync_api import expect

    page = open_app(browser, url)
    try:
        group = page.get_by_role("radiogroup", name=re.compile("^Implanted cardiac pacemaker"))
        expect(group).to_have_count(1)
        expect(group.get_by_role("radio", name="Unknown", exact=True)).to_be_checked()
        group.get_by_role("radio", name="No", exact=True).check()
        expect(group.get_by_role("radio", name="No", exact=True)).to_be_checked()
        expect(group.get_by_role("radio", name="Yes", exact=True)).not_to_be_checked()
        age = page.get_by_role("textbox", name=re.compile("^Age"))
        expect(age).to_have_count(1)
        age.fill("29 parsecs")
        age.press("Enter")
        expect(age).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT)
        described = age.get_attribute("aria-describedby") or ""
        message = " ".join(page.locator(f"#{i}").inner_text() for i in described.split())
        assert "parsecs" in message, "the error is not tied to the box it is about"
        expect(page.get_by_role("combobox", name=re.compile("^Indication"))).to_have_count(1)
    finally:
        page.context.close()


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])


def test_the_keyboard_focus_is_visible_at_3_to_1(browser: Any, url: str) -> None:
    page = open_app(browser, url)
    try:
        page.get_by_role("radiogroup", name=re.compile("^Implanted cardiac pacemaker")).get_by_role(
            "radio", name="Unknown", exact=True).focus()
        page.keyboard.press("ArrowLeft")  # a keyboard move: :focus-visible applies
        ring = page.evaluate("""() => {
          const label = document.activeElement.closest('label');
          const s = getComputedStyle(label);
          const row = getComputedStyle(label.closest('.ionto-q'));
          return {style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                  colour: s.outlineColor, behind: row.backgroundColor};
        }""")
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        for behind in ((255, 255, 255), _rgb(ring["behind"])):
            assert _contrast(_rgb(ring["colour"]), behind) >= 3.0, ring
        shot(page, "focus_ring")
    finally:
        page.context.close()


class Keys:
    """A keyboard-only user: every key press is counted."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        for ch in text:
            self.press(ch)

    def tab_to(self, selector: str, limit: int = 40) -> None:
        """Tab until the focus is inside ``selector``."""
        for _ in range(limit):
            inside = self.page.evaluate(
                "(s) => !!(document.activeElement && document.activeElement.closest(s))",
                selector)
            if inside:
                return
            self.press("Tab")
        raise AssertionError(f"{selector} cannot be reached with Tab")


def test_a_palmar_case_is_decided_from_the_keyboard_alone(browser: Any, url: str) -> None:
    from playwright.sync_api import expect

    page = open_app(browser, url)
    try:
        keys = Keys(page)
        selects = {"indication": "h", "site": "p", "sex": "f"}
        texts = {"hdss": "3", "tap_water_sessions": "0", "age": "29"}
        # in the order of the page: a clinician tabs down the form once
        steps = ["indication", "site", "hyperhidrosis_warning_signs", "hdss",
                 "tap_water_sessions", "none-patient", "age", "sex", "none-devices",
                 "none-history", "none-skin"]
        for step in steps:
            if step.startswith("none-"):
                keys.tab_to(f".ionto-{step}")
                keys.press("Enter")
            else:
                keys.tab_to(f".ionto-fact-{step}")
                if step in selects:
                    keys.press(selects[step])
                elif step in texts:
                    keys.type(texts[step])
                    keys.press("Enter")
                else:  # the warning signs: Unknown, None known, Yes: one arrow to None known
                    keys.press("ArrowRight")
            page.wait_for_timeout(200)
        expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)
        expect(page.locator(".ionto-plan-card")).to_contain_text("Tap-water iontophoresis")
        print(f"keyboard-only palmar case: {keys.count} key presses")
        assert keys.count <= 75, f"{keys.count} key presses (the first build took 147)"
        shot(page, "keyboard_only_palmar")
    finally:
        page.context.close()


@pytest.mark.parametrize("width, name", [(390, "phone_390px"), (640, "zoom_200_percent")])
def test_nothing_is_clipped_on_a_phone_or_at_200_percent(browser: Any, url: str,
                                                          width: int, name: str) -> None:
    """390 px is a phone; a 1280 px window zoomed to 200% lays out as 640 CSS px."""
    from playwright.sync_api import expect

    page = open_app(browser, url, width=width, height=800)
    try:
        fill_fast(page)
        overflow = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert overflow <= width + 1, f"the page scrolls sideways: {overflow} px wide"
        for selector in (".ionto-decision", ".ionto-fact-pacemaker", ".ionto-plan-card"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
                selector, box)
        clipped = page.evaluate("""() => [...document.querySelectorAll('.ionto-q')]
          .filter(q => q.offsetParent && q.scrollWidth > q.clientWidth + 1).length""")
        assert clipped == 0, f"{clipped} questions are wider than their box"
        banner = page.locator(".ionto-decision").bounding_box()
        assert banner is not None and banner["y"] < 400, "the decision is not at the top"
        expect(page.locator(".ionto-decision")).to_be_in_viewport()
        shot(page, name)
        page.locator(".ionto-fact-skin_condition_at_site").scroll_into_view_if_needed()
        expect(page.locator(".ionto-decision")).to_be_in_viewport()
        shot(page, f"{name}_scrolled")
    finally:
        page.context.close()
