"""A hung test fails within its timeout and CI output names it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_a_hung_test_is_stopped_and_named(tmp_path: Path) -> None:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_hangs.py").write_text(
        "import threading\n\n"
        "def test_waits_for_ever():\n"
        "    threading.Event().wait()\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=2",
         "--timeout-method=thread", "-o", "addopts=", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Timeout after 2 s: test_hangs.py::test_waits_for_ever" in out, out[-2000:]
    assert "threading.Event().wait()" in out  # the stack of the hung test follows
