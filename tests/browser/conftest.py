"""Browser tests: every Playwright wait is bounded.

Actions (click, fill, goto) carry Playwright's 30 s default; ``expect`` gets an explicit 20 s
here (instead of 5 s) for the assertions that give none; ``page.evaluate`` has no timeout at
all, so the tests evaluate only expressions that return at once, or race a promise against a
timer (axe.py), never an awaited app command (see TESTING-NOTES).
"""

from __future__ import annotations

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip without Playwright
    pass
else:
    expect.set_options(timeout=20_000)
