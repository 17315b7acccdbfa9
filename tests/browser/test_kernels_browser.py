"""No leaks: 100 page loads of the app leave only the preheated kernel and the open page's.

Kernels are counted two ways: the kernel processes under the Voila server, and the server's own
``/api/kernels/<id>`` (with the launch token) for the kernel of every page loaded (standalone
Voila serves no kernel list). Memory is the resident set size (RSS) of the Voila server process
alone and with all its descendants (the kernels), after 10, 55 and 100 loads.
"""

from __future__ import annotations

import http.client
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from test_app_browser import (  # type: ignore[import-not-found]
    CHROMIUM,
    Watched,
    running_app,
)

from ionto_cds.serve_kernels import PAGE_LOAD_S

LOADS = 100
POOL = 1  # serve.voila_command: --VoilaConfiguration.default_pool_size=1
IDLE_S, INTERVAL_S = 3, 1  # culling shortened for the test (production: 600 s, 60 s)
SETTLE_S = 30  # beacons answered, the pool refilled
CULL_S = PAGE_LOAD_S + IDLE_S + INTERVAL_S * 4 + 20  # grace + idle time + culler runs + margin
WIDGETS_MS = 60_000
KERNEL_ID = re.compile(r'kernelId"\s*:\s*"([0-9a-f-]{36})"')

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def culling_app_url() -> Iterator[str]:
    env = dict(os.environ, IONTO_CDS_KERNEL_IDLE_TIMEOUT=str(IDLE_S),
               IONTO_CDS_KERNEL_CULL_INTERVAL=str(INTERVAL_S))
    with running_app("clinician", env=env) as url:
        yield url


def voila_server(port: int) -> Any:
    """The Voila process (a descendant of this test) listening on ``port``."""
    import psutil

    for proc in psutil.Process().children(recursive=True):
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in proc.net_connections(kind="tcp")):
                return proc
        except psutil.Error:
            continue
    raise AssertionError(f"no process listens on port {port}")


def kernel_processes(server: Any) -> list[Any]:
    return [p for p in server.children(recursive=True)
            if any("ipykernel" in part for part in p.cmdline())]


def rss_mib(server: Any) -> tuple[float, float]:
    """(RSS of the server process, RSS of the server and all its descendants), in MiB."""
    import psutil

    own = server.memory_info().rss
    total = own
    for proc in server.children(recursive=True):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return own / 2**20, total / 2**20


def kernel_exists(url: str, kernel_id: str) -> bool:
    """Whether the server still has the kernel (its REST API, with the launch token)."""
    where = urlparse(url)
    conn = http.client.HTTPConnection("127.0.0.1", where.port, timeout=10)
    try:
        conn.request("GET", f"/api/kernels/{kernel_id}?{where.query}")
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status in (200, 404), f"/api/kernels answered {status}"
    return status == 200


def settled_rss(server: Any, timeout_s: float = SETTLE_S) -> tuple[float, float]:
    """:func:`rss_mib` once the pool holds its one preheated kernel beside the page's and their
    memory holds still for 2 s (a pool kernel still starting would be counted half-grown), or
    the last reading after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last = rss_mib(server)
    while time.monotonic() < deadline:
        time.sleep(2.0)
        now = rss_mib(server)
        if abs(now[1] - last[1]) < 5 and len(kernel_processes(server)) == POOL + 1:
            return now
        last = now
    return last


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout_s:g} s: {what}")
        time.sleep(0.5)


def load(page: Any, url: str, first: bool) -> str:
    """Load (or reload) the app, wait for its widgets; the page's kernel id."""
    from playwright.sync_api import expect

    if first:
        page.goto(url, timeout=WIDGETS_MS)
    else:
        page.reload(timeout=WIDGETS_MS)
    expect(page.locator(".ionto-decision")).to_contain_text("Needs information",
                                                            timeout=WIDGETS_MS)
    found = KERNEL_ID.search(page.content())
    assert found, "no kernel id on the page"
    return found.group(1)


@pytest.mark.timeout(2400)  # 100 kernel starts: 4 to 12 s each on a loaded 2-core machine
def test_100_reloads_leave_only_the_preheated_and_current_kernels(
        browser: Any, culling_app_url: str) -> None:
    server = voila_server(urlparse(culling_app_url).port or 0)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watched = Watched(page)
    ids: list[str] = []
    memory: dict[int, tuple[float, float]] = {}
    peak_kernels = 0
    for i in range(1, LOADS + 1):
        ids.append(load(page, culling_app_url, first=i == 1))
        peak_kernels = max(peak_kernels, len(kernel_processes(server)))
        if i in (10, 55, LOADS):  # 10: warm, the server has rendered the page ten times
            wait_until(lambda: len(kernel_processes(server)) <= POOL + 1, CULL_S,
                       f"more than {POOL + 1} kernels after {i} loads")
            memory[i] = settled_rss(server)
    assert len(set(ids)) == LOADS, "a page reused a kernel"
    print("\n" + "; ".join(f"after {i} loads: server {own:.0f} MiB, with its kernels "
                           f"{total:.0f} MiB" for i, (own, total) in memory.items())
          + f"; at most {peak_kernels} kernels while reloading")
    assert kernel_exists(culling_app_url, ids[-1]), "the open page's kernel was shut down"
    still = [k for k in ids[:-1] if kernel_exists(culling_app_url, k)]
    assert not still, f"kernels of reloaded pages still running: {still}"
    assert peak_kernels <= POOL + 3, f"{peak_kernels} kernels at once while reloading"
    # flat: 90 more page views cost less than one more kernel (about 150 MiB each) in all; the
    # server's own memory levels off (seen: 266, 348, 347 MiB after 10, 55, 100 loads)
    (_, total_10), (own_55, _), (own_end, total_end) = memory[10], memory[55], memory[LOADS]
    assert total_end - total_10 < 150, f"memory grew from {total_10:.0f} to {total_end:.0f} MiB"
    assert own_end - own_55 < 30, f"the server grew from {own_55:.0f} to {own_end:.0f} MiB " \
        "over the last 45 loads"

    # a page that goes without a word (no beforeunload beacon, as a crashed tab): culled
    page.close(run_before_unload=False)
    wait_until(lambda: not kernel_exists(culling_app_url, ids[-1]), CULL_S,
               "the closed page's kernel was not culled")
    wait_until(lambda: len(kernel_processes(server)) <= POOL, SETTLE_S,
               "kernel processes left after the last page closed")
    assert len(kernel_processes(server)) == POOL, "the preheated kernel was culled too"
    context.close()
    watched.check()
