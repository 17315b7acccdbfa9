"""Where the packaged rules live (inside the wheel, or the checkout's rules/ folder)."""

from __future__ import annotations

from pathlib import Path

from ionto_cds.errors import Location, RuleError

FACTS_FILE = "facts.yaml"
COURSE_DIR = "course"


def packaged_rules_dir() -> Path:
    """The rules shipped with ionto-cds (inside the wheel, or the checkout's rules/)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / FACTS_FILE).is_file():
            return candidate
    raise RuleError(Location(str(here / "rules")), "the packaged rules folder is missing: "
                    "reinstall ionto-cds")
