"""Browser tests: every Playwright wait is bounded, and the shared fixtures (one clinician app
server and one chromium per module).

Actions (click, fill, goto) carry Playwright's 30 s default; ``expect`` gets an explicit 20 s
here (instead of 5 s) for the assertions that give none; ``page.evaluate`` has no timeout at
all, so the tests evaluate only expressions that return at once, or race a promise against a
timer (axe.py), never an awaited app command (see TESTING-NOTES).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_app_browser import CHROMIUM, FLAGS, running_app

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip without Playwright
    pass
else:
    expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export folder of the module's app server."""
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def url(exports: Path) -> Iterator[str]:
    """The clinician app, served for the module, with its token in the URL."""
    with running_app(env=dict(os.environ, IONTO_CDS_EXPORT_DIR=str(exports))) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless and offline."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
