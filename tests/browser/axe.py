"""axe-core in the browser tests: ``run_axe(page)`` returns the page's accessibility violations.

axe.min.js comes from the npm package axe-core, installed once (``npm install``) into a cache
folder (``IONTO_CDS_AXE_DIR``, default ``~/.cache/ionto-cds/axe-core``). A test that cannot load
axe fails: it never passes for want of a checker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
INSTALL_TIMEOUT_S = 180
RUN_TIMEOUT_MS = 60_000


def axe_dir() -> Path:
    default = Path.home() / ".cache" / "ionto-cds" / "axe-core"
    return Path(os.environ.get("IONTO_CDS_AXE_DIR", default))


def axe_script() -> Path:
    """The path of axe.min.js, installing axe-core from npm if it is not there yet."""
    root = axe_dir()
    script = root / "node_modules" / "axe-core" / "axe.min.js"
    if script.is_file():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise AssertionError("axe-core is not installed and npm is missing: install Node.js "
                             f"(apt-get install -y npm) or put axe.min.js under {root}")
    root.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(root),
             f"axe-core@{AXE_VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"npm install axe-core took over {INSTALL_TIMEOUT_S} s") from None
    if done.returncode != 0 or not script.is_file():
        raise AssertionError(f"npm install axe-core@{AXE_VERSION} failed: "
                             f"{(done.stderr or done.stdout)[-500:]}")
    return script


_RUN = """
async ([context, mark, limit]) => {
  const result = await Promise.race([
    axe.run(context || document, {resultTypes: ['violations']}),
    new Promise((_, reject) => setTimeout(() => reject(new Error('axe.run timed out')), limit)),
  ]);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => {
      const el = n.target.length === 1 ? document.querySelector(n.target[0]) : null;
      return {target: n.target.join(' '), html: n.html.slice(0, 200),
              summary: n.failureSummary, inside: !!(mark && el && el.closest(mark))};
    }),
  }));
}
"""


def run_axe(page: Any, context: str | None = None, mark: str | None = None
            ) -> list[dict[str, Any]]:
    """axe-core's violations on the page (or inside the CSS selector ``context``): each with
    id, impact ('critical', 'serious', ...), help and the offending nodes (target, html, and
    ``inside``: whether the node is within the CSS selector ``mark``, see :func:`split`)."""
    page.add_script_tag(path=str(axe_script()))
    loaded = page.evaluate("() => typeof axe !== 'undefined' && typeof axe.run === 'function'")
    if not loaded:
        raise AssertionError("axe-core did not load into the page")
    violations: list[dict[str, Any]] = page.evaluate(
        _RUN, [context, mark, RUN_TIMEOUT_MS])
    return violations


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The critical and serious ones."""
    return [v for v in violations if v["impact"] in ("critical", "serious")]


def split(violations: list[dict[str, Any]]
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the violations' nodes inside run_axe's ``mark``, the others), as two violation lists."""
    within: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for v in violations:
        ins = [n for n in v["nodes"] if n.get("inside")]
        outs = [n for n in v["nodes"] if not n.get("inside")]
        if ins:
            within.append({**v, "nodes": ins})
        if outs:
            outside.append({**v, "nodes": outs})
    return within, outside


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and node, for an assertion message."""
    return "\n".join(f"{v['impact']} {v['id']} ({v['help']}): {n['target']} {n['html']}"
                     for v in violations for n in v["nodes"])
