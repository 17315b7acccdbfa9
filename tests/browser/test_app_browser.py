"""End to end: the Voila app in Debian's chromium, driven by Playwright, fully offline."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from ionto_cds.serve import free_port, wait_for_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
PALMAR = yaml.safe_load((ROOT / "examples" / "palmar-adult.yaml").read_text())
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TIMEOUT = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


def printed_url(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The URL (with its token) the app prints on its 'running at' line, read within timeout.

    The server's output is read to its end: a pipe nobody reads fills up (64 KiB, a few dozen
    page views of log) and then blocks the server.
    """
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace")
            if "running at " in line and found.empty():
                found.put(line.split("running at ", 1)[1].split()[0])

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError("the app printed no URL") from None


@contextmanager
def running_app(notebook: str = "clinician", env: dict[str, str] | None = None
                ) -> Iterator[str]:
    """Serve a packaged notebook with run_app in a child process; yield its URL; stop it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ionto_cds.serve import run_app; "
         f"sys.exit(run_app({port}, False, {notebook!r}))"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for_port(port, 60.0), f"the {notebook} app did not start"
        yield printed_url(process, 60.0)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def app_url(export_dir: Path) -> Iterator[str]:
    with running_app(env=dict(os.environ, IONTO_CDS_EXPORT_DIR=str(export_dir))) as url:
        yield url




class Watched:
    """A page whose non-loopback requests and page errors are collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.external: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _request(self, request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname not in LOOPBACK:
            self.external.append(request.url)

    def check(self) -> None:
        assert not self.external, f"requests left the machine: {self.external}"
        assert not self.errors, f"page errors: {self.errors}"


@pytest.fixture
def page(browser: Any, app_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    watched = Watched(pg)
    pg.goto(app_url)
    expect(pg.locator(".ionto-decision")).to_contain_text("Needs information", timeout=60_000)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    watched.check()


def answer(page: Any, name: str, value: object) -> None:
    """Answer one question the way a clinician would."""
    root = page.locator(f".ionto-fact-{name}")
    if isinstance(value, bool):
        root.get_by_role("radio", name="Yes" if value else "No", exact=True).check()
    elif isinstance(value, list):
        root.get_by_role("radio", name="None known", exact=True).check()
    elif name in ("sex", "indication", "site"):
        root.locator("select").select_option(label=str(value).replace("_", " "))
    else:
        box = root.locator("input")
        box.fill(str(value))
        box.press("Enter")


def fill_palmar(page: Any) -> None:
    """Answer the palmar patient's questions the form shows (a question it has tucked away
    because nothing that can still matter reads it, such as drug allergies for a tap-water
    course, is left as a clinician would leave it)."""
    for name, value in PALMAR.items():
        if page.locator(f".ionto-fact-{name}").is_visible():
            answer(page, name, value)


def test_palmar_patient_gets_tap_water_plan(page: Any) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)
    expect(page.locator(".ionto-decision")).not_to_contain_text("Not eligible")
    plan = page.locator(".ionto-plan-card")
    expect(plan).to_contain_text("Tap-water iontophoresis, palms and soles", timeout=TIMEOUT)
    expect(plan).to_contain_text("10 mA")


def test_hdss_1_refers_with_its_own_banner_and_no_plan(page: Any) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)
    answer(page, "hdss", 1)
    banner = page.locator(".ionto-decision")
    expect(banner).to_contain_text("Refer", timeout=TIMEOUT)
    expect(banner).not_to_contain_text("Eligible")
    expect(page.locator(".ionto-plan-card")).to_contain_text("Refer:", timeout=TIMEOUT)
    expect(page.locator(".ionto-plan-card")).not_to_contain_text("mA")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "refer_banner.png"))


def test_reset_asks_before_clearing(page: Any) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)
    page.locator(".ionto-patient-ref input").fill("A-12")
    page.locator(".ionto-reset").click()
    question = page.locator(".ionto-reset-question")
    expect(question).to_be_visible(timeout=TIMEOUT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reset_question.png"))
    page.locator(".ionto-reset-cancel").click()
    expect(question).to_be_hidden(timeout=TIMEOUT)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible")
    page.locator(".ionto-reset").click()
    page.locator(".ionto-reset-confirm").click()
    expect(page.locator(".ionto-decision")).to_contain_text("Needs information", timeout=TIMEOUT)
    expect(page.locator(".ionto-patient-ref input")).to_have_value("")


def test_pacemaker_yes_is_not_eligible(page: Any) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    answer(page, "pacemaker", True)
    expect(page.locator(".ionto-decision")).to_contain_text("Not eligible", timeout=TIMEOUT)
    expect(page.locator(".ionto-finding-pacemaker")).to_contain_text("cannot be overridden")


def test_bad_quantity_shows_message(page: Any) -> None:
    from playwright.sync_api import expect

    answer(page, "weight", "abc kg")
    expect(page.locator(".ionto-fact-weight")).to_contain_text(
        "expected a mass (kg), got 'abc kg'", timeout=TIMEOUT)


def test_override_precaution_and_export_plan(page: Any, export_dir: Path) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    answer(page, "fixed_dental_braces", True)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible with precautions",
                                                            timeout=TIMEOUT)
    control = page.locator(".ionto-override-fixed-dental-braces")
    control.locator("select").select_option(
        label="Risk mitigated (measure described in the comment)")
    control.locator("input").fill("Braces covered with orthodontic wax")
    control.locator("input").press("Enter")
    control.locator("button.ionto-acknowledge").click()
    expect(page.locator(".ionto-acknowledged")).to_contain_text("Acknowledged", timeout=TIMEOUT)
    page.locator("button.ionto-export-plan").click()
    expect(page.locator(".ionto-export-status")).to_contain_text("Saved", timeout=TIMEOUT)
    page.locator("button.ionto-export-record").click()
    expect(page.locator(".ionto-export-status")).to_contain_text("decision-record",
                                                                 timeout=TIMEOUT)
    plans = sorted(export_dir.glob("iontophoresis-plan-*.md"))
    assert plans and "Overrides recorded" in plans[-1].read_text()
    assert sorted(export_dir.glob("decision-record-*.json"))


