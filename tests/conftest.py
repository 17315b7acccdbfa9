"""Suite-wide pytest hooks: a test that hangs is named when pytest-timeout stops it."""

from __future__ import annotations

import threading
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's thread method, plus a line naming the test before its stack dump.

    Its own timer thread (whose name holds the test's id) is the one thread it leaves out of
    the dump, so CI showed stacks but never which test hung.
    """
    if settings.method != "thread":
        return None
    import pytest_timeout

    def expired() -> None:
        capture = item.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)
        item.config.get_terminal_writer().sep(
            "+", title=f"Timeout after {settings.timeout:g} s: {item.nodeid}")
        pytest_timeout.timeout_timer(item, settings)

    timer = threading.Timer(settings.timeout, expired)
    timer.name = f"pytest_timeout {item.nodeid}"

    def cancel() -> None:
        timer.cancel()
        timer.join()

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout's own hook calls it
    timer.start()
    return True
