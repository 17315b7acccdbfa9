"""Shared builders for the unit tests: rules folders in tmp_path and typical patients."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"
EXAMPLES = REPO / "examples"

# Every general (decision) fact answered "no": an adult with palmar hyperhidrosis.
CLEAR_ADULT: dict[str, Any] = {
    "age": 29, "sex": "female", "weight": "61 kg", "pregnant": False, "breastfeeding": False,
    "cannot_report_pain": False, "indication": "hyperhidrosis", "site": "palms",
    "hyperhidrosis_warning_signs": [], "hdss": 3, "tap_water_sessions": 0, "pacemaker": False,
    "implanted_defibrillator": False, "other_implanted_electronic_device": False,
    "metal_implant_regions": [], "body_worn_device_regions": [], "metal_iud": False,
    "fixed_dental_braces": False, "epilepsy": False, "cardiac_disease": False,
    "thrombosis": False, "electrical_sensitivity": False, "broken_skin_at_site": False,
    "recent_scar_or_graft_at_site": False, "skin_condition_at_site": False,
    "skin_infection_at_site": False, "impaired_sensation_at_site": False,
    "malignancy_at_site": False, "swelling_at_site": False, "irradiated_skin_at_site": False,
    "drug_allergies": [],
}

# Drug-specific facts, all answered "no".
DRUG_FACTS_CLEAR: dict[str, Any] = {
    "sulfite_allergy": False, "taking_droxidopa": False, "anticholinergic_medication": False,
    "narrow_angle_glaucoma": False, "urinary_retention": False, "myasthenia_gravis": False,
    "gastrointestinal_obstruction": False, "sjogren_syndrome": False,
    "renal_impairment": False, "hepatic_impairment": False, "systemic_fungal_infection": False,
    "fever_or_hot_weather": False, "hyperthyroidism": False, "autonomic_neuropathy": False,
    "reflux_oesophagitis": False, "dry_eyes_or_contact_lenses": False, "diabetes": False,
    "recent_steroid_injection_at_site": False, "pressor_interaction_medication": False,
    "uncontrolled_hypertension": False, "methaemoglobinaemia_risk": False,
    "electrode_over_digit": False, "glycopyrronium_return_limb": "hand",
}


def patient(**changes: Any) -> dict[str, Any]:
    """CLEAR_ADULT plus every drug fact answered no, with ``changes`` applied (None removes)."""
    answers = {**CLEAR_ADULT, **DRUG_FACTS_CLEAR}
    for key, value in changes.items():
        if value is None:
            answers.pop(key, None)
        else:
            answers[key] = value
    return answers


def copy_rules(dest: Path) -> Path:
    """A full copy of the packaged rules folder (without vignettes) to break one thing in."""
    folder = dest / "rules"
    folder.mkdir()
    for path in RULES.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new`` in a file, insisting that ``old`` is there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the ``occurrence``-th line containing ``needle``."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found in {path}")


RULE_TEMPLATE = """\
  - id: {id}
    title: {title}
    severity: {severity}
    applies_to: {applies_to}
    when: {when}
    rationale: Because.
    action: Do something.
    references: [saalmann-faq]
    metadata: {{version: 1, author: tests, last_reviewed: 2026-01-01}}
"""


def rule_yaml(id: str, when: str, severity: str = "absolute",
              applies_to: str = "[tap_water, drug_assisted]", title: str = "A rule",
              extra: str = "") -> str:
    """One rule entry as YAML text (list item under `rules:`)."""
    text = RULE_TEMPLATE.format(id=id, title=title, severity=severity, applies_to=applies_to,
                                when=when)
    return text + textwrap.indent(textwrap.dedent(extra), "    ") if extra else text


def tiny_rules(dest: Path, rules: str, protocols: str | None = None,
               drugs: str | None = None) -> Path:
    """A minimal rules folder: the real facts, the real references these entries cite (so
    lint has no uncited reference to warn about), and the given rule entries."""
    folder = dest / "tiny"
    folder.mkdir()
    shutil.copy(RULES / "facts.yaml", folder / "facts.yaml")
    texts = " ".join(t for t in (rules, protocols, drugs) if t)
    refs = yaml.safe_load((RULES / "references.yaml").read_text(encoding="utf-8"))
    refs["references"] = {k: v for k, v in refs["references"].items()
                          if re.search(rf"\b{re.escape(k)}\b", texts)}
    (folder / "references.yaml").write_text(yaml.safe_dump(refs, sort_keys=False),
                                            encoding="utf-8")
    (folder / "contraindications.yaml").write_text(
        'version: "2026.1"\nrules:\n' + rules, encoding="utf-8")
    if protocols is not None:
        (folder / "protocols.yaml").write_text(protocols, encoding="utf-8")
    if drugs is not None:
        (folder / "drugs.yaml").write_text(drugs, encoding="utf-8")
    return folder


LIMITS_YAML = """\
version: "2026.1"
limits:
  max_current_density: {anode: 1.0 mA/cm^2, cathode: 0.5 mA/cm^2, alternating: 0.5 mA/cm^2}
  rationale: Test limits.
  references: [saalmann-faq]
protocols:
"""


def protocol_yaml(id: str, when: str, priority: int = 100, current: str = "15 mA",
                  current_range: str = "{min: 5 mA, max: 20 mA}", duration: str = "20 min",
                  polarity: str = "alternating", limits: str = "{max_current: 20 mA}",
                  modality: str = "tap_water", drug: str = "null") -> str:
    """One tap-water protocol entry as YAML text (list item under `protocols:`)."""
    return f"""\
  - id: {id}
    title: Protocol {id}
    modality: {modality}
    drug: {drug}
    priority: {priority}
    when: {when}
    summary: A test protocol.
    parameters:
      current: {current}
      current_range: {current_range}
      duration: {duration}
      polarity: {polarity}
      solution: Tap water.
    limits: {limits}
    schedule:
      induction: {{sessions_per_week: 3, sessions: 12}}
    references: [saalmann-faq]
"""


@functools.cache
def executed_notebook(name: str) -> tuple[tuple[Any, ...], Path]:
    """Run ``notebooks/<name>`` headless once per test session; its code-cell outputs and the
    throw-away home folder it ran with (HOME and XDG_DATA_HOME point there and IONTO_CDS_DB is
    unset, so a notebook that wrote to the user's data folder would show it there)."""
    import nbformat
    from nbclient import NotebookClient

    path = REPO / "notebooks" / name
    home = Path(tempfile.mkdtemp(prefix="ionto-notebook-home-"))
    overrides = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "IONTO_CDS_DB": None}
    saved = {key: os.environ.get(key) for key in overrides}
    try:
        for key, value in overrides.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
    outputs = tuple(o for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return outputs, home


def has_output(outputs: tuple[Any, ...], mime: str) -> bool:
    """Whether some output carries data of this MIME type."""
    return any(mime in o.get("data", {}) for o in outputs)