def in_viewport(page: Any, selector: str) -> bool:
    """Whether the element is wholly inside the visible window."""
    box = page.locator(selector).first.bounding_box()
    view = page.viewport_size
    return (box is not None and box["y"] >= 0 and box["x"] >= 0
            and box["y"] + box["height"] <= view["height"]
            and box["x"] + box["width"] <= view["width"])


def test_decision_banner_stays_in_view_while_form_scrolls(page: Any) -> None:
    from playwright.sync_api import expect

    fill_palmar(page)
    expect(page.locator(".ionto-decision")).to_contain_text("Eligible", timeout=TIMEOUT)
    page.locator(".ionto-field:visible").last.scroll_into_view_if_needed()
    assert not in_viewport(page, ".ionto-fact-age"), "the form did not scroll"
    assert in_viewport(page, ".ionto-decision"), "the decision banner scrolled out of view"
    answer(page, "pacemaker", True)  # far up the form, answered while scrolled down
    expect(page.locator(".ionto-decision")).to_contain_text("Not eligible", timeout=TIMEOUT)
    page.locator(".ionto-field:visible").last.scroll_into_view_if_needed()
    assert in_viewport(page, ".ionto-decision")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "banner_while_scrolled.png"))


_FIELD_IN_VIEW = """
(name) => {
  const box = document.querySelector('.ionto-fact-' + name).getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}
"""


def test_question_button_brings_its_field_into_view(page: Any) -> None:
    name = "broken_skin_at_site"  # a yes/no question far down the form
    button = page.locator(f"button.ionto-question-{name}")
    page.locator(".ionto-field").last.scroll_into_view_if_needed()
    button.scroll_into_view_if_needed()
    assert not in_viewport(page, f".ionto-fact-{name}")
    button.click()
    page.wait_for_function(_FIELD_IN_VIEW, arg=name, timeout=TIMEOUT)
    focused = page.evaluate("() => document.activeElement.closest('.ionto-field')?.className")
    assert f"ionto-fact-{name}" in (focused or ""), "the keyboard focus is not in the field"


def _status(url: str, path: str, host: str | None = None,
            headers: dict[str, str] | None = None) -> int:
    import http.client

    where = urlparse(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.request("GET", path, headers={**({"Host": host} if host else {}),
                                           **(headers or {})})
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_app_needs_its_launch_token_and_a_loopback_host(app_url: str) -> None:
    query = urlparse(app_url).query
    assert query.startswith("token=") and len(query) > 30
    assert _status(app_url, f"/?{query}") == 200
    assert _status(app_url, "/") in (302, 403)  # to the login page, never the app
    assert _status(app_url, "/?token=wrong") in (302, 403)
    kernel = "/api/kernels/00000000-0000-0000-0000-000000000000/channels"
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert _status(app_url, kernel, headers=upgrade) in (302, 403)  # no kernel without it
    port = urlparse(app_url).port
    assert _status(app_url, f"/?{query}", host=f"evil.example:{port}") == 403  # DNS rebinding


def test_the_kernel_websocket_refuses_a_foreign_origin(page: Any, app_url: str) -> None:
    import re

    from playwright.sync_api import expect

    expect(page.locator(".ionto-decision")).to_be_visible(timeout=TIMEOUT)
    found = re.search(r'kernelId"\s*:\s*"([0-9a-f-]{36})"', page.content())
    assert found, "no kernel id on the page"
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    port = urlparse(app_url).port
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Cookie": cookie}
    path = f"/api/kernels/{found.group(1)}/channels"
    # the logged-in browser's cookie, sent by a page of another site: refused
    assert _status(app_url, path, headers={**upgrade, "Origin": "http://evil.example"}) == 403
    assert _status(app_url, path, headers={**upgrade, "Origin": f"http://127.0.0.1:{port}"}) \
        == 101
