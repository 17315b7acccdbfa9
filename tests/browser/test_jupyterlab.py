"""End to end: the clinician notebook run in JupyterLab, in Debian's chromium, fully offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The clinician browser test's setup is reused: its browser fixture and the watcher that fails
# on non-loopback requests and page errors.
from test_app_browser import (  # type: ignore[import-not-found]
    ARTIFACTS,
    CHROMIUM,
    ROOT,
    Watched,
    in_viewport,
)

from ionto_cds.serve import free_port, stop, wait_for_port

NOTEBOOK = ROOT / "notebooks" / "01_clinician_assessment.ipynb"
TIMEOUT = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]

# "Idle" in the status bar comes too early (Run All was lost in 3 of 13 runs): wait until the
# notebook's own session holds a connected, idle kernel (see shared TESTING-NOTES).
_KERNEL_READY = """
() => {
  const app = window.jupyterapp;
  const widget = app && app.shell.currentWidget;
  const session = widget && widget.sessionContext;
  const kernel = session && session.isReady && session.session && session.session.kernel;
  return !!(kernel && widget.context.path.endsWith('.ipynb')
            && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}
"""


def _lab_environment(home: Path) -> dict[str, str]:
    """Its own config, settings, workspaces and runtime folders; no news, no update check."""
    config, settings = home / "config", home / "settings"
    for folder in (config, settings, home / "workspaces", home / "runtime", home / "data"):
        folder.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None,
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps(
        {"fetchNews": "false", "checkForUpdates": False}))
    return dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
                JUPYTERLAB_SETTINGS_DIR=str(settings),
                JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"))


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (our own temporary folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 serving a copy of the clinician notebook; stopped afterwards."""
    home = tmp_path_factory.mktemp("jupyterlab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", "--IdentityProvider.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True"],
        env=_lab_environment(home), cwd=notebooks, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(home / "lab.log").open("wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_port(port, 60.0, process), (home / "lab.log").read_text()[-3000:]
        yield base
    finally:
        # the server shuts its kernels down on this request; kernels run in their own
        # session, so signalling the server's process group alone would leave them behind
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown",
                                                          method="POST"), timeout=10)
            process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop(process)
        left = _processes_mentioning(str(home))
        assert not left, f"JupyterLab left processes behind: {left}"


def test_clinician_notebook_runs_in_jupyterlab(browser: Any, lab: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    watched = Watched(page)
    try:
        page.goto(f"{lab}/lab/tree/{NOTEBOOK.name}")
        page.wait_for_function(_KERNEL_READY, timeout=TIMEOUT)
        # Fire and forget: returning the command's promise would make page.evaluate wait for
        # Run All to finish, with no timeout (a hang on a fresh machine); the expects wait.
        run_all = "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        page.evaluate(run_all)
        field = page.locator(".ionto-fact-pacemaker")
        try:
            expect(field).to_be_visible(timeout=TIMEOUT // 2)
        except AssertionError:
            # On a loaded machine JupyterLab can drop a Run All sent right after the kernel
            # reports ready (TESTING-NOTES); send it once more rather than fail on harness timing.
            page.evaluate(run_all)
            expect(field).to_be_visible(timeout=TIMEOUT)
        banner = page.locator(".ionto-decision")
        expect(banner).to_contain_text("Needs information", timeout=TIMEOUT)
        field.get_by_role("radio", name="Yes", exact=True).check()
        expect(banner).to_contain_text("Not eligible", timeout=TIMEOUT)
        expect(page.locator(".ionto-finding-pacemaker")).to_contain_text("cannot be overridden")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_clinician.png"))
        page.locator(".ionto-field").last.scroll_into_view_if_needed()
        assert in_viewport(page, ".ionto-decision"), "the banner scrolled out of view"
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_clinician_scrolled.png"))
    finally:
        context.close()
    watched.check()
