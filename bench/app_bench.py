"""App latency in the browser: form change to updated banner, and cold start to usable form.

Run: .venv/bin/python bench/app_bench.py [--rounds N]. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

from ionto_cds.serve import free_port, wait_for_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Click a toggle button and resolve with the ms until the banner text changes (in-page clock).
_CLICK_AND_TIME = """
([selector, label]) => new Promise((resolve) => {
  const banner = document.querySelector('.ionto-decision');
  const before = banner.textContent;
  const button = [...document.querySelectorAll(selector + ' button')]
    .find((b) => b.textContent.trim() === label);
  const observer = new MutationObserver(() => {
    if (banner.textContent !== before) {
      observer.disconnect();
      resolve(performance.now() - start);
    }
  });
  observer.observe(banner, {subtree: true, childList: true, characterData: true});
  const start = performance.now();
  button.click();
})
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds between changes, as a clinician would pause (default 1)")
    parser.add_argument("--verbose", action="store_true", help="print every round's time")
    args = parser.parse_args()
    port = free_port()
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c",
         f"import sys; from ionto_cds.serve import run_app; sys.exit(run_app({port}, False))"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        assert wait_for_port(port, 60.0), "app did not start"
        listening = time.perf_counter() - t0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t_page = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator(".ionto-decision").filter(has_text="Needs information").wait_for(
                timeout=60_000)
            page.locator(".ionto-fact-pacemaker button").first.wait_for()
            usable = time.perf_counter() - t0
            first_page = time.perf_counter() - t_page
            times: list[float] = []
            for i in range(args.rounds):
                label = "Yes" if i % 2 == 0 else "Unknown"
                page.wait_for_timeout(args.pause * 1000)
                times.append(page.evaluate(_CLICK_AND_TIME, [".ionto-fact-pacemaker", label]))
            browser.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print(f"cold start: app listening after {listening:.2f} s; first usable form after "
          f"{usable:.2f} s from launch ({first_page:.2f} s from page request)")
    p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
    print(f"form change -> banner updated, {len(times)} rounds {args.pause:g} s apart: median "
          f"{statistics.median(times):.0f} ms, p90 {p90:.0f} ms, min {min(times):.0f} ms, "
          f"max {max(times):.0f} ms")
    if args.verbose:
        print("each round (ms):", " ".join(f"{t:.0f}" for t in times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
